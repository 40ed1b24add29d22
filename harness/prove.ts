/**
 * `cluster prove`: the suite proves its own checks can fail. Each role and
 * each scenario keeps a table of faults it claims to catch (a unit stopped,
 * a port blocked, a record removed, a file corrupted) with the checks that
 * must go red. For each row: apply the fault to the running cluster, run
 * just those checks (a scenario: its whole file, up to the first failure),
 * expect each to FAIL with a message naming the fault, restore, and wait
 * until the cluster is healthy again. A row whose checks stay green, fail
 * for another reason, or match no test is "missed": a defect of the check.
 *
 * This module is the pure part: the row type, the table's validation, the
 * vitest arguments and the verdict over Vitest's JSON report.
 */
import type { Node } from './remote/node.js';
import { namePattern } from './rerun.js';

/** What a fault may touch: the nodes (by name), the stack's operations, the topology. */
export interface FaultTarget<Ops = unknown> {
  node(name: string): Node;
  ops: Ops;
  nodes: { name: string; kind: string; clusterIp: string }[];
}

export interface ProveRow<Ops = unknown> {
  /** Unique, kebab-case: `cluster prove --only ID`. */
  id: string;
  /** The role or scenario whose table holds the row (for the report). */
  owner: string;
  /** The Vitest project the checks belong to. */
  suite: string;
  /** The test file, relative to the project root. */
  file: string;
  /** The checks that must go red, by their report names (describe blocks and title joined by " > "). */
  checks: string[];
  /** The fault in words: `etcd.service stopped on node02`. */
  fault: string;
  /** The failure message of each named check must match this: proof that it failed for this fault. */
  names: RegExp;
  apply(c: FaultTarget<Ops>): Promise<void>;
  /** Undoes `apply` (idempotent: it also runs after an `apply` that failed half-way). */
  restore(c: FaultTarget<Ops>): Promise<void>;
  /**
   * A scenario's steps need the steps before them: the whole file runs
   * (stopping at its first failure) and the named checks must be among the
   * failed. Independent checks (smoke) run alone.
   */
  scenario?: boolean;
  /**
   * Seconds to wait after `apply` before the checks run, where what they read
   * lags the fault by design (a lease's TTL: a stopped agent stays "alive" until it runs out).
   */
  settleS?: number;
  /** Seconds the cluster may take to be healthy again after `restore` (default 300). */
  recoverS?: number;
  /** In the quick subset `make test` runs (a few rows, minutes in all). */
  quick?: boolean;
}

/** One line per problem of the table itself (duplicate ids, no checks, bad names); empty when sound. */
export function tableProblems(rows: ProveRow[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const r of rows) {
    if (!/^[a-z0-9]+(-[a-z0-9]+)*$/.test(r.id)) problems.push(`${r.id}: an id is kebab-case`);
    if (seen.has(r.id)) problems.push(`${r.id}: the id is used twice`);
    seen.add(r.id);
    if (r.checks.length === 0) problems.push(`${r.id}: names no check`);
    if (!r.file.startsWith(`tests/${r.suite}/`)) problems.push(`${r.id}: ${r.file} is not a file of the ${r.suite} suite`);
    if (r.names.test('')) problems.push(`${r.id}: its message pattern ${r.names} matches any message`);
  }
  return problems;
}

/** The rows `--suite` and `--only` select, in table order; a name that selects nothing is an error. */
export function selectRows<R extends ProveRow<never>>(rows: R[], opts: { suite?: string; only?: string[]; quick?: boolean }): R[] {
  const suites = new Set(rows.map((r) => r.suite));
  if (opts.suite && !suites.has(opts.suite)) throw new Error(`no row of suite '${opts.suite}' (suites: ${[...suites].join(', ')})`);
  for (const id of opts.only ?? []) if (!rows.some((r) => r.id === id)) throw new Error(`no row '${id}' (see \`cluster prove --list\`)`);
  return rows.filter(
    (r) => (!opts.suite || r.suite === opts.suite) && (!opts.only?.length || opts.only.includes(r.id)) && (!opts.quick || r.quick),
  );
}

/**
 * `vitest run` arguments for one row: its file, its project, a JSON report,
 * and (independent checks) a pattern admitting exactly the named checks, or
 * (a scenario) the whole file stopping at its first failure.
 */
