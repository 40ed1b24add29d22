/**
 * `cluster export-logs [DIR]` (as `kind export logs`): what a person needs
 * to see why a run failed, in one folder: each node's serial console
 * (vm.log), its journal of every boot the journal holds, its failed units
 * and all units, `status --json`, and the bare-metal chassis' consoles.
 *
 * It collects what exists: a node that is down still gives its vm.log, and
 * what could not be fetched is listed with the reason (in the folder's
 * MISSING.txt and on stderr), never silently left out.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Cluster } from '../harness/cluster.js';
import { HostError } from '../harness/errors.js';
import { PROJECT_ROOT } from '../harness/config.js';
import { LATEST } from '../harness/run-dir.js';
import { statusDocument } from './inspect.js';
import { type Command, openCluster, opts } from './command.js';

/** What each running node is asked, one file each (a command over SSH, its stdout). */
export const NODE_COMMANDS: { file: string; command: string }[] = [
  { file: 'journal.txt', command: 'journalctl --no-pager -o short-iso-precise' },
  { file: 'boots.txt', command: 'journalctl --no-pager --list-boots' },
  { file: 'failed-units.txt', command: 'systemctl list-units --failed --all --no-pager --plain' },
  { file: 'units.txt', command: 'systemctl list-units --all --no-pager --plain' },
];

/** How long one node command may take (a journal under TCG is slow to print). */
const COMMAND_MS = 180_000;

export interface Exported {
  dir: string;
  /** Each file written, relative to `dir`, with its size. */
  files: { path: string; bytes: number }[];
  /** What could not be collected, and why. */
  missing: string[];
}

/**
 * The default folder: logs-<UTC time> in the latest run's folder (the
 * evidence beside the report of the run that failed), else
 * reports/logs/<UTC time>; names sort in time order.
 */
export function defaultLogDir(now = new Date(), latest = LATEST): string {
  const stamp = now.toISOString().replace(/[:.]/g, '-');
  return fs.existsSync(latest) ? path.join(fs.realpathSync(latest), `logs-${stamp}`) : path.join(PROJECT_ROOT, 'reports', 'logs', stamp);
}

/** Collects the cluster's evidence into `dir` (created; must not hold files already). */
export async function exportLogs(cluster: Cluster, dir: string): Promise<Exported> {
  if (fs.existsSync(dir) && fs.readdirSync(dir).length > 0) throw new HostError(`${dir} is not empty: export-logs writes into a new or empty folder`);
  fs.mkdirSync(dir, { recursive: true });
  const out: Exported = { dir, files: [], missing: [] };
  const write = (rel: string, content: string | Buffer) => {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, content);
    out.files.push({ path: rel, bytes: Buffer.byteLength(content) });
  };
  const copy = (from: string, rel: string) => {
    if (!fs.existsSync(from)) {
      out.missing.push(`${rel}: ${from} does not exist`);
      return;
    }
    write(rel, fs.readFileSync(from));
  };

  const rows = await cluster.status();
  write('status.json', `${JSON.stringify(statusDocument({ profile: cluster.cfg.profile, stateDir: cluster.stateDir, keyPath: cluster.keyPath, started: cluster.isStarted(), runtime: cluster.runtime(), rows }), null, 2)}\n`);

  await Promise.all(
    cluster.specs.map(async (s) => {
      copy(cluster.vm(s.name).logFile, path.join(s.name, 'vm.log'));
      const row = rows.find((r) => r.node === s.name);
      if (row?.state !== 'ready') {
        out.missing.push(`${s.name}: journal and units not fetched: the node is ${row?.state ?? 'unknown'} (no SSH)`);
        return;
      }
      const node = cluster.node(s.name);
      for (const { file, command } of NODE_COMMANDS) {
        const r = await node.execute(command, COMMAND_MS);
        // systemctl list-units exits 0 with an empty list; a non-zero exit or a timeout is a failed fetch.
        if (r.code === 0) write(path.join(s.name, file), r.stdout);
        else out.missing.push(`${s.name}/${file}: \`${command}\` ${r.timedOut ? `timed out after ${COMMAND_MS / 1000} s` : `exited ${r.code}`}: ${r.stderr.trim().split('\n').slice(-1)[0] ?? ''}`);
      }
    }),
  );

  // Bare-metal chassis (tests/baremetal): <state>/baremetal/<id>/vm.log.
  const chassisRoot = path.join(cluster.stateDir, 'baremetal');
  if (fs.existsSync(chassisRoot)) {
    for (const id of fs.readdirSync(chassisRoot).sort()) {
      const log = path.join(chassisRoot, id, 'vm.log');
      if (fs.existsSync(log)) copy(log, path.join('chassis', id, 'vm.log'));
    }
  }
  out.files.sort((a, b) => a.path.localeCompare(b.path));
  if (out.missing.length) write('MISSING.txt', `${out.missing.join('\n')}\n`);
  return out;
}

export const exportLogsCommand: Command = {
  args: '[DIR]',
  summary: "collect each node's console, journal and units, status --json and the chassis' consoles into one folder",
  details: `Writes into DIR (default logs-<UTC time> in the latest run's folder, reports/latest; else reports/logs/<UTC time>; a new or empty folder):

  status.json                 what \`cluster status --json\` prints
  <node>/vm.log               the node's serial console, every boot since the cluster started
  <node>/journal.txt          journalctl of every boot the node's journal holds
  <node>/boots.txt            journalctl --list-boots
  <node>/failed-units.txt     systemctl list-units --failed
  <node>/units.txt            systemctl list-units --all
  chassis/<id>/vm.log         the bare-metal chassis' consoles (tests/baremetal), when any ran
  MISSING.txt                 what could not be collected, and why (a node down: its vm.log only)

Prints the folder and its files. Exits 1 when there is no cluster state at all to export.`,
  async run(args) {
    const { positionals } = opts(args, {}, 1);
    const dir = path.resolve(positionals[0] ?? defaultLogDir());
    const cluster = await openCluster();
    if (!fs.existsSync(cluster.stateDir)) throw new HostError(`nothing to export: no cluster state dir (${cluster.stateDir})`);
    let result: Exported;
    try {
      result = await exportLogs(cluster, dir);
    } finally {
      await cluster.close();
    }
    console.log(`exported to ${result.dir}:`);
    for (const f of result.files) console.log(`  ${f.path}  (${f.bytes} bytes)`);
    for (const m of result.missing) process.stderr.write(`cluster: not collected: ${m}\n`);
    return 0;
  },
};
