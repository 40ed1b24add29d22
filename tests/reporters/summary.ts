/**
 * CI's closing line, from Vitest's own results rather than a reading of
 * the JUnit file: `N passed, N failed, N skipped` alone on a line (CI
 * tooling matches it), then what failed by name and the unhandled errors,
 * so the end of a long log says what to look at.
 */
import type { Reporter, SerializedError, TestModule, TestRunEndReason, Vitest } from 'vitest/node';

/** The parts of Vitest's reported tasks the summary reads (TestModule fits), so it is testable with plain objects. */
interface ErrorsLike {
  errors(): ReadonlyArray<{ message: string; name?: string }>;
}
export interface CaseLike {
  fullName: string;
  result(): { state: 'passed' | 'failed' | 'skipped' | 'pending' };
}
export interface SuiteLike extends ErrorsLike {
  fullName: string;
}
export interface ModuleLike extends ErrorsLike {
  relativeModuleId: string;
  children: { allTests(): Iterable<CaseLike>; allSuites(): Iterable<SuiteLike> };
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
}

const firstLine = (e: { message: string; name?: string }) => `${e.name ?? 'Error'}: ${(e.message ?? '').split('\n')[0]}`;

export function summarize(modules: ReadonlyArray<ModuleLike>, unhandledErrors: ReadonlyArray<{ message: string; name?: string }>, reason: TestRunEndReason): RunSummary {
  const s: RunSummary = { passed: 0, failed: 0, skipped: 0, failures: [], unhandled: unhandledErrors.map(firstLine), reason };
  for (const m of modules) {
    for (const t of m.children.allTests()) {
      const state = t.result().state;
      if (state === 'passed') s.passed++;
      else if (state === 'failed') {
        s.failed++;
        s.failures.push(`${m.relativeModuleId} > ${t.fullName}`);
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

export function formatSummary(s: RunSummary): string {
  const lines = [`${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`];
  if (s.reason === 'interrupted') lines.push('run interrupted: tests not run are counted as skipped');
  if (s.failures.length > 0) lines.push('failed:', ...s.failures.map((f) => `  ${f}`));
  if (s.unhandled.length > 0) lines.push(`unhandled errors: ${s.unhandled.length}`, ...s.unhandled.map((u) => `  ${u}`));
  return `${lines.join('\n')}\n`;
}

/** List it after the other reporters: its lines come after theirs. */
export class SummaryReporter implements Reporter {
  private others: Promise<unknown>[] = [];

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

  async onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): Promise<void> {
    await Promise.allSettled(this.others.splice(0));
    process.stdout.write(`\n${formatSummary(summarize(testModules, unhandledErrors, reason))}`);
  }
}
