/**
 * `npx cluster <command>` (or `npm run cluster -- <command>`): the
 * operator's entry point. Data goes to stdout, progress to stderr.
 * Bad input is one line on stderr and exit 2; host problems exit 1;
 * an unexpected error is one line too, its stack in `<state>/cli-error.log`.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { execa } from 'execa';
import { Cluster, ClusterStartError, type StatusRow } from '../harness/cluster.js';
import type { StackOps } from '../stacks/contracts.js';
import { PROJECT_ROOT, loadConfig, profileServes, takeProfile } from '../harness/config.js';
import { HostError, NodeError, UsageError } from '../harness/errors.js';
import { requireTools } from '../harness/host.js';
import { progress, setQuiet } from '../harness/log.js';
import { PROFILES } from '../harness/topology.js';
import { isAlive } from '../harness/proc.js';
import { proveCommand } from './prove.js';
import { type FailedCase, JUNIT_REPORT, ReportError, SCENARIO_PROJECTS, parseFailures, projectOf, rerunArgs } from '../harness/rerun.js';

type Handler = (args: string[]) => Promise<number>;

interface Command {
  /** Arguments after the command name, as shown in usage lines. */
  args: string;
  /** One line for the command list. */
  summary: string;
  /** The rest of `cluster <command> --help`. */
  details: string;
  /** Arguments go to another program (vitest, the remote shell): only a leading --help is ours. */
  passThrough?: boolean;
  run: Handler;
}

const ENVIRONMENT = `profiles (ULTRACLOUD_PROFILE, or --profile NAME with any command; each has its own state dir and forwards):
${Object.entries(PROFILES).map(([n, p]) => `  ${n.padEnd(8)} ${p.description}`).join('\n')}

environment: PHOTON_VM_DIR, ULTRACLOUD_PROFILE, ULTRACLOUD_STACK, ULTRACLOUD_ACCEL (auto|kvm|tcg),
  ULTRACLOUD_PORT_BASE, ULTRACLOUD_IMAGE_CACHE, ULTRACLOUD_BOOT_TIMEOUT, ULTRACLOUD_DEBIAN_SOURCES,
  ULTRACLOUD_KEEP_CLUSTER, ULTRACLOUD_ATTACH_ONLY, ULTRACLOUD_VERBOSE, ULTRACLOUD_QUIET, ULTRACLOUD_COLD,
  ULTRACLOUD_FLAKE, ULTRACLOUD_NIX_IMAGES (the ultracloud stack)
  (booleans: 1/0, true/false, yes/no; see README)`;

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

function requireServes(project: string, command: string): void {
  const cfg = loadConfig();
  const p = PROFILES[cfg.profile];
  if (!profileServes(cfg.profile, project)) {
    throw new UsageError(`\`cluster ${command}\` needs the default profile: the ${cfg.profile} profile boots only ${p.roles?.join(', ')} and serves ${p.projects?.join(', ')}`);
  }
}

/** A pass-through command's own leading `--cold` (the rest goes to vitest). */
function takeCold(args: string[]): { cold: boolean; rest: string[] } {
  return args[0] === '--cold' ? { cold: true, rest: args.slice(1) } : { cold: false, rest: args };
}

async function startCluster(cluster: Cluster<StackOps>, fresh: boolean, cold = false): Promise<void> {
  const lock = cluster.lock('cluster start');
  const before = new Set(cluster.runningNodes().map((s) => s.name));
  const restore = stopOnSignal(cluster, before);
  try {
    await cluster.start({ fresh, cold });
  } finally {
    restore();
    await cluster.close();
    lock.release();
  }
}

