/**
 * Looking at the cluster: `status`, `ssh`, `console`, `logs`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import type { StatusRow } from '../harness/cluster.js';
import type { ClusterRuntime } from '../harness/cluster/runtime.js';
import { HostError, UsageError } from '../harness/errors.js';
import { requireTools } from '../harness/host.js';
import { isAlive } from '../harness/proc.js';
import { type Command, openCluster, opts, requireNode } from './command.js';

function formatDuration(s?: number): string {
  if (s === undefined) return '-';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : `${m}m${String(sec).padStart(2, '0')}s`;
}

export function statusTable(rows: StatusRow[]): string {
  const header = ['NODE', 'STATE', 'PID', 'SSH', 'ACCEL', 'UPTIME', 'CPU', 'FORWARDS'];
  const lines = rows.map((r) => [
    r.node,
    r.state,
    r.pid ? String(r.pid) : '-',
    `127.0.0.1:${r.sshPort}`,
    r.accel,
    formatDuration(r.uptimeS),
    r.cpu ? `${(r.cpu.share * 100).toFixed(1)}% (${r.cpu.windowS}s)` : r.pid ? 'sampling' : '-',
    Object.entries(r.forwards)
      .filter(([k]) => k !== 'ssh')
      .map(([k, v]) => `${k}=127.0.0.1:${v}`)
      .join(' ') || '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  return [header, ...lines].map((l) => l.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

/** The `status --json` document's shape; bumped when a key changes meaning or goes (a new key does not bump it). */
export const STATUS_SCHEMA = 1;

const RUNTIME_KEYS = ['profile', 'stack', 'image', 'accel', 'accelReason', 'portBase', 'startedAt', 'recipeHash', 'pid', 'state', 'updatedAt', 'failedNodes', 'boot', 'snapshot', 'readyS', 'expect'] as const;

/** The ssh command line that logs into a node as root, ready to paste. */
export function sshCommand(keyPath: string, port: number): string {
  return `ssh -i ${keyPath} -p ${port} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1`;
}

/**
 * `status --json`: every key always there (null where unknown), so a
 * script can read any of them without guessing; `schema` says which shape.
 */
export function statusDocument(s: { profile: string; stateDir: string; keyPath: string; started: boolean; runtime: ClusterRuntime | undefined; rows: StatusRow[] }) {
  return {
    schema: STATUS_SCHEMA,
    profile: s.profile,
    stateDir: s.stateDir,
    started: s.started,
    sshKey: s.keyPath,
    runtime: s.runtime ? Object.fromEntries(RUNTIME_KEYS.map((k) => [k, s.runtime![k] ?? null])) : null,
    nodes: s.rows.map((r) => ({
      node: r.node,
      state: r.state,
      vm: r.vm,
      pid: r.pid ?? null,
      sshPort: r.sshPort,
      ssh: sshCommand(s.keyPath, r.sshPort),
      forwards: r.forwards,
      accel: r.accel,
      uptimeS: r.uptimeS ?? null,
      cpu: r.cpu ?? null,
    })),
  };
}

/** Nodes of a started cluster that are neither ready nor still booting (status exits 1 for them). */
export function unhealthy(rows: StatusRow[]): StatusRow[] {
  return rows.filter((r) => r.state !== 'ready' && r.state !== 'booting' && r.state !== 'stopped');
}

/**
 * Connects the terminal to a node's serial console socket: raw mode on a
 * TTY, Ctrl-] leaves. vm.log keeps recording either way.
 */
function attachConsole(name: string, socketPath: string): Promise<number> {
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  return new Promise<number>((resolve, reject) => {
    const sock = net.createConnection(socketPath);
    let connected = false;
    let finished = false;
    const onData = (d: Buffer) => {
      const at = d.indexOf(0x1d); // Ctrl-]
      if (at < 0) {
        sock.write(d);
        return;
      }
      if (at > 0) sock.write(d.subarray(0, at));
      finish(0, `left ${name}'s console`);
    };
    const finish = (code: number, why?: string) => {
      if (finished) return;
      finished = true;
      if (tty) stdin.setRawMode(false);
      stdin.off('data', onData);
      stdin.pause();
      sock.destroy();
      if (why) process.stderr.write(`${tty ? '\r\n' : ''}cluster: ${why}\n`);
      resolve(code);
    };
    sock.on('connect', () => {
      connected = true;
      process.stderr.write(`cluster: attached to ${name}'s serial console (${socketPath}); press Enter for a prompt, Ctrl-] to leave\n`);
      if (tty) stdin.setRawMode(true);
      stdin.on('data', onData);
      // Piped input: give the node a moment to answer the last line, then leave.
      stdin.once('end', () => setTimeout(() => finish(0), 1000));
      stdin.resume();
    });
    sock.on('data', (d) => process.stdout.write(d));
    sock.on('error', (e) => {
      if (!connected) {
        finished = true;
        reject(new HostError(`cannot attach to ${name}'s console (${socketPath}): ${e.message}`));
      } else finish(1, `${name}'s console: ${e.message}`);
    });
    sock.on('close', () => finish(0, `${name}'s console closed (QEMU exited?)`));
  });
}

