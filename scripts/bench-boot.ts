/**
 * Boot benchmark (not a test): in one run, the time from `start` to all six
 * nodes ready through the harness, the idle CPU of that cluster, and the
 * time six plain QEMU processes of the same image, started at once without
 * the harness, take until each answers SSH. Writes docs/boot-benchmark.md.
 *
 *   npm run bench:boot            (needs no running cluster; stops its own)
 *   npm run bench:boot -- --no-plain --keep
 *                                 (harness boot and idle only; leave the cluster up)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa, execaSync } from 'execa';
import { Cluster } from '../harness/cluster.js';
import { openCluster } from '../stacks/index.js';
import { PROJECT_ROOT } from '../harness/config.js';
import { progress } from '../harness/log.js';
import { procStat, sleep, ticksToSeconds } from '../harness/proc.js';
import { QemuVm } from '../harness/qemu.js';
import { hostPort } from '../harness/topology.js';
import { VdeSwitch } from '../harness/vde.js';

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

async function sshAnswers(port: number, key: string): Promise<boolean> {
  const r = await execa(
    'ssh',
    ['-i', key, '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', '-o', 'LogLevel=ERROR', 'root@127.0.0.1', 'true'],
    { reject: false, timeout: 15_000 },
  );
  return r.exitCode === 0;
}

/** Six QEMUs of the same image started at once, no tiers, no readiness checks: time to SSH. */
async function plainBoot(cluster: Cluster): Promise<Record<string, number>> {
  const image = cluster.runtime()!.image;
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
          accel: cluster.runtime()!.accel,
          memoryMiB: s.memoryMiB,
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
  progress('bench', 'harness: start (fresh disks) until all six nodes are ready');
  const t0 = Date.now();
  await cluster.start({ fresh: true });
  const harnessS = (Date.now() - t0) / 1000;
  progress('bench', `harness ready in ${harnessS.toFixed(1)}s; measuring idle CPU (${IDLE_SETTLE_S}s settle + ${IDLE_WINDOW_S}s window)`);
  const idle = await idleShares(cluster);
  const rt = cluster.runtime()!;
  let plain: Record<string, number> = {};
  if (runPlain) {
    await cluster.stop();
    progress('bench', 'plain: six QEMUs of the same image at once, until each answers SSH');
    plain = await plainBoot(cluster);
  }
  const plainAll = Math.max(...Object.values(plain));
  const total = Object.values(idle).reduce((a, b) => a + b, 0);

  const report = [
    '# Boot benchmark',
    '',
    `Produced by \`npm run bench:boot\` on ${new Date().toISOString()}.`,
    '',
    `- machine: ${machine()}`,
    `- accel: ${rt.accel} (${rt.accelReason})`,
    `- image: ${rt.image.stack}-${rt.image.hash}`,
    '',
    '| boot | six nodes ready |',
    '|---|---|',
    `| harness \`start\` (tiers 01-03, 04-05, 06; each waits for SSH, units, end of boot) | ${harnessS.toFixed(0)} s |`,
    ...(runPlain
      ? [
          `| plain: six QEMUs at once, until each answers SSH | ${Object.keys(plain).length === 6 ? `${plainAll.toFixed(0)} s` : `not all within ${PLAIN_DEADLINE_S} s`} |`,
          '',
          `Plain boot per node: ${Object.entries(plain).map(([n, s]) => `${n} ${s.toFixed(0)} s`).join(', ')}.`,
        ]
      : ['', 'Plain boot: not measured in this run (--no-plain).']),
    '',
    `Idle QEMU CPU after boot (${IDLE_WINDOW_S} s window, ${IDLE_SETTLE_S} s after ready), share of one host core:`,
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
