/**
 * Runs `cluster prove` rows against the running cluster: the fault applied,
 * the checks run by a child `vitest run` (JSON report, attach only), the
 * verdict, the restore, the wait until healthy. Used by the command
 * (cli/prove.ts) and by the quick subset in `make test` (tests/prove).
 *
 * A fault is never left behind: the row is written to
 * `<state dir>/prove-pending.json` before its fault is applied and removed
 * after its restore. A run killed outright leaves the file: the next
 * `cluster prove` undoes the fault first, and test runs refuse to attach.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Cluster } from './cluster.js';
import { PROJECT_ROOT } from './config.js';
import { HostError } from './errors.js';
import { elapsed, progress } from './log.js';
import { type FaultTarget, type ProveRow, type RowVerdict, type VitestJson, judge, provePendingFile, vitestArgs } from './prove.js';

interface Pending {
  id: string;
  fault: string;
  pid: number;
  since: string;
}

export const PROVE_REPORTS = path.join(PROJECT_ROOT, 'reports', 'prove');

/** Lets a caller (Ctrl-C) stop the row's child vitest; the row still restores. */
export interface RowControl {
  child?: ChildProcess;
  interrupted?: string;
}

export function faultTarget<Ops>(cluster: Cluster<Ops>): FaultTarget<Ops> {
  return { node: (n) => cluster.node(n), ops: cluster.stack.ops, nodes: cluster.specs };
}

/** A fault a killed run left applied: undone (and the cluster healthy) before anything else runs. */
export async function restoreLeftover<Ops>(cluster: Cluster<Ops>, table: ProveRow<Ops>[]): Promise<void> {
  const file = provePendingFile(cluster.stateDir);
  if (!fs.existsSync(file)) return;
  const pending = JSON.parse(fs.readFileSync(file, 'utf8')) as Pending;
  const row = table.find((r) => r.id === pending.id);
  if (!row) throw new HostError(`${file} names row '${pending.id}' (${pending.fault}), which the table no longer has: undo it by hand, or restart the cluster, then remove the file`);
  progress('prove', `undoing what an interrupted run (pid ${pending.pid}, ${pending.since}) left applied: ${pending.fault}`);
  await row.restore(faultTarget(cluster));
  await waitHealthy(cluster, row);
  fs.rmSync(file);
}

/** One row: apply, run its checks, judge, restore (always), wait until healthy. */
export async function proveRow<Ops>(cluster: Cluster<Ops>, row: ProveRow<Ops>, control: RowControl = {}): Promise<{ verdict: RowVerdict; seconds: number }> {
  const started = Date.now();
  const target = faultTarget(cluster);
  fs.mkdirSync(PROVE_REPORTS, { recursive: true });
  const json = path.join(PROVE_REPORTS, `${row.id}.json`);
  const log = path.join(PROVE_REPORTS, `${row.id}.log`);
  fs.rmSync(json, { force: true });
  const pendingFile = provePendingFile(cluster.stateDir);
  const pending: Pending = { id: row.id, fault: row.fault, pid: process.pid, since: new Date().toISOString() };
  fs.writeFileSync(pendingFile, `${JSON.stringify(pending, null, 2)}\n`);
  let verdict: RowVerdict;
  try {
    await row.apply(target);
    if (row.settleS) {
      progress('prove', `${row.id}: waiting ${row.settleS} s for the fault to show where the checks look`);
      await new Promise((r) => setTimeout(r, row.settleS! * 1000));
    }
    const run = runVitest(vitestArgs(row, json), log, row.id);
    control.child = run.child;
    await run.done;
    control.child = undefined;
    if (control.interrupted) throw new Error(`interrupted (${control.interrupted})`);
    verdict = judge(row, readReport(json, log));
  } catch (e) {
    verdict = { verdict: 'missed', checks: [], why: `the row did not run: ${(e as Error).message.split('\n')[0]}` };
  } finally {
    // Always undone before the next row (or the exit).
    await row.restore(target);
    fs.rmSync(pendingFile, { force: true });
  }
  if (!control.interrupted) await waitHealthy(cluster, row, true);
  const seconds = (Date.now() - started) / 1000;
  fs.writeFileSync(path.join(PROVE_REPORTS, `${row.id}.result.json`), `${JSON.stringify({ id: row.id, seconds, verdict: verdict.verdict, finishedAt: new Date().toISOString() }, null, 2)}\n`);
  return { verdict, seconds };
}

