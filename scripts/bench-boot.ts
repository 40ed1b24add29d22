/**
 * Boot benchmark (not a test). In one run: six plain QEMUs of the same
 * image started at once until each answers SSH; the harness's cold boot
 * (tiers, readiness) and the warm snapshot it captures right after; the
 * idle CPU of that cluster; a command's round trip through the SSH pool vs
 * spawning `ssh` per command (tinybench); then the cluster stopped and
 * restored from the snapshot until ready. Writes docs/boot-benchmark.md.
 *
 *   npm run bench:boot            (needs no running cluster; stops its own)
 *   npm run bench:boot -- --no-plain --keep
 *                                 (no plain boot; leave the restored cluster up)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, execaSync } from 'execa';
import { Bench } from 'tinybench';
import type { Cluster, ClusterRuntime } from '../harness/cluster.js';
import { openCluster } from '../stacks/index.js';
import { PROJECT_ROOT } from '../harness/config.js';
import { progress } from '../harness/log.js';
import { procStat, sleep, ticksToSeconds } from '../harness/proc.js';
import { QemuVm } from '../harness/vm/qemu.js';
import { hostPort } from '../harness/topology.js';
import { VdeSwitch } from '../harness/vm/vde.js';

const IDLE_SETTLE_S = 30;
const IDLE_WINDOW_S = 60;
const PLAIN_DEADLINE_S = 900;

async function idleShares(cluster: Cluster): Promise<Record<string, number>> {
  await sleep(IDLE_SETTLE_S * 1000);
  const pids = Object.fromEntries(cluster.specs.map((s) => [s.name, cluster.vm(s.name).pid()!]));
  const before = Object.fromEntries(Object.entries(pids).map(([n, p]) => [n, procStat(p)!.cpuTicks]));
  const t0 = Date.now();
  await sleep(IDLE_WINDOW_S * 1000);
  const dt = (Date.now() - t0) / 1000;
  return Object.fromEntries(Object.entries(pids).map(([n, p]) => [n, ticksToSeconds(procStat(p)!.cpuTicks - before[n]) / dt]));
}

async function sshAnswers(port: number, key: string, command = 'true'): Promise<boolean> {
  const r = await execa(
    'ssh',
    ['-i', key, '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', 'root@127.0.0.1', command],
    { reject: false, timeout: 15_000 },
  );
  return r.exitCode === 0;
}

/** Six QEMUs of the same image started at once, no tiers, no readiness checks: time to SSH. */
async function plainBoot(cluster: Cluster, rt: ClusterRuntime): Promise<Record<string, number>> {
  const image = rt.image;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-plain-'));
  const vde = new VdeSwitch(dir);
  await vde.start();
  const base = cluster.cfg.portBase + 1000;
  const vms = cluster.specs.map((s) => ({ s, vm: new QemuVm(s.name, path.join(dir, s.name)) }));
  const done: Record<string, number> = {};
  try {
    await Promise.all(vms.map(({ vm }) => vm.prepareDisk(image.disk, true)));
    const t0 = Date.now();
    await Promise.all(
      vms.map(({ s, vm }) =>
        vm.start({
          accel: rt.accel,
          memoryMiB: s.memoryMiB,
          vcpus: s.vcpus,
          kernel: image.kernel,
          initrd: image.initrd,
          append: cluster.kernelCmdline(s),
          baseDisk: image.disk,
          vdeSocket: vde.socket,
          clusterMac: s.clusterMac,
          mgmtMac: s.mgmtMac,
          hostForwards: s.forwards.map((f) => ({ hostPort: hostPort(base, f), guestPort: f.guestPort })),
        }),
      ),
    );
    while (Object.keys(done).length < vms.length && Date.now() - t0 < PLAIN_DEADLINE_S * 1000) {
      await Promise.all(
        vms
          .filter(({ s }) => done[s.name] === undefined)
          .map(async ({ s }) => {
            if (await sshAnswers(hostPort(base, s.forwards[0]), cluster.keyPath)) {
              done[s.name] = (Date.now() - t0) / 1000;
              progress('plain', `${s.name} SSH after ${done[s.name].toFixed(1)}s`);
            }
          }),
      );
      await sleep(1000);
    }
  } finally {
    await Promise.all(vms.map(({ vm }) => vm.stop(0)));
    await vde.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return done;
}

function machine(): string {
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const qemu = fs.existsSync('/usr/bin/qemu-system-x86_64')
    ? execaSync('qemu-system-x86_64', ['--version']).stdout.split('\n')[0]
    : 'qemu ?';
  return `${os.cpus().length} x ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}, ${qemu}, Node ${process.version}`;
}

/** What the SSH figures time on node01: the least a command costs, and one that forks a real program. */
const SSH_COMMANDS = ['true', 'systemctl is-active ssh'] as const;

interface RoundTrip {
  command: string;
  pooledMs: number;
  spawnedMs: number;
}

/** Median round trips on node01: through the harness's pool (its long-lived shells), and spawning ssh(1) each time. */
async function sshRoundTrips(cluster: Cluster): Promise<{ trips: RoundTrip[]; samples: number }> {
  const port = cluster.sshPort(cluster.spec('node01'));
  const bench = new Bench({ iterations: 20, warmupIterations: 2, time: 0 });
  for (const command of SSH_COMMANDS) {
    await cluster.ssh.exec('node01', command);
    bench
      .add(`pooled ${command}`, async () => {
        const r = await cluster.ssh.exec('node01', command);
        if (r.code !== 0) throw new Error(`pooled '${command}' exited ${r.code}`);
      })
      .add(`spawned ${command}`, async () => {
        if (!(await sshAnswers(port, cluster.keyPath, command))) throw new Error(`ssh(1) '${command}' on node01 failed`);
      });
  }
  await bench.run();
  const median = (name: string) => {
    const t = bench.getTask(name)?.result;
    if (!t || !('latency' in t) || !t.latency) throw new Error(`tinybench produced no result for ${name}`);
    return t.latency.p50 as number;
  };
  return { trips: SSH_COMMANDS.map((command) => ({ command, pooledMs: median(`pooled ${command}`), spawnedMs: median(`spawned ${command}`) })), samples: 20 };
}

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== '--no-plain' && a !== '--keep');
if (unknown.length > 0) {
  console.error(`bench-boot: unknown option ${unknown[0]} (options: --no-plain, --keep)`);
  process.exit(2);
}
const runPlain = !args.includes('--no-plain');
const keep = args.includes('--keep');