export function vitestArgs(row: Pick<ProveRow, 'file' | 'suite' | 'checks' | 'scenario'>, jsonFile: string): string[] {
  const args = [row.file, '--project', row.suite, '--reporter', 'json', '--outputFile', jsonFile];
  if (row.scenario) return [...args, '--bail', '1'];
  return [...args, '--testNamePattern', `^(?:${row.checks.map(namePattern).join('|')})$`];
}

/** What Vitest's JSON reporter writes, as far as it is read here. */
export interface VitestJson {
  testResults: {
    name: string;
    status: string;
    message?: string;
    assertionResults: { ancestorTitles: string[]; title: string; fullName?: string; status: string; failureMessages?: string[] }[];
  }[];
}

export interface CheckOutcome {
  check: string;
  status: 'failed' | 'passed' | 'skipped' | 'absent';
  /** The failure's first lines (failed), or why it is not a catch. */
  message: string;
  /** Failed, with a message naming the fault. */
  namesFault: boolean;
}

export interface RowVerdict {
  verdict: 'caught' | 'missed';
  checks: CheckOutcome[];
  /** One line: why missed, or what caught it. */
  why: string;
}

const SEP = ' > ';

/** The verdict on a row from the JSON report of its run under the fault. */
export function judge(row: Pick<ProveRow, 'checks' | 'names' | 'fault'>, report: VitestJson): RowVerdict {
  const tests = report.testResults.flatMap((f) => f.assertionResults.map((a) => ({ ...a, name: [...a.ancestorTitles, a.title].join(SEP) })));
  const checks: CheckOutcome[] = row.checks.map((check) => {
    const t = tests.find((x) => x.name === check);
    if (!t) return { check, status: 'absent', message: 'no test of that name ran (renamed? a typo in the table?)', namesFault: false };
    if (t.status !== 'failed') {
      return { check, status: t.status === 'passed' ? 'passed' : 'skipped', message: t.status === 'passed' ? 'passed under the fault' : `${t.status} (did not run to a verdict)`, namesFault: false };
    }
    // The message, not its stack: a stack names the role's files, which would "name" any fault of that role.
    const message = withoutStack((t.failureMessages ?? []).join('\n'));
    return { check, status: 'failed', message: firstLines(message, 6), namesFault: row.names.test(message) };
  });
  const bad = checks.filter((c) => !c.namesFault);
  if (bad.length === 0) return { verdict: 'caught', checks, why: `${checks.length} check(s) failed naming the fault (${row.names})` };
  const c = bad[0];
  const why =
    c.status === 'failed'
      ? `"${c.check}" failed, but not naming the fault (${row.names}): ${firstLines(c.message, 1)}`
      : `"${c.check}" ${c.message}`;
  return { verdict: 'missed', checks, why };
}

/** A failure message without its stack frames (`    at ...`) and source excerpts (`❯ file:line`, numbered lines). */
export function withoutStack(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^\s+at\s/.test(l) && !/^\s*❯\s/.test(l) && !/^\s*\d+\|/.test(l))
    .join('\n');
}

function firstLines(text: string, n: number): string {
  return text.split('\n').filter((l) => l.trim() !== '').slice(0, n).join('\n');
}

/** The closing line and the table of a prove run, as printed and as committed to docs/prove.md. */
export function proveSummary(results: { row: Pick<ProveRow, 'id' | 'owner' | 'suite' | 'fault' | 'checks'>; verdict: RowVerdict; seconds: number }[]): { table: string; line: string; missed: number } {
  const missed = results.filter((r) => r.verdict.verdict === 'missed').length;
  const lines = [
    '| row | owner | suite | fault | check(s) that must go red | verdict | s |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(({ row, verdict, seconds }) =>
      `| ${row.id} | ${row.owner} | ${row.suite} | ${cell(row.fault)} | ${cell(row.checks.join('; '))} | ${verdict.verdict === 'caught' ? 'caught' : `**missed**: ${cell(verdict.why)}`} | ${seconds.toFixed(0)} |`,
    ),
  ];
  const total = results.reduce((a, r) => a + r.seconds, 0);
  return { table: lines.join('\n'), line: `prove: ${results.length} rows, ${results.length - missed} caught, ${missed} missed in ${Math.round(total)} s`, missed };
}

function cell(s: string): string {
  return s.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/** Where a run records the row whose fault is applied (removed after its restore). */
export function provePendingFile(stateDir: string): string {
  return `${stateDir}/prove-pending.json`;
}