/** `vitest run <args>` in the project; a lock this process holds passes to it through ULTRACLOUD_LOCK_TOKEN. */
async function runVitest(cluster: Cluster<StackOps>, args: string[], env: Record<string, string> = {}): Promise<number> {
  const vitest = path.join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const child = spawn(process.execPath, [vitest, 'run', ...args], {
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

/** The cluster the environment names, with its stack: loaded on demand, so `--help` and usage errors stay quick. */
async function openCluster(): Promise<Cluster<StackOps>> {
  const stacks = await import('../stacks/index.js');
  return stacks.openCluster();
}

function requireNode(cluster: Cluster<StackOps>, name: string | undefined, command: string): string {
  if (!name) throw new UsageError(`${command} needs a node name, e.g. \`cluster ${command} node01\``);
  return cluster.spec(name).name;
}

/**
 * `<suite>` and `fresh-<suite>`: the cluster suites' two commands, alike but
 * for the suite. `selector` is what picks the suite's files for vitest (the
 * suite's folder name by default; `--project <name>` where the command is
 * named otherwise).
 */
function suiteCommands(suite: string, what: string, example: string, selector: string[] = [suite]): Record<string, Command> {
  const shown = selector.join(' ');
  const project = selector[0] === '--project' ? selector[1] : suite;
  return {
    [suite]: {
      args: '[--cold] [vitest options...]',
      summary: `run ${what} (bringing the cluster up if none is: see start); leaves it running`,
      details: `Brings the cluster up if no node is running (as \`start\` does: from the warm snapshot when one
fits; --cold first: from the image), then runs \`vitest run ${shown}\` with the options given (e.g.
\`${example}\`), holding the cluster lock throughout. Leaves the cluster running.`,
      passThrough: true,
      async run(argv) {
        requireServes(project, suite);
        const { cold, rest: args } = takeCold(argv);
        const cluster = await openCluster();
        const lock = cluster.lock(`cluster ${suite}`);
        try {
          if (cluster.runningNodes().length === 0) await startCluster(cluster, false, cold);
          const code = await runVitest(cluster, [...selector, ...args]);
          progress('cluster', 'cluster left running: `cluster status`, `cluster stop`');
          return code;
        } finally {
          lock.release();
        }
      },
    },
    [`fresh-${suite}`]: {
      args: '[--cold] [vitest options...]',
      summary: `clean + build + start + ${suite}, holding the cluster lock throughout`,
      details: `Throws the runtime state away (removes the state dir), builds (or reuses) the image, brings six
nodes up on fresh disks (from the warm snapshot when one fits, see \`start\`; --cold first: from
the image) and runs \`vitest run ${shown}\` with the options given, holding the cluster lock from the
clean to the end. Leaves the cluster running.`,
      passThrough: true,
      async run(argv) {
        requireServes(project, `fresh-${suite}`);
        const { cold, rest: args } = takeCold(argv);
        const cluster = await openCluster();
        // A stack whose images this host cannot build (nix) says so before the clean throws anything away.
        cluster.preflightImage();
        const lock = cluster.lock(`cluster fresh-${suite}`);
        try {
          await cluster.clean();
          await startCluster(cluster, true, cold);
          const code = await runVitest(cluster, [...selector, ...args]);
          progress('cluster', 'cluster left running: `cluster status`, `cluster stop`');
          return code;
        } finally {
          lock.release();
        }
      },
    },
  };
}

/**
 * The storage benchmarks (tests/bench/storage-bench.ts): `bench-storage`,
 * its fresh- form (also spelled fresh-storage-bench) and
 * `bench-coronafs-local-matrix`. Each reuses the running cluster (bringing
 * one up if none is), holds the cluster lock, writes its report and exits 1
 * when a section failed (the report says why).
 */
function benchCommands(): Record<string, Command> {
  const options = { quick: { type: 'boolean' }, runs: { type: 'string' }, out: { type: 'string' } } as const;
  const run = async (name: string, kind: 'storage' | 'matrix', fresh: boolean, args: string[]): Promise<number> => {
    const { values } = opts(args, options);
    const bench = await import('../tests/bench/storage-bench.js');
    const sizes = { ...(values.quick ? bench.QUICK : bench.FULL) };
    if (values.runs !== undefined) {
      if (!/^[1-9]\d?$/.test(values.runs)) throw new UsageError(`--runs takes a whole number 1-99, got '${values.runs}'`);
      sizes.runs = Number(values.runs);
    }
    const defaultOut = values.quick ? path.join('reports', kind === 'storage' ? 'storage-benchmarks-quick.md' : 'coronafs-local-matrix-quick.md') : path.join('docs', kind === 'storage' ? 'storage-benchmarks.md' : 'coronafs-local-matrix.md');
    const file = path.resolve(PROJECT_ROOT, values.out ?? defaultOut);
    const cluster = await openCluster();
    if (fresh) cluster.preflightImage(); // before the clean: a host that cannot build keeps its state
    const lock = cluster.lock(`cluster ${name}`);
    try {
      if (fresh) await cluster.clean();
      if (fresh || cluster.runningNodes().length === 0) await startCluster(cluster, fresh);
      const refusal = cluster.attachRefusal();
      if (refusal) throw new HostError(refusal);
      const c = {
        nodes: cluster.specs.map((n) => ({ name: n.name, kind: n.kind })),
        node: (n: string) => cluster.node(n),
        ops: cluster.stack.ops,
        accel: async () => Object.fromEntries((await cluster.status()).map((r) => [r.node, r.accel])),
      };
      const command = `cluster ${[name, ...args].join(' ')}`;
      const result =
        kind === 'storage'
          ? await bench.runBench(c, { title: 'Storage benchmarks', command, sizes, file, scope: 'bench', intro: [bench.STORAGE_INTRO], sections: bench.storageSections(c, sizes), nodes: bench.benchNodes(c) })
          : await bench.runBench(c, { title: 'CoronaFS local export: cache x aio matrix', command, sizes, file, scope: 'bench', intro: [bench.MATRIX_INTRO], sections: [bench.localMatrixSection(c, sizes)], nodes: bench.benchNodesLocal(c) });
      progress('bench', `report: ${path.relative(process.cwd(), result.file) || result.file}${result.failed.length ? `; FAILED sections: ${result.failed.map((f) => f.id).join(', ')}` : ''}`);
      console.log(result.file);
      return result.failed.length ? 1 : 0;
    } finally {
      await cluster.close();
      lock.release();
    }
  };
  const usageOpts = `  --quick    tiny sizes, one run each (proves every section measures; report under reports/)
  --runs N   runs per figure (median of N, with min and max); default 3, quick 1
  --out F    where the report goes (its SVG charts go into a folder named after it, beside it)`;
  const storage = (fresh: boolean): Command => ({
    args: '[--quick] [--runs N] [--out FILE]',
    summary: fresh ? 'clean + build + start + bench-storage' : 'benchmark CoronaFS exports, materialization and LightningStor S3, write docs/storage-benchmarks.md',
    details: `${fresh ? 'Throws the runtime state away, builds (or reuses) the image, brings the profile\'s nodes up on\nfresh disks, then runs bench-storage. ' : ''}Reuses the running cluster (bringing one up if none is) and measures, each figure the median of N
runs: iperf3 baselines (worker -> controller, S3 client -> proxy); fio on a worker against its
local disk, the controller export and its node-local export; materialization latency on both
workers; a cross-worker write and read over one export (bytes verified); LightningStor S3 from
node03 (one large object, many small ones serial and parallel). Writes docs/storage-benchmarks.md
and an SVG chart per section (docs/storage-benchmarks/). A section whose server does not answer
fails alone, with its reason in the report; the command then exits 1. With --profile storage (or
ULTRACLOUD_PROFILE=storage) it runs on the five-node storage cluster (storage-node01..05, its own
state dir and forwards) while the default cluster stays up.
${usageOpts}`,
    run: (args) => run(fresh ? 'fresh-bench-storage' : 'bench-storage', 'storage', fresh, args),
  });
  return {
    'bench-storage': storage(false),
    'fresh-bench-storage': storage(true),
    'fresh-storage-bench': { ...storage(true), summary: 'the same as fresh-bench-storage (the spec spells it both ways)' },
    'bench-coronafs-local-matrix': {
      args: '[--quick] [--runs N] [--out FILE]',
      summary: 'fio against one node\'s own CoronaFS export in every cache x aio mode QEMU accepts; writes docs/coronafs-local-matrix.md',
      details: `Reuses the running cluster (bringing one up if none is). On one worker, a volume is exported on
the node's loopback by one qemu-storage-daemon per cache (none, writeback, unsafe) x aio (threads,
native, io_uring) combination; modes QEMU refuses are listed with its words. The same fio jobs as
bench-storage run against each; the table says which combination wins here. Writes
docs/coronafs-local-matrix.md with an SVG chart.
${usageOpts}`,
      run: (args) => run('bench-coronafs-local-matrix', 'matrix', false, args),
    },
  };
}

/** The served web app's process (pid) and URL, while `serve-vm-webapp` waits. */
function serveFile(cluster: Cluster<StackOps>): string {
  return path.join(cluster.cfg.stateDir, 'serve-vm-webapp.json');
}

/** A running serve of this state dir is asked to tear its web app down and end; waits until it has. */
async function replaceRunningServe(cluster: Cluster<StackOps>): Promise<void> {
  let prev: { pid: number; url: string } | undefined;
  try {
    prev = JSON.parse(fs.readFileSync(serveFile(cluster), 'utf8'));
  } catch {
    return;
  }
  if (!prev || prev.pid === process.pid || !isAlive(prev.pid)) return fs.rmSync(serveFile(cluster), { force: true });
  progress('serve', `replacing the web app served by pid ${prev.pid} (${prev.url}): asking it to tear down`);
  process.kill(prev.pid, 'SIGTERM');
  const until = Date.now() + 300_000;
  while (isAlive(prev.pid)) {
    if (Date.now() > until) throw new HostError(`the serve-vm-webapp run with pid ${prev.pid} did not end within 300 s of SIGTERM; stop it, then try again`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * serve-vm-webapp: the demo's flow with ULTRACLOUD_WEBAPP_SERVE=1 (the VM
 * stays), then the URL, then waiting, without the cluster lock (so tests
 * and `cluster stop` can run), until Ctrl-C / SIGTERM (the web app is torn
 * down) or the cluster's node04 is gone (`cluster stop`: it went with it).
 */
async function serveWebapp(fresh: boolean, argv: string[]): Promise<number> {
  requireServes('demo', `${fresh ? 'fresh-' : ''}serve-vm-webapp`);
  const { cold, rest: args } = takeCold(argv);
  const cluster = await openCluster();
  const { SERVE, HOME, hostUrl, removeWebapp } = await import('../fixtures/webapp.js');
  await replaceRunningServe(cluster);
  if (fresh) cluster.preflightImage(); // before the clean: a host that cannot build keeps its state
  const lock = cluster.lock(`cluster ${fresh ? 'fresh-' : ''}serve-vm-webapp`);
  let code: number;
  // Ctrl-C while the flow runs reaches vitest too (same process group); this process waits for it, then tears down.
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  try {
    if (fresh) await cluster.clean();
    if (fresh || cluster.runningNodes().length === 0) await startCluster(cluster, fresh, cold);
    process.on('SIGINT', onInterrupt);
    process.on('SIGTERM', onInterrupt);
    code = await runVitest(cluster, ['--project', 'demo', ...args], { ULTRACLOUD_WEBAPP_SERVE: '1' });
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onInterrupt);
    lock.release();
  }
  const url = hostUrl(SERVE, cluster.cfg.portBase);
  const env = { node: (n: string) => cluster.node(n), ops: cluster.stack.ops };
  const teardown = async (why: string) => {
    progress('serve', `${why}: tearing the web app down`);
    await removeWebapp(env, SERVE, cluster.cfg.portBase);
    await cluster.close();
    progress('serve', 'web app removed');
  };
  if (code !== 0 || interrupted) {
    if (cluster.vm(HOME).pid()) await teardown(interrupted ? 'interrupted' : 'the flow failed (see above)');
    return interrupted ? 130 : code;
  }
  fs.writeFileSync(serveFile(cluster), `${JSON.stringify({ pid: process.pid, url })}\n`);
  console.log(
    [
      '',
      `web app: ${url}`,
      `  curl ${url}state`,
      `  curl -X POST ${url}visit`,
      'Ctrl-C (or SIGTERM) tears it down; `cluster stop` stops it with the cluster.',
      '',
    ].join('\n'),
  );
  try {
    const why = await new Promise<string>((resolve) => {
      const onSignal = (sig: string) => resolve(`got ${sig}`);
      process.once('SIGINT', () => onSignal('SIGINT'));
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      const watch = setInterval(() => {
        if (!cluster.vm(HOME).pid()) {
          clearInterval(watch);
          resolve('gone');
        }
      }, 5000);
    });
    if (why === 'gone') {
      progress('serve', `${HOME} is not running (cluster stopped?): the web app went with it`);
      await cluster.close();
    } else {
      await teardown(why);
    }
  } finally {
    fs.rmSync(serveFile(cluster), { force: true });
  }
  return 0;
}

const commands: Record<string, Command> = {
  build: {
    args: '[--rebuild]',
    summary: 'build the node image, the tenant guest image and the bare-metal ISO and bundle (cached by recipe hash; --rebuild drops the cache entries)',
    details: `Builds the node image, the web app guest image (guests/webapp, which demo-vm-webapp
boots) and the bare-metal installer ISO and install bundle (baremetal/, which baremetal-iso
boots), or reuses the cached ones for their recipes, and prints their folders. Needs root, the
image build tools and a few GiB free in the image cache.

  --rebuild   drop these recipes' cached images first`,
    async run(args) {
      const { values } = opts(args, { rebuild: { type: 'boolean' } });
      const cluster = await openCluster();
      const image = await cluster.build(values.rebuild);
      console.log(image.dir);
      if (!profileServes(loadConfig().profile, 'demo')) return 0; // the storage profile boots no tenant VM and no chassis
      console.log((await cluster.buildGuest(values.rebuild)).dir);
      const cfg = loadConfig();
      const { ensureBaremetalImages } = await import('../harness/image/baremetal.js');
      console.log((await ensureBaremetalImages({ cacheDir: cfg.cacheDir, suite: cluster.stack.suite, debianSources: cfg.debianSources, rebuild: values.rebuild, verbose: cfg.verbose })).dir);
      return 0;
    },
  },

  keys: {
    args: '[--json]',
    summary: "print this checkout's image recipe hash and warm-snapshot cache key (CI cache keys); builds and boots nothing",
    details: `Prints \`image=<hash>\` (the node image recipe hash: the cache folder images/<stack>-<hash>) and
\`snapshot=<hash>\`: the warm snapshot's own key (the same function a start uses: image recipe,
QEMU version, accel, host CPU, each node's QEMU command line and ready units, stack, profile and
SNAPSHOT_FORMAT), one per line, for \`>> "$GITHUB_OUTPUT"\`; a CI cache keyed by it carries only
snapshots a start loads. The accel is the override or this host boot's cached probe; before any
probe it is \`unprobed\` (then the key is only a cache key, stable from run to run). Exit 1 when
the recipe cannot be computed here (no apt sources, or the ultracloud stack without nix or its flake).

  --json   the same as one JSON object, with the key's parts`,
    async run(args) {
      const { values } = opts(args, { json: { type: 'boolean' } });
      const cluster = await openCluster();
      cluster.preflightImage();
      const image = cluster.plannedImage();
      if (!image) throw new HostError(`cannot compute the ${cluster.stack.name} image recipe here (the reference stack reads the host's apt sources or ULTRACLOUD_DEBIAN_SOURCES)`);
      const { knownAccel } = await import('../harness/accel.js');
      const { snapshotKey } = await import('../harness/snapshot.js');
      const accel = knownAccel(cluster.cfg.accel, cluster.cfg.cacheDir);
      const parts = cluster.keyParts({ image, accel: accel?.accel ?? 'unprobed' });
      const snapshot = snapshotKey(parts);
      if (values.json) console.log(JSON.stringify({ stack: parts.stack, profile: parts.profile, image: image.hash, accel: parts.accel, snapshot, parts }, null, 2));
      else console.log(`stack=${parts.stack}\nprofile=${parts.profile}\nimage=${image.hash}\naccel=${parts.accel}\nsnapshot=${snapshot}`);
      return 0;
    },
  },

  start: {
    args: '[--fresh] [--cold] [node]',
    summary: 'bring up every node that is not running, from the warm snapshot when one fits; `start <node>`: boot one stopped node',
    details: `Without a node, when no node runs: restores the whole cluster from the warm snapshot in the
cache when one fits this checkout (image recipe, stack, profile, each node's QEMU command line,
QEMU version, accel, host CPU, harness boot code): all nodes loaded paused, released together,
clocks stepped to the host's, then the same readiness checks as a cold boot. Otherwise (a line
says why) builds the image if needed and boots cold, tier by tier, each tier waiting for SSH, its
units and the end of boot (a heartbeat line every 30 s), and captures a new snapshot right after.
With some nodes running, boots only the others. A running, booted cluster is left as it is.
With a node: boots that one stopped node of a running cluster on its own disk and waits until
it is ready.

  --fresh   new disks for every node it boots (not with a node)
  --cold    boot from the image even if a snapshot fits (also ULTRACLOUD_COLD=1)`,
    async run(args) {
      const { values, positionals } = opts(args, { fresh: { type: 'boolean' }, cold: { type: 'boolean' } }, 1);
      const cluster = await openCluster();
      if (positionals.length === 0) {
        await startCluster(cluster, values.fresh ?? false, values.cold ?? false);
        return 0;
      }
      const name = requireNode(cluster, positionals[0], 'start');
      if (values.fresh || values.cold) throw new UsageError('--fresh and --cold are about the whole cluster; they do not go with a node');
      const lock = cluster.lock(`cluster start ${name}`);
      const restore = stopOnSignal(cluster, new Set(cluster.runningNodes().map((s) => s.name)));
      try {
        const pid = cluster.vm(name).pid();
        if (pid) {
          progress('start', `${name} is already running (QEMU pid ${pid})`);
          return 0;
        }
        await cluster.bootNode(name);
      } finally {
        restore();
        await cluster.close();
        lock.release();
      }
      return 0;
    },
  },

  status: {
    args: '[--json]',
    summary: 'per node: ready/booting/no-ssh/down/io-error/paused, pid, SSH port, accel, uptime, CPU share',
    details: `One row per node. STATE is ready (QEMU running and root logs in over SSH within 30 s),
booting (QEMU running, no SSH yet, within the boot deadline), no-ssh (QEMU running, no SSH
login past that deadline), down (no QEMU while the cluster runs), io-error (QEMU paused the
guest on a disk I/O error: a full disk), paused, unresponsive (QMP does not answer), or
stopped (no cluster running). Exits 1 when a node of a running cluster is neither ready nor
booting.

  --json   the same as JSON on stdout (progress and errors stay on stderr)`,
    async run(args) {
      const { values } = opts(args, { json: { type: 'boolean' } });
      const cluster = await openCluster();
      const rows = await cluster.status();
      await cluster.close();
      const rt = cluster.runtime();
      const started = cluster.isStarted();
      if (values.json) {
        console.log(JSON.stringify({ profile: cluster.cfg.profile, stateDir: cluster.stateDir, started, runtime: rt ?? null, nodes: rows }, null, 2));
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
      const bad = started ? unhealthy(rows) : [];
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

  stop: {
    args: '[--graceful] [node]',
    summary: "stop this cluster's QEMUs, VDE switch and CPU sampler; `stop <node>`: one node",
    details: `Without a node: stops every QEMU, the VDE switch and the CPU sampler of this state dir, found
by pid file and by command line (only those programs: never a \`less vm.log\` or an ssh session),
so a runner killed mid-boot leaves nothing behind. With a node: powers that node off.

  --graceful   press the ACPI power button first and wait up to 60 s`,
    async run(args) {
      const { values, positionals } = opts(args, { graceful: { type: 'boolean' } }, 1);
      const cluster = await openCluster();
      const name = positionals.length > 0 ? requireNode(cluster, positionals[0], 'stop') : undefined;
      const graceMs = values.graceful ? 60_000 : 0;
      const lock = cluster.lock(name ? `cluster stop ${name}` : 'cluster stop');
      try {
        if (name) {
          const running = cluster.vm(name).pid() !== undefined;
          if (running) await cluster.powerOff(name, graceMs);
          progress('stop', running ? `stopped ${name}` : `${name} was not running`);
        } else {
          const stopped = await cluster.stop(graceMs);
          progress('stop', stopped.length ? `stopped ${stopped.join(' ')}` : 'nothing was running');
        }
      } finally {
        await cluster.close();
        lock.release();
      }
      return 0;
    },
  },

  clean: {
    args: '[--images]',
    summary: 'stop and remove the runtime state dir (--images: also drop the image cache and warm snapshots)',
    details: `Stops the cluster and removes its state dir (only if it carries the harness's marker), holding
the cluster lock (<state dir>.lock, beside it) throughout.

  --images   also remove the image cache and the warm snapshots`,
    async run(args) {
      const { values } = opts(args, { images: { type: 'boolean' } });
      const cluster = await openCluster();
      const lock = cluster.lock('cluster clean');
      try {
        await cluster.clean();
        progress('clean', `removed ${cluster.stateDir}`);
        if (values.images) {
          await execa('rm', ['-rf', '--one-file-system', path.join(cluster.cfg.cacheDir, 'images')]);
          progress('clean', `removed image cache ${path.join(cluster.cfg.cacheDir, 'images')}`);
          await execa('rm', ['-rf', '--one-file-system', cluster.snapshots().root]);
          progress('clean', `removed warm snapshots ${cluster.snapshots().root}`);
        }
      } finally {
        lock.release();
      }
      return 0;
    },
  },

  ...suiteCommands('smoke', 'the smoke suite', 'cluster smoke -t chainfire'),
  ...suiteCommands('matrix', 'the matrix suite of composed service scenarios', 'cluster matrix -t gateway'),
  ...suiteCommands('demo-vm-webapp', 'the tenant web app demo (tests/demo)', 'cluster demo-vm-webapp -t migrat', ['--project', 'demo']),
  'serve-vm-webapp': {
    args: '[--cold] [vitest options...]',
    summary: 'run the web app flow, leave the VM running and print its http://127.0.0.1:<port>/ URL; Ctrl-C tears it down',
    details: `Brings the cluster up if none is (as \`start\`), runs the demo's flow (tests/demo, with
ULTRACLOUD_WEBAPP_SERVE=1: its own names and addresses, no fault steps, no delete), prints the URL
forwarded from the host into the tenant network, and waits. \`curl <url>state\`, \`curl -X POST
<url>visit\`. Ctrl-C or SIGTERM removes the VM, its volumes, network and bucket; \`cluster stop\`
stops it with the cluster. A second serve asks a running one to tear down first, then replaces it.
The cluster lock is held only while the flow runs.`,
    passThrough: true,
    run: (argv) => serveWebapp(false, argv),
  },
  'fresh-serve-vm-webapp': {
    args: '[--cold] [vitest options...]',
    summary: 'clean + build + start + serve-vm-webapp',
    details: `As serve-vm-webapp, from nothing: throws the runtime state away, builds (or reuses) the
image and brings six nodes up on fresh disks first (see \`fresh-smoke\`).`,
    passThrough: true,
    run: (argv) => serveWebapp(true, argv),
  },
  ...suiteCommands('baremetal-iso', 'the bare-metal ISO bootstrap: raw-QEMU chassis phone home to deployer, install, converge (tests/baremetal; run folder reports/baremetal-iso/)', 'cluster baremetal-iso -t converge', ['--project', 'baremetal']),
  ...suiteCommands('rollout-soak', 'the deployer scheduling soak: drain and fail-stop (tests/scheduling)', 'cluster rollout-soak -t drain', ['--project', 'scheduling']),
  ...benchCommands(),
  prove: proveCommand,

  validate: {
    args: '[vitest options...]',
    summary: 'run the smoke checks against the running cluster, never booting one',
    details: `Runs \`vitest run smoke\` with the options given (e.g. \`cluster validate -t node03\`) against the
running cluster, with ULTRACLOUD_ATTACH_ONLY=1: fails if no cluster is up, never boots one.`,
    passThrough: true,
    async run(args) {
      requireServes('smoke', 'validate');
      const cluster = await openCluster();
      if (cluster.runningNodes().length === 0) throw new HostError('no cluster is running; `validate` never boots one (use `smoke` or `start`)');
      return runVitest(cluster, ['smoke', ...args], { ULTRACLOUD_ATTACH_ONLY: '1' });
    },
  },

  'rerun-failed': {
    args: '[vitest options...]',
    summary: `run again the tests that failed in the last run (${JUNIT_REPORT}; a scenario whole), never booting a cluster`,
    details: `Reads ${JUNIT_REPORT} (the JUnit report of the last \`vitest run\`, \`smoke\`, \`validate\`...),
lists what failed, and runs \`vitest run\` on those files with a --testNamePattern that admits
exactly the failed tests, with ULTRACLOUD_ATTACH_ONLY=1: cluster tests run against the running
cluster, never booting one. A file of a scenario project (${SCENARIO_PROJECTS.join(', ')}) is one
sequential scenario: any failed step re-runs the whole file, all steps in order (a step run alone
fails with "needs step X"). A describe block whose beforeAll/afterAll failed re-runs its tests; a
file that failed outside its tests (its health check) re-runs all its tests; a file that did not
load makes the failed files run whole. Nothing failed: one line, exit 0. No report: exit 1.
Options go to vitest (e.g. \`cluster rerun-failed --bail 1\`; a -t narrows the selection, a
scenario's too: a step it picks without the steps before it fails). The
run writes a new report (unless a --reporter of yours replaces the configured ones): run it again
to re-run what still fails.`,
    passThrough: true,
    async run(args) {
      let xml: string;
      try {
        xml = fs.readFileSync(path.join(PROJECT_ROOT, JUNIT_REPORT), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        throw new HostError(`no test report (${JUNIT_REPORT}): run the tests first (\`cluster smoke\`, \`cluster validate\`, \`npx vitest run\`)`);
      }
      let failures: FailedCase[];
      try {
        failures = parseFailures(xml);
      } catch (e) {
        if (e instanceof ReportError) throw new HostError(`cannot read ${JUNIT_REPORT}: ${e.message}`);
        throw e;
      }
      if (failures.length === 0) {
        progress('rerun', `nothing failed in the last run (${JUNIT_REPORT}): nothing to re-run`);
        return 0;
      }
      const cluster = await openCluster();
      if (failures.some((f) => projectOf(f.file) !== 'unit') && cluster.runningNodes().length === 0) {
        throw new HostError('no cluster is running; `rerun-failed` never boots one (use `start`)');
      }
      const plan = rerunArgs(failures, args);
      const tests = (n: number) => `${n} test${n === 1 ? '' : 's'}`;
      for (const f of failures) {
        const what =
          f.kind === 'test' ? `${f.file} > ${f.name}`
          : f.kind === 'suite' ? `${f.file} > ${f.name} (a hook of this block failed: its ${tests(f.rerun.length - 1)})`
          : f.rerun.length === 0 ? `${f.file} (failed before any test ran: the whole file)`
          : `${f.file} (failed outside its tests: all its ${tests(f.rerun.length)})`;
        progress('rerun', what);
      }
      for (const file of plan.scenarios) {
        const failed = failures.filter((f) => f.file === file).length;
        progress(
          'rerun',
          `${file}: a ${projectOf(file)} scenario, whose steps build on each other: ${failed === 1 ? 'the failure above' : `the ${failed} failures above`} re-run${failed === 1 ? 's' : ''} as the whole scenario, every step in order`,
        );
      }
      if (plan.wholeFiles.length > 0) progress('rerun', `${plan.wholeFiles.join(', ')} ran no test: running the failed files whole`);
      return runVitest(cluster, plan.args, { ULTRACLOUD_ATTACH_ONLY: '1' });
    },
  },

  help: {
    args: '[command]',
    summary: "this text, or a command's usage",
    details: 'Prints the command list, or the usage of one command.',
    async run(args) {
      const { positionals } = opts(args, {}, 1);
      if (positionals[0]) {
        console.log(commandHelp(positionals[0], lookup(positionals[0])));
        return 0;
      }
      console.log(usage());
      return 0;
    },
  },
};

function lookup(name: string): Command {
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) throw new UsageError(`unknown command '${name}' (try: cluster help)`);
  return command;
}

export function usage(): string {
  const width = Math.max(...Object.entries(commands).map(([n, c]) => `${n} ${c.args}`.length));
  return [
    'usage: cluster <command> [options]   (npx cluster ..., or npm run cluster -- ...)',
    '',
    'commands:',
    ...Object.entries(commands).map(([n, c]) => `  ${`${n} ${c.args}`.padEnd(width)}  ${c.summary}`),
    '',
    '`cluster <command> --help` shows one command.',
    '',
    ENVIRONMENT,
  ].join('\n');
}

function commandHelp(name: string, c: Command): string {
  return `usage: cluster ${name} ${c.args}\n\n${c.details}`;
}

function wantsHelp(c: Command, args: string[]): boolean {
  if (c.passThrough) return args[0] === '--help' || args[0] === '-h';
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

async function main(args: string[]): Promise<number> {
  const argv = takeProfile(args);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  const command = lookup(name);
  if (wantsHelp(command, rest)) {
    console.log(commandHelp(name, command));
    return 0;
  }
  if (name !== 'help') setQuiet(loadConfig().quiet); // every knob checked up front: a bad value is one line and exit 2
  return command.run(rest);
}

/** Where an unexpected error's details go: the state dir when it exists, else the temp dir. */
function errorLogPath(): string {
  try {
    const dir = loadConfig().stateDir;
    if (fs.existsSync(dir)) return path.join(dir, 'cli-error.log');
  } catch {
    /* no usable config: fall through */
  }
  return path.join(os.tmpdir(), 'ultracloud-cluster-cli-error.log');
}

function fail(e: unknown): never {
  if (e instanceof UsageError) {
    process.stderr.write(`cluster: ${e.message}\n`);
    process.exit(2);
  }
  if (e instanceof HostError) {
    process.stderr.write(`cluster: ${e.message}\n`);
    process.exit(1);
  }
  if (e instanceof ClusterStartError || e instanceof NodeError) {
    // Expected failures that carry their evidence (console tails, journals): the message is the report.
    process.stderr.write(`cluster: ${e.message}\n`);
    process.exit(1);
  }
  const err = e instanceof Error ? e : new Error(String(e));
  const first = (err.message || err.name).split('\n')[0];
  let where = errorLogPath();
  try {
    fs.appendFileSync(where, `[${new Date().toISOString()}] cluster ${process.argv.slice(2).join(' ')}\n${err.stack ?? err.message}\n\n`);
  } catch {
    where = '(could not write a log)';
  }
  process.stderr.write(`cluster: ${first} (details: ${where})\n`);
  process.exit(1);
}

main(process.argv.slice(2)).then((code) => process.exit(code), fail);