const cluster = openCluster();
if (cluster.runningNodes().length > 0) {
  console.error('bench-boot: a cluster is running; stop it first (npm run cluster -- stop)');
  process.exit(2);
}
const lock = cluster.lock('bench-boot');
try {
  let plain: Record<string, number> = {};
  progress('bench', 'harness: cold start (fresh disks, snapshot ignored) until all six nodes are ready, then the capture');
  const t0 = Date.now();
  await cluster.start({ fresh: true, cold: true });
  const coldTotalS = (Date.now() - t0) / 1000;
  const rt = cluster.runtime()!;
  const coldS = rt.readyS ?? coldTotalS;
  const found = cluster.snapshots().find(cluster.snapshotParts(rt));
  const snap = 'meta' in found ? found.meta : undefined;
  if (!snap) progress('bench', `no snapshot after the cold boot: ${'reason' in found ? found.reason : ''}`);
  progress('bench', `measuring idle CPU (${IDLE_SETTLE_S}s settle + ${IDLE_WINDOW_S}s window)`);
  const idle = await idleShares(cluster);
  progress('bench', 'SSH round trips: pooled vs spawned');
  const ssh = await sshRoundTrips(cluster);
  await cluster.stop();
  let restoreS: number | undefined;
  if (snap) {
    progress('bench', 'restore: start from the warm snapshot until all six nodes are ready');
    await cluster.start({ fresh: true });
    const rt2 = cluster.runtime()!;
    if (rt2.boot === 'restored') restoreS = rt2.readyS;
    else progress('bench', 'the second start did not restore (see above)');
    if (!keep) await cluster.stop();
  }
  if (runPlain) {
    if (keep) await cluster.stop();
    progress('bench', 'plain: six QEMUs of the same image at once, until each answers SSH');
    plain = await plainBoot(cluster, rt);
    if (keep) await cluster.start({ fresh: true });
  }
  const plainAll = Object.keys(plain).length === cluster.specs.length ? Math.max(...Object.values(plain)) : undefined;
  const total = Object.values(idle).reduce((a, b) => a + b, 0);
  const s0 = (x: number | undefined) => (x === undefined ? 'not measured' : `${x.toFixed(x < 20 ? 1 : 0)} s`);

  const report = [
    '# Boot benchmark',
    '',
    `Produced by \`npm run bench:boot\` on ${new Date().toISOString()}.`,
    '',
    `- machine: ${machine()}`,
    `- accel: ${rt.accel} (${rt.accelReason})`,
    `- image: ${rt.image.stack}-${rt.image.hash}`,
    '',
    '| step | figure |',
    '|---|---|',
    `| plain: six QEMUs of the image at once, until each answers SSH | ${runPlain ? (plainAll === undefined ? `not all within ${PLAIN_DEADLINE_S} s` : s0(plainAll)) : 'not measured (--no-plain)'} |`,
    `| cold harness boot: tiers, SSH, every role unit, end of boot | ${s0(coldS)}${plainAll ? ` (${(coldS / plainAll).toFixed(2)} x plain)` : ''} |`,
    `| warm snapshot capture: all paused, state and disks written, resumed | ${snap ? `${snap.captureS.toFixed(1)} s (${(Object.values(snap.nodes).reduce((a, n) => a + n.stateBytes + n.diskBytes, 0) / 2 ** 30).toFixed(2)} GiB)` : 'none'} |`,
    `| cold start in all (boot + capture + settling) | ${s0(coldTotalS)} |`,
    `| restore to ready: loaded, released, clocks stepped, same readiness as cold | ${s0(restoreS)} |`,
    ...ssh.trips.flatMap((t) => [
      `| \`${t.command}\` round trip, SSH pool (median of ${ssh.samples}) | ${t.pooledMs.toFixed(1)} ms |`,
      `| \`${t.command}\` round trip, spawning ssh(1) (median of ${ssh.samples}) | ${t.spawnedMs.toFixed(1)} ms (${(t.spawnedMs / t.pooledMs).toFixed(1)} x pooled) |`,
    ]),
    `| idle CPU of the six QEMUs, share of one host core | ${(total * 100).toFixed(1)} % |`,
    ...(runPlain && plainAll ? ['', `Plain boot per node: ${Object.entries(plain).map(([n, x]) => `${n} ${x.toFixed(0)} s`).join(', ')}.`] : []),
    '',
    `Idle QEMU CPU after the cold boot and capture (${IDLE_WINDOW_S} s window, ${IDLE_SETTLE_S} s after ready), share of one host core:`,
    '',
    '| node | idle CPU |',
    '|---|---|',
    ...Object.entries(idle).map(([n, v]) => `| ${n} | ${(v * 100).toFixed(1)} % |`),
    `| all six | ${(total * 100).toFixed(1)} % |`,
    '',
  ].join('\n');
  fs.mkdirSync(path.join(PROJECT_ROOT, 'docs'), { recursive: true });
  fs.writeFileSync(path.join(PROJECT_ROOT, 'docs', 'boot-benchmark.md'), report);
  console.log(report);
} finally {
  if (!keep) await cluster.stop();
  lock.release();
}