export const inspectCommands = {
  status: {
    args: '[--json]',
    summary: 'per node: its state (ready, booting, no-ssh, down, io-error, paused), pid, SSH port, accel, uptime, CPU share',
    details: `One row per node. STATE is ready (QEMU running and root logs in over SSH within 30 s),
booting (QEMU running, no SSH yet, within the boot deadline), no-ssh (QEMU running, no SSH
login past that deadline), down (no QEMU while the cluster runs), io-error (QEMU paused the
guest on a disk I/O error: a full disk), paused, unresponsive (QMP does not answer), or
stopped (no cluster running). Exits 1 when no cluster is running, or when a node of a running
cluster is neither ready nor booting.

  --json   the same as JSON on stdout (progress and errors stay on stderr): every key always
           there (null where unknown), \`schema\` ${STATUS_SCHEMA}, the SSH key and each node's ssh command`,
    async run(args) {
      const { values } = opts(args, { json: { type: 'boolean' } });
      const cluster = await openCluster();
      const rows = await cluster.status();
      await cluster.close();
      const rt = cluster.runtime();
      const started = cluster.isStarted();
      if (values.json) {
        console.log(JSON.stringify(statusDocument({ profile: cluster.cfg.profile, stateDir: cluster.stateDir, keyPath: cluster.keyPath, started, runtime: rt, rows }), null, 2));
      } else {
        console.log(`state dir: ${cluster.stateDir}${cluster.cfg.profile === 'default' ? '' : `  (profile ${cluster.cfg.profile})`}`);
        if (rt) {
          const boot = rt.state ? `  boot: ${rt.state}${rt.pid ? ` (pid ${rt.pid}${isAlive(rt.pid) ? '' : ', gone'})` : ''}` : '';
          const how = rt.boot === 'restored' && rt.snapshot ? `  from: snapshot ${rt.snapshot.key}` : rt.boot === 'cold' ? '  from: cold boot' : '';
          const took = rt.readyS !== undefined ? ` in ${rt.readyS.toFixed(1)}s` : '';
          console.log(`image: ${rt.image.stack}-${rt.image.hash}  accel: ${rt.accel} (${rt.accelReason})  started: ${rt.startedAt}${boot}${how}${took}`);
        }
        console.log(statusTable(rows));
        const shares = rows.filter((r) => r.cpu).map((r) => r.cpu!.share);
        if (shares.length > 0) console.log(`total QEMU CPU: ${(shares.reduce((a, b) => a + b, 0) * 100).toFixed(1)}% of one host core`);
      }
      if (!started) {
        process.stderr.write(`cluster: no cluster is running (state dir ${cluster.stateDir}); \`cluster start\` boots one\n`);
        return 1;
      }
      const bad = unhealthy(rows);
      if (bad.length > 0) {
        process.stderr.write(`cluster: not ready: ${bad.map((r) => `${r.node} (${r.state})`).join(', ')}\n`);
        return 1;
      }
      return 0;
    },
  },

  ssh: {
    args: '<node> [command...]',
    summary: 'interactive root shell on a node, or run a command there',
    details: `Root shell on the node over its SSH forward with the cluster key, or runs the command there
and passes its exit code through. Everything after the node goes to the remote command.`,
    passThrough: true,
    async run(args) {
      const [name, ...command] = args;
      const cluster = await openCluster();
      requireNode(cluster, name, 'ssh');
      const s = cluster.spec(name);
      if (!cluster.vm(name).pid()) throw new HostError(`${name} is not running (see \`cluster status\`)`);
      requireTools(['ssh']);
      const sshArgs = [
        '-i', cluster.keyPath, '-p', String(cluster.sshPort(s)),
        '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
        ...(command.length > 0 ? [] : ['-t']),
        'root@127.0.0.1',
        ...command,
      ];
      const child = spawn('ssh', sshArgs, { stdio: 'inherit' });
      return new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 1)));
    },
  },

  console: {
    args: '<node>',
    summary: "attach to a node's serial console (works when SSH does not); Ctrl-] leaves",
    details: `Connects this terminal to the node's serial console (<state>/<node>/console.sock), where
a root shell runs (autologin on the serial line only; the socket is in the root-only state
dir). Works when SSH or the network does not. Ctrl-] leaves; vm.log keeps recording. One
client at a time.`,
    async run(args) {
      const { positionals } = opts(args, {}, 1);
      const cluster = await openCluster();
      const name = requireNode(cluster, positionals[0], 'console');
      const vm = cluster.vm(name);
      if (!vm.pid()) throw new HostError(`${name} is not running (see \`cluster status\`)`);
      if (!fs.existsSync(vm.consoleSocket)) {
        throw new HostError(
          `${name} has no console socket (${vm.consoleSocket}): its QEMU was started by an older harness; restart it (\`cluster stop ${name}\`, \`cluster start ${name}\`)`,
        );
      }
      return attachConsole(name, vm.consoleSocket);
    },
  },

  logs: {
    args: '<node> [-f] [-n N]',
    summary: 'serial console log (vm.log) of a node; -f follows it',
    details: `Prints the end of the node's serial console log (<state>/<node>/vm.log).

  -f, --follow      keep following it
  -n, --lines <N>   how many lines (default 200)`,
    async run(args) {
      const { values, positionals } = opts(args, { follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n' } }, 1);
      const lines = values.lines ?? '200';
      if (!/^\d+$/.test(lines)) throw new UsageError(`-n wants a number of lines, got '${lines}'`);
      const cluster = await openCluster();
      const name = requireNode(cluster, positionals[0], 'logs');
      const vm = cluster.vm(name);
      if (!fs.existsSync(vm.logFile)) throw new HostError(`${name} has no log yet (${vm.logFile})`);
      const child = spawn('tail', ['-n', lines, ...(values.follow ? ['-F'] : []), vm.logFile], { stdio: 'inherit' });
      return new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 0)));
    },
  },
} satisfies Record<string, Command>;
