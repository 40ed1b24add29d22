/**
 * CI's closing line, from Vitest's own results rather than a reading of
 * the JUnit file: `N passed, N failed, N skipped` alone on a line (CI
 * tooling matches it), then what failed by name and the unhandled errors,
 * so the end of a long log says what to look at. Just above it, each
 * project's wall time (`project smoke: 10m02s (229 tests)`, issue 26): from
 * its first test module starting to its last one ending, by this process's
 * clock as Vitest reports the events (the global setup's cluster boot and
 * the first module's import come before that and are not counted).
 */
import path from 'node:path';
import type { Reporter, SerializedError, TestModule, TestRunEndReason, TestSpecification, Vitest } from 'vitest/node';

/** The parts of Vitest's reported tasks the summary reads (TestModule fits), so it is testable with plain objects. */
interface ErrorsLike {
  errors(): ReadonlyArray<{ message: string; name?: string }>;
}
export interface CaseLike {
  fullName: string;
  result(): { state: 'passed' | 'failed' | 'skipped' | 'pending'; errors?: ReadonlyArray<{ message: string; name?: string }> };
}
export interface SuiteLike extends ErrorsLike {
  fullName: string;
}
export interface ModuleLike extends ErrorsLike {
  relativeModuleId: string;
  /** The Vitest project it ran in (TestModule has it); a module without one is left out of the wall times. */
  project?: { name: string };
  children: { allTests(): Iterable<CaseLike>; allSuites(): Iterable<SuiteLike> };
}

/** When a project's first test module started and its last one ended (ms, one clock). */
export interface ProjectSpan {
  start: number;
  end?: number;
}

export interface ProjectWall {
  name: string;
  /** First module's start to last module's end; undefined when a module started and none ended (a run cut short). */
  ms?: number;
  /** false: no module of it started (a run cut short before it). */
  started: boolean;
  tests: number;
}

export interface RunSummary {
  passed: number;
  failed: number;
  skipped: number;
  /** `file > suite > test`, or a file or suite that failed outside its tests (collection, beforeAll/afterAll). */
  failures: string[];
  /** First line of each error Vitest could not attach to a test. */
  unhandled: string[];
  reason: TestRunEndReason;
  /** Each project's wall time, in the order the projects started. */
  projects: ProjectWall[];
}

/** An error's first line, cut at 300 characters: enough to tell one failure from another in the tail of a CI log. */
export const firstLine = (e: { message: string; name?: string }) => {
  const line = `${e.name ?? 'Error'}: ${(e.message ?? '').split('\n')[0]}`;
  return line.length > 300 ? `${line.slice(0, 299)}…` : line;
};

/** Per project: its tests (every state) and its span's length; projects in the order they started, those that never did last. */
export function projectWalls(modules: ReadonlyArray<ModuleLike>, spans: ReadonlyMap<string, ProjectSpan>): ProjectWall[] {
  const tests = new Map<string, number>();
  for (const m of modules) {
    if (!m.project) continue;
    tests.set(m.project.name, (tests.get(m.project.name) ?? 0) + [...m.children.allTests()].length);
  }
  const started = (name: string) => spans.get(name)?.start ?? Infinity;
  return [...tests.keys()]
    .sort((a, b) => started(a) - started(b))
    .map((name) => {
      const span = spans.get(name);
      return { name, ms: span?.end === undefined ? undefined : span.end - span.start, started: span !== undefined, tests: tests.get(name) ?? 0 };
    });
}