/**
 * The verdicts of rows already run, judged again from their saved reports
 * (`reports/prove/<row>.json`) with the current table and judge: no
 * cluster. Rows without a report are left out.
 */
export function rejudge<Ops>(rows: ProveRow<Ops>[]): { row: ProveRow<Ops>; verdict: RowVerdict; seconds: number }[] {
  return rows
    .filter((row) => fs.existsSync(path.join(PROVE_REPORTS, `${row.id}.json`)))
    .map((row) => {
      const report = JSON.parse(fs.readFileSync(path.join(PROVE_REPORTS, `${row.id}.json`), 'utf8')) as VitestJson;
      const result = path.join(PROVE_REPORTS, `${row.id}.result.json`);
      const seconds = fs.existsSync(result) ? (JSON.parse(fs.readFileSync(result, 'utf8')) as { seconds: number }).seconds : Number.NaN;
      return { row, verdict: judge(row, report), seconds };
    });
}

function runVitest(args: string[], logFile: string, rowId: string): { child: ChildProcess; done: Promise<number> } {
  const vitest = path.join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const fd = fs.openSync(logFile, 'w');
  const child = spawn(process.execPath, [vitest, 'run', ...args], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', fd, fd],
    // Attach only, and allowed to attach while this row's fault is pending.
    // Its own run folder (timelines, attachments), under the row's reports: never a new reports/runs entry.
    env: { ...process.env, ULTRACLOUD_ATTACH_ONLY: '1', ULTRACLOUD_PROVE_ROW: rowId, ULTRACLOUD_RUN_DIR: path.join(PROVE_REPORTS, 'runs', rowId) },
  });
  const done = new Promise<number>((resolve) =>
    child.on('exit', (c, sig) => {
      fs.closeSync(fd);
      resolve(c ?? (sig ? 128 : 1));
    }),
  );
  return { child, done };
}

function readReport(json: string, log: string): VitestJson {
  if (!fs.existsSync(json)) {
    const tail = fs.readFileSync(log, 'utf8').trim().split('\n').slice(-5).join(' | ');
    throw new Error(`vitest wrote no report (${tail})`);
  }
  return JSON.parse(fs.readFileSync(json, 'utf8')) as VitestJson;
}

/**
 * Every node ready again (units active, system running); then, for
 * independent checks, the row's own checks green again: the fault is gone
 * and the check can pass. A cluster that does not recover is an error
 * (the caller stops: later rows' verdicts would mean nothing).
 */
export async function waitHealthy<Ops>(cluster: Cluster<Ops>, row: ProveRow<Ops>, checksGreen = false): Promise<void> {
  const deadlineMs = (row.recoverS ?? 300) * 1000;
  const t = Date.now();
  await Promise.all(cluster.specs.map((s) => cluster.waitReady(s, deadlineMs)));
  if (row.scenario || !checksGreen) return;
  const json = path.join(PROVE_REPORTS, `${row.id}.after.json`);
  const log = path.join(PROVE_REPORTS, `${row.id}.after.log`);
  for (let attempt = 1; ; attempt++) {
    fs.rmSync(json, { force: true });
    await runVitest(vitestArgs(row, json), log, `${row.id}-after`).done;
    const report = readReport(json, log);
    // The named checks only: the file's other tests are filtered out (reported skipped), and some skip by design.
    const status = new Map(report.testResults.flatMap((f) => f.assertionResults).map((a) => [[...a.ancestorTitles, a.title].join(' > '), a.status]));
    const notGreen = row.checks.filter((c) => status.get(c) !== 'passed');
    if (notGreen.length === 0) return;
    if (Date.now() - t > deadlineMs) {
      throw new HostError(
        `prove: after restoring "${row.fault}", ${notGreen.join('; ')} still not green after ${elapsed(t)}: ` +
          `the cluster did not recover (see ${path.relative(PROJECT_ROOT, log)})`,
      );
    }
    progress('prove', `${row.id}: not green yet after the restore (attempt ${attempt}); again in 15 s`);
    await new Promise((r) => setTimeout(r, 15_000));
  }
}
