/**
 * `npm run cluster -- <command>`: the operator's entry point.
 * Bad input is one line on stderr and exit 2; host problems exit 1.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { Cluster, type StatusRow } from '../harness/cluster.js';
import { openCluster } from '../stacks/index.js';
import type { StackOps } from '../stacks/contracts.js';
import { PROJECT_ROOT } from '../harness/config.js';
import { HostError, UsageError } from '../harness/errors.js';
import { requireTools } from '../harness/host.js';
import { progress } from '../harness/log.js';

const HELP = `usage: npm run cluster -- <command> [options]

commands:
  build [--rebuild]        build the node image (cached by recipe hash; --rebuild drops the cache entry)
  start [--fresh]          build if needed and boot every node that is not running (--fresh: new disks)
  status [--json]          node, state, pid, SSH port, accel, uptime, QEMU CPU share over the last minute
  ssh <node> [command...]  interactive root shell on a node, or run a command there
  logs <node> [-f] [-n N]  serial console log (vm.log) of a node; -f follows it
  stop [--graceful]        stop every QEMU and the switch of this cluster (--graceful: ACPI powerdown first)
  clean [--images]         stop and remove the runtime state dir (--images: also drop the image cache)
  smoke                    run the smoke suite, starting the cluster if none is up; leaves it running
  fresh-smoke              clean + build + start + smoke
  validate                 run the smoke checks against the running cluster, never booting one
  help                     this text

environment: PHOTON_VM_DIR, ULTRACLOUD_PROFILE, ULTRACLOUD_STACK, ULTRACLOUD_ACCEL (auto|kvm|tcg),
  ULTRACLOUD_PORT_BASE, ULTRACLOUD_IMAGE_CACHE, ULTRACLOUD_BOOT_TIMEOUT, ULTRACLOUD_DEBIAN_SOURCES (see README)`;

type Handler = (args: string[]) => Promise<number>;

function opts<T extends Record<string, { type: 'boolean' | 'string'; short?: string }>>(args: string[], options: T, positionals = 0) {
  try {
    const r = parseArgs({ args, options, allowPositionals: true, strict: true });
    if (r.positionals.length > positionals) throw new UsageError(`unexpected argument '${r.positionals[positionals]}'`);
    return r;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}

/** Stops what this invocation booted if the operator interrupts it. */
function stopOnSignal(cluster: Cluster<StackOps>, before: Set<string>): () => void {
  const handler = (sig: NodeJS.Signals) => {
    progress('cluster', `${sig}: stopping the nodes this run started`);
    const started = cluster.specs.filter((s) => !before.has(s.name)).map((s) => s.name);
    void Promise.all(started.map((n) => cluster.vm(n).stop(0)))
      .then(() => (before.size === 0 ? cluster.stop() : undefined))
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

async function startCluster(cluster: Cluster<StackOps>, fresh: boolean): Promise<void> {
  const lock = cluster.lock('cluster start');
  const before = new Set(cluster.runningNodes().map((s) => s.name));
  const restore = stopOnSignal(cluster, before);
  try {
    await cluster.start({ fresh });
  } finally {
    restore();
    await cluster.close();
    lock.release();
  }
}

async function runVitest(cluster: Cluster<StackOps>, filter: string, env: Record<string, string> = {}): Promise<number> {
  const vitest = path.join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const child = spawn(process.execPath, [vitest, 'run', filter], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1))));
  await cluster.close();
  return code;
}

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

