/**
 * `cluster prove`: applies each fault of the table to the running cluster,
 * runs the checks that claim to catch it, and says per row whether they
 * went red naming the fault (caught) or not (missed). See harness/prove.ts.
 *
 * A fault is never left behind: the row being proven is written to
 * `<state dir>/prove-pending.json` before its fault is applied and removed
 * after its restore. Ctrl-C restores before exiting; a run killed outright
 * leaves the file, and the next `cluster prove` (or `--restore`) undoes the
 * fault first, while test runs refuse to attach until then.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execaSync } from 'execa';
import type { Cluster } from '../harness/cluster.js';
import { PROJECT_ROOT } from '../harness/config.js';
import { HostError, UsageError } from '../harness/errors.js';
import { progress } from '../harness/log.js';
import { type ProveRow, type RowVerdict, proveSummary, selectRows, tableProblems } from '../harness/prove.js';
import { type RowControl, proveRow, rejudge, restoreLeftover } from '../harness/prove-runner.js';
import { opts } from './command.js';
import { holdingLock } from './session.js';
import type { StackOps } from '../stacks/contracts.js';

type Row = ProveRow<StackOps>;

const OPTIONS = {
  suite: { type: 'string' },
  only: { type: 'string' },
  quick: { type: 'boolean' },
  list: { type: 'boolean' },
  restore: { type: 'boolean' },
  rejudge: { type: 'boolean' },
  out: { type: 'string' },
} as const;

export const proveCommand = {
  args: '[--suite S] [--only ROW[,ROW...]] [--quick] [--list] [--restore] [--rejudge] [--out FILE]',
  summary: 'prove the checks can fail: apply each fault of the table, expect its checks red naming it, restore',
  details: `For each row of the fault table (each role's stacks/reference/<role>/faults.ts, each scenario's
tests/<suite>/<name>.faults.ts): applies the fault to the running cluster, runs just the named checks
(a scenario: its whole file, stopping at the first failure), expects each to FAIL with a message
naming the fault, restores it, and waits until every node is ready again (and, for independent
checks, until they pass again). Prints caught/missed per row and a summary line; exits 1 on any
missed row. Never boots a cluster. Each row's vitest output is in reports/prove/<row>.log.

  --suite S       only the rows of one suite (smoke, matrix, demo, scheduling, baremetal, bench)
  --only ROWS     only these rows (comma-separated ids)
  --quick         only the quick subset (what \`make test\` runs)
  --list          print the table and exit
  --restore       undo a fault a killed run left applied, and exit
  --rejudge       judge the rows already run again from their saved reports (reports/prove/), no cluster
  --out FILE      also write the results as a markdown table (e.g. docs/prove.md)`,
  async run(args: string[]): Promise<number> {
    const { values } = opts(args, OPTIONS);
    const stacks = await import('../stacks/index.js');
    const cluster = stacks.openCluster();
    const { proveTable } = await import('../tests/prove-table.js');
    const table = proveTable(cluster.stack.name);
    const problems = tableProblems(table);
    if (problems.length > 0) throw new HostError(`the prove table is not sound:\n${problems.join('\n')}`);
    let rows: Row[];
    try {
      rows = selectRows(table, { suite: values.suite, only: values.only?.split(',').filter(Boolean), quick: values.quick });
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
    if (values.list) {
      for (const r of rows) console.log(`${r.id.padEnd(34)} ${r.suite.padEnd(10)} ${r.fault} -> ${r.checks.join('; ')}${r.quick ? '  [quick]' : ''}`);
      console.log(`${rows.length} rows`);
      return 0;
    }
    if (values.rejudge) {
      const results = rejudge(rows);
      if (results.length === 0) throw new HostError('no saved report of these rows in reports/prove/: run them first');
      const summary = proveSummary(results);
      console.log(summary.table);
      console.log(`${summary.line} (judged again from the saved reports)`);
      const notRun = rows.filter((r) => !results.some((x) => x.row.id === r.id));
      if (notRun.length > 0) console.log(`not run (no saved report): ${notRun.map((r) => r.id).join(', ')}`);
      if (values.out) writeReport(path.resolve(PROJECT_ROOT, values.out), summary, rows.length, results.reduce((a, r) => a + (r.seconds || 0), 0) * 1000, cluster, false, true, notRun);
      return summary.missed > 0 ? 1 : 0;
    }
    if (cluster.runningNodes().length === 0) throw new HostError('no cluster is running; `cluster prove` never boots one (use `cluster start`)');
    const refusal = cluster.attachRefusal();
    if (refusal) throw new HostError(refusal);
    return holdingLock(cluster, 'cluster prove', async () => {
      await restoreLeftover(cluster, table);
      if (values.restore) return 0;
      return proveRows(cluster, rows, values.out);
    });
  },
};

async function proveRows(cluster: Cluster<StackOps>, rows: Row[], out?: string): Promise<number> {
  const results: { row: Row; verdict: RowVerdict; seconds: number }[] = [];
  const control: RowControl = {};
  let firstSignalAt = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // One Ctrl-C can arrive twice (from the terminal, and relayed by the tsx/npx parent): a repeat within 2 s is the same one.
    if (control.interrupted && Date.now() - firstSignalAt < 2000) return;
    if (control.interrupted) {
      process.stderr.write(`cluster: ${sig} again: leaving now; the fault stays applied until \`cluster prove --restore\`\n`);
      process.exit(130);
    }
    control.interrupted = sig;
    firstSignalAt = Date.now();
    progress('prove', `${sig}: restoring the current fault, then stopping (again to leave at once)`);
    control.child?.kill('SIGTERM');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const t0 = Date.now();
  try {
    for (const [i, row] of rows.entries()) {
      if (control.interrupted) break;
      progress('prove', `[${i + 1}/${rows.length}] ${row.id}: ${row.fault} -> ${row.checks.join('; ')}`);
      const { verdict, seconds } = await proveRow(cluster, row, control);
      results.push({ row, verdict, seconds });
      progress('prove', `${row.id}: ${verdict.verdict.toUpperCase()} (${verdict.why}) in ${seconds.toFixed(0)} s`);
      // Written after every row: a long run cut short still leaves what it proved.
      if (out) writeReport(path.resolve(PROJECT_ROOT, out), proveSummary(results), rows.length, Date.now() - t0, cluster, results.length < rows.length);
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  const summary = proveSummary(results);
  console.log(summary.table);
  console.log(summary.line);
  if (control.interrupted) return 130;
  return summary.missed > 0 ? 1 : 0;
}

function writeReport(file: string, summary: { table: string; line: string }, rows: number, ms: number, cluster: Cluster<StackOps>, partial: boolean, rejudged = false, notRun: Row[] = []): void {
  let rev = 'unknown';
  try {
    rev = execaSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: PROJECT_ROOT }).stdout.trim();
  } catch {
    /* not a git checkout: the report says unknown */
  }
  const rt = cluster.runtime();
  const text = [
    '# `cluster prove`: each fault of the table, and whether its checks caught it',
    '',
    `Run ${new Date().toISOString()} at ${rev}, stack ${cluster.stack.name}, accel ${rt?.accel ?? 'unknown'}: ${rows} rows selected, ${(ms / 60_000).toFixed(1)} min of rows${partial ? ' (**run in progress or cut short**: the rows below are those done)' : ''}. ` +
      'Written by `npx cluster prove --out docs/prove.md`' +
      (rejudged ? ', then judged again from the saved reports of the runs that made them (`cluster prove --rejudge --out docs/prove.md`: rows may come from several runs on one cluster; the judge may have changed, the runs did not)' : '') +
      '. "caught": every named check failed with a message (its stack left out) naming the fault; independent checks also passed again after the restore.',
    '',
    summary.table,
    '',
    summary.line,
    '',
    ...(notRun.length > 0 ? [`Not run (no saved report): ${notRun.map((r) => `${r.id} (${r.fault})`).join('; ')}.`, ''] : []),
  ].join('\n');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}