/** 602_400 ms: `10m02s` (whole seconds, rounded). */
export function formatWall(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export function summarize(
  modules: ReadonlyArray<ModuleLike>,
  unhandledErrors: ReadonlyArray<{ message: string; name?: string }>,
  reason: TestRunEndReason,
  spans: ReadonlyMap<string, ProjectSpan> = new Map(),
): RunSummary {
  const s: RunSummary = { passed: 0, failed: 0, skipped: 0, failures: [], unhandled: unhandledErrors.map(firstLine), reason, projects: projectWalls(modules, spans) };
  for (const m of modules) {
    for (const t of m.children.allTests()) {
      const r = t.result();
      const state = r.state;
      if (state === 'passed') s.passed++;
      else if (state === 'failed') {
        s.failed++;
        // The first error's first line under the name: a CI log's tail says what broke, not only where.
        const err = r.errors?.[0];
        s.failures.push(`${m.relativeModuleId} > ${t.fullName}${err ? `\n    ${firstLine(err)}` : ''}`);
      }
      // Not run: skipped, or pending in a run that was cut short (the reason line says so).
      else s.skipped++;
    }
    // A file that did not load, or a hook that failed, fails the run without a failed test: count it, by name.
    for (const [name, e] of [[m.relativeModuleId, m] as const, ...[...m.children.allSuites()].map((su) => [`${m.relativeModuleId} > ${su.fullName}`, su] as const)]) {
      const errs = e.errors();
      if (errs.length === 0) continue;
      s.failed++;
      s.failures.push(`${name} (${firstLine(errs[0])})`);
    }
  }
  return s;
}

/** After a red run: where the evidence is and what to run next (`run`: the run folder, relative). */
export function next(run = 'reports/latest'): string[] {
  return [
    `next: each failure with its node, expectation, console and journal is in ${run}/html/index.html (npx vite preview --outDir ${run}/html) and ${run}/junit.xml (and above);`,
    '  `npx cluster rerun-failed` runs the failed tests again (a scenario whole) on the running cluster, into a run folder of its own;',
    '  `npx cluster export-logs` collects every node\'s console, journal and units into the run folder (logs-<time>/).',
  ];
}

export function formatSummary(s: RunSummary, run?: string): string {
  const lines = [
    // Above the counts line: CI reads that one as the summary's first line.
    ...s.projects.map((p) => `project ${p.name}: ${p.ms !== undefined ? formatWall(p.ms) : p.started ? 'cut short' : 'not run'} (${p.tests} tests)`),
    `${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`,
  ];
  if (s.reason === 'interrupted') lines.push('run interrupted: tests not run are counted as skipped');
  if (s.failures.length > 0) lines.push('failed:', ...s.failures.map((f) => `  ${f}`));
  if (s.unhandled.length > 0) lines.push(`unhandled errors: ${s.unhandled.length}`, ...s.unhandled.map((u) => `  ${u}`));
  if (run) lines.push(`run folder: ${run} (reports/latest)`);
  // Where to look next, only when something failed.
  if (s.failed > 0 || s.unhandled.length > 0) lines.push(...next(run));
  return `${lines.join('\n')}\n`;
}

/** The projects a run will go through, in the order Vitest runs them (groupOrder, then first seen), once each (pure). */
export function suiteOrder(specs: { name: string; groupOrder: number }[]): string[] {
  const first = new Map<string, { groupOrder: number; i: number }>();
  specs.forEach((sp, i) => {
    if (!first.has(sp.name)) first.set(sp.name, { groupOrder: sp.groupOrder, i });
  });
  return [...first.entries()].sort(([, a], [, b]) => a.groupOrder - b.groupOrder || a.i - b.i).map(([name]) => name);
}

/** "suite 3 of 8: matrix (after unit, smoke)"; none for a run of one suite or a project not in the plan (pure). */
export function suiteLine(order: string[], name: string): string | undefined {
  const i = order.indexOf(name);
  if (order.length < 2 || i < 0) return undefined;
  return `suite ${i + 1} of ${order.length}: ${name}${i > 0 ? ` (after ${order.slice(0, i).join(', ')})` : ''}`;
}

/** List it after the other reporters: its lines come after theirs. */
export class SummaryReporter implements Reporter {
  private others: Promise<unknown>[] = [];
  private spans = new Map<string, ProjectSpan>();
  private order: string[] = [];

  /** `run`: the run folder (vitest.config.ts); `now` is for the tests. */
  constructor(
    private readonly run?: string,
    private readonly now: () => number = Date.now,
  ) {}

  onInit(vitest: Vitest): void {
    // Vitest runs the reporters' onTestRunEnd side by side, and JUnit logs
    // "report written" only once its file is written: note each one's
    // promise, so the closing line waits for them and comes last. The list
    // is not in Vitest's types: without it the line still prints, maybe
    // before JUnit's.
    for (const r of (vitest as unknown as { reporters?: Reporter[] }).reporters ?? []) {
      const own = r.onTestRunEnd?.bind(r);
      if (r === this || !own) continue;
      r.onTestRunEnd = (...args: Parameters<typeof own>) => {
        const p = Promise.resolve(own(...args));
        this.others.push(p);
        return p;
      };
    }
  }

  onTestRunStart(specifications: ReadonlyArray<TestSpecification> = []): void {
    // A watch-mode rerun starts its own clock.
    this.spans = new Map();
    this.order = suiteOrder(specifications.map((sp) => ({ name: sp.project.name, groupOrder: sp.project.config.sequence?.groupOrder ?? 0 })));
  }

  onTestModuleStart(m: TestModule): void {
    if (this.spans.has(m.project.name)) return;
    this.spans.set(m.project.name, { start: this.now() });
    // Where a long run stands: "suite 3 of 8: matrix (after unit, smoke)".
    const line = suiteLine(this.order, m.project.name);
    if (line) process.stdout.write(`\n${line}\n`);
  }

  onTestModuleEnd(m: TestModule): void {
    const span = this.spans.get(m.project.name);
    if (span) span.end = this.now();
  }

  async onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): Promise<void> {
    await Promise.allSettled(this.others.splice(0));
    process.stdout.write(`\n${formatSummary(summarize(testModules, unhandledErrors, reason, this.spans), this.run && path.relative(process.cwd(), this.run))}`);
  }
}