const commands: Record<string, Handler> = {
  async build(args) {
    const { values } = opts(args, { rebuild: { type: 'boolean' } });
    const cluster = openCluster();
    const image = await cluster.build(values.rebuild);
    console.log(image.dir);
    return 0;
  },

  async start(args) {
    const { values } = opts(args, { fresh: { type: 'boolean' } });
    await startCluster(openCluster(), values.fresh ?? false);
    return 0;
  },

  async status(args) {
    const { values } = opts(args, { json: { type: 'boolean' } });
    const cluster = openCluster();
    const rows = await cluster.status();
    if (values.json) {
      console.log(JSON.stringify({ stateDir: cluster.stateDir, runtime: cluster.runtime() ?? null, nodes: rows }, null, 2));
      return 0;
    }
    const rt = cluster.runtime();
    console.log(`state dir: ${cluster.stateDir}`);
    if (rt) console.log(`image: ${rt.image.stack}-${rt.image.hash}  accel: ${rt.accel} (${rt.accelReason})  started: ${rt.startedAt}`);
    console.log(statusTable(rows));
    const shares = rows.filter((r) => r.cpu).map((r) => r.cpu!.share);
    if (shares.length > 0) console.log(`total QEMU CPU: ${(shares.reduce((a, b) => a + b, 0) * 100).toFixed(1)}% of one host core`);
    return 0;
  },

  async ssh(args) {
    const [name, ...command] = args;
    if (!name) throw new UsageError('ssh needs a node name, e.g. `cluster ssh node01`');
    const cluster = openCluster();
    const s = cluster.spec(name);
    if (!cluster.vm(name).pid()) throw new HostError(`${name} is not running (see \`npm run cluster -- status\`)`);
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

  async logs(args) {
    const { values, positionals } = opts(args, { follow: { type: 'boolean', short: 'f' }, lines: { type: 'string', short: 'n' } }, 1);
    const name = positionals[0];
    if (!name) throw new UsageError('logs needs a node name, e.g. `cluster logs node01`');
    const lines = values.lines ?? '200';
    if (!/^\d+$/.test(lines)) throw new UsageError(`-n wants a number of lines, got '${lines}'`);
    const vm = openCluster().vm(name);
    if (!fs.existsSync(vm.logFile)) throw new HostError(`${name} has no log yet (${vm.logFile})`);
    const child = spawn('tail', ['-n', lines, ...(values.follow ? ['-F'] : []), vm.logFile], { stdio: 'inherit' });
    return new Promise<number>((resolve) => child.on('exit', (c) => resolve(c ?? 0)));
  },

  async stop(args) {
    const { values } = opts(args, { graceful: { type: 'boolean' } });
    const cluster = openCluster();
    const lock = cluster.lock('cluster stop');
    try {
      const stopped = await cluster.stop(values.graceful ? 60_000 : 0);
      progress('stop', stopped.length ? `stopped ${stopped.join(' ')}` : 'nothing was running');
    } finally {
      lock.release();
    }
    return 0;
  },

  async clean(args) {
    const { values } = opts(args, { images: { type: 'boolean' } });
    const cluster = openCluster();
    const lock = cluster.lock('cluster clean');
    lock.release(); // clean removes the folder the lock lives in; holding it only proves nobody else drives the cluster
    await cluster.clean();
    progress('clean', `removed ${cluster.stateDir}`);
    if (values.images) {
      await execa('rm', ['-rf', '--one-file-system', path.join(cluster.cfg.cacheDir, 'images')]);
      progress('clean', `removed image cache ${path.join(cluster.cfg.cacheDir, 'images')}`);
    }
    return 0;
  },

  async smoke(args) {
    opts(args, {});
    const cluster = openCluster();
    if (cluster.runningNodes().length === 0) await startCluster(cluster, false);
    const code = await runVitest(cluster, 'smoke');
    progress('cluster', 'cluster left running: `npm run cluster -- status`, `... stop`');
    return code;
  },

  async 'fresh-smoke'(args) {
    opts(args, {});
    const cluster = openCluster();
    const lock = cluster.lock('cluster fresh-smoke');
    lock.release();
    await cluster.clean();
    await startCluster(cluster, true);
    const code = await runVitest(cluster, 'smoke');
    progress('cluster', 'cluster left running: `npm run cluster -- status`, `... stop`');
    return code;
  },

  async validate(args) {
    opts(args, {});
    const cluster = openCluster();
    if (cluster.runningNodes().length === 0) throw new HostError('no cluster is running; `validate` never boots one (use `smoke` or `start`)');
    return runVitest(cluster, 'smoke', { ULTRACLOUD_ATTACH_ONLY: '1' });
  },

  async help() {
    console.log(HELP);
    return 0;
  },
};

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    console.log(HELP);
    return command ? 0 : 2;
  }
  const handler = Object.hasOwn(commands, command) ? commands[command] : undefined;
  if (!handler) throw new UsageError(`unknown command '${command}' (try: npm run cluster -- help)`);
  return handler(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: Error) => {
    if (e instanceof UsageError) {
      process.stderr.write(`cluster: ${e.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`cluster: ${e instanceof HostError ? e.message : e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
