/**
 * Start (as planStart decides), stop and clean the cluster, and power one
 * node off and boot it again.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { resolveAccel } from '../vm/accel.js';
import { startSampler, stopSampler } from '../cpu.js';
import { HostError, NodeError } from '../errors.js';
import type { BuiltImage } from '../image/built.js';
import { BOOT_BYTES_PER_NODE, requireFreeSpace, requirePortsFree, requireTools } from '../host.js';
import { elapsed, progress } from '../log.js';
import { findClusterProcesses, isAlive, terminate } from '../proc.js';
import type { Accel } from '../vm/qemu.js';
import { type NodeSpec, hostPort, tiers } from '../topology.js';
import type { ClusterCore } from './core.js';
import { build, preflightImage } from './images.js';
import { type BootPlan, type StartOptions, leftByDeadRunner, planStart } from './plan-start.js';
import { ClusterStartError, waitTier } from './readiness.js';
import { type ClusterRuntime, STATE_MARKER, ensureKey, ensureStateDir, setBootState, writeRuntime } from './runtime.js';
import { type BootKind, bootEstimate, lastBootTime, recordBootTime } from './boot-times.js';
import { baseDisk, captureSnapshot, tryRestore } from './snapshots.js';
import { expectations } from './status.js';

/**
 * Builds (if needed) and boots every node that is not running, tier by
 * tier. Running nodes are left alone, so `start` also resumes a partial
 * cluster. What it does is planStart's decision (plan-start.ts).
 */
export async function start(c: ClusterCore, opts: StartOptions = {}): Promise<void> {
  const t0 = Date.now();
  const options = { ...opts, nodes: c.specs.map((s) => s.name), envCold: c.cfg.cold, self: process.pid, alive: isAlive, exists: fs.existsSync };
  const running = () => c.runningNodes().map((s) => s.name);
  const before = c.runtime();
  const paused = leftByDeadRunner(before, process.pid, isAlive) !== undefined ? await pausedNodes(c) : [];
  let plan = planStart(before, running(), { ...options, paused });
  while (plan.kind === 'stop-first') {
    // Paused by a runner that died mid-capture (or mid-restore): nothing to finish, so start over.
    progress('boot', `pid ${plan.deadPid} died and left ${plan.paused.join(' ')} paused (a snapshot capture or restore cut short): stopping the cluster and starting it whole`);
    await stop(c);
    plan = planStart(c.runtime(), running(), options);
  }
  // A running, fully booted cluster is left exactly as it is (cluster.json included).
  if (plan.kind === 'nothing') {
    progress('boot', `all ${c.specs.length} nodes already running (booted ${plan.startedAt}); nothing to do`);
    return;
  }
  requireTools(['qemu-system-x86_64', 'qemu-img', 'vde_switch', 'ssh-keygen']);
  // An image backend that cannot build here (no nix, no UltraCloud flake) stops before the state dir is touched.
  if (plan.image.from === 'build') preflightImage(c);
  ensureStateDir(c.stateDir);
  const toStart = c.specs.filter((s) => plan.toStart.includes(s.name));
  await requirePortsFree(
    toStart.flatMap((s) => s.forwards.map((f) => ({ port: hostPort(c.cfg.portBase, f), what: `${s.name} ${f.name}` }))),
  );
  requireFreeSpace(c.stateDir, toStart.length * BOOT_BYTES_PER_NODE, `booting ${toStart.length} node(s)`, 'free space there, or set PHOTON_VM_DIR elsewhere');
  let image: BuiltImage;
  let verdict: { accel: Accel; reason: string };
  if (plan.image.from === 'previous') {
    image = plan.image.image;
    verdict = { accel: plan.image.accel, reason: plan.image.accelReason };
    progress('boot', `resuming the cluster booted ${plan.image.startedAt} on image ${image.hash} (running: ${plan.running.join(' ')})`);
  } else {
    image = await build(c, plan.image.rebuild);
    verdict = await resolveAccel(c.cfg.accel, c.cfg.cacheDir, image);
  }
  progress('accel', `${verdict.accel} (${verdict.reason})`);
  // Boot figures leave the image build out.
  const bootT0 = Date.now();
  await ensureKey(c.secretsDir, c.stack.secrets, c.keyPath, c.cfg.profile);
  await c.vde.start();
  const now = new Date().toISOString();
  const runtime: ClusterRuntime = {
    profile: c.cfg.profile,
    stack: c.stack.name,
    image,
    accel: verdict.accel,
    accelReason: verdict.reason,
    portBase: c.cfg.portBase,
    startedAt: plan.image.from === 'previous' ? plan.image.startedAt : now,
    recipeHash: image.hash,
    pid: process.pid,
    state: 'booting',
    updatedAt: now,
  };
  runtime.expect = expectations(c, runtime);
  writeRuntime(c.runtimeFile, runtime);

  // A whole cluster to bring up: from the warm snapshot when one fits, else cold (and captured once ready).
  if (plan.kind === 'whole') {
    if (!plan.forcedCold) progress('boot', `from the warm snapshot if one fits: ${lastBoot(c, 'restore')}`);
    const why = plan.forcedCold ?? (await tryRestore(c, runtime, bootT0));
    if (why === undefined) {
      recordBoot(c, 'restore', bootT0);
      return;
    }
    progress('snapshot', `cold boot: ${why}`);
    progress('boot', `cold boot of ${c.specs.length} nodes: ${lastBoot(c, 'cold')}`);
    runtime.boot = 'cold';
    delete runtime.snapshot;
    writeRuntime(c.runtimeFile, runtime);
  }
  const created = await bootTiers(c, plan, toStart, runtime);
  runtime.readyS = (Date.now() - bootT0) / 1000;
  progress('boot', `all ${c.specs.length} nodes ready in ${elapsed(bootT0)}${bootT0 - t0 > 5000 ? ` (${elapsed(t0)} with the image step)` : ''}`);
  // Only a cluster booted whole on new disks, before anything touched it, is worth keeping (and the
  // next cold boot's estimate: a partial start or a power cycle is not). Still 'booting' meanwhile:
  // a runner killed mid-capture leaves paused nodes that the next start replaces.
  if (plan.kind === 'whole' && created.size === c.specs.length) {
    recordBoot(c, 'cold', bootT0);
    try {
      await captureSnapshot(c, runtime);
    } catch (e) {
      progress('snapshot', `not captured: ${(e as Error).message.split('\n')[0]}`);
      const down = c.specs.filter((s) => c.vm(s.name).pid() === undefined);
      if (down.length > 0) {
        setBootState(c.runtimeFile, runtime, 'failed', down.map((s) => s.name));
        throw e;
      }
    }
  }
  setBootState(c.runtimeFile, runtime, 'ready');
}

/** The last whole-cluster boot of `kind` on this host, as the progress line's estimate. */
function lastBoot(c: ClusterCore, kind: BootKind): string {
  return bootEstimate(kind, lastBootTime(c.cfg.cacheDir, kind, c.stack.name, c.cfg.profile));
}

/** This whole-cluster boot's time (since `t0`, the image step left out), for the next start's estimate. */
function recordBoot(c: ClusterCore, kind: BootKind, t0: number): void {
  recordBootTime(c.cfg.cacheDir, { kind, stack: c.stack.name, profile: c.cfg.profile, seconds: (Date.now() - t0) / 1000, at: new Date().toISOString() });
}

/** The running nodes whose QEMU is paused (QMP), by name. */
async function pausedNodes(c: ClusterCore): Promise<string[]> {
  const states = await Promise.all(c.runningNodes().map(async (s) => ((await c.vm(s.name).state()) === 'paused' ? s.name : undefined)));
  return states.filter((n): n is string => n !== undefined);
}

/**
 * Tier by tier: starts the plan's nodes of the tier and waits for them (and
 * for the running ones when the plan rechecks them); a failed tier skips the
 * rest. Returns the nodes that got a new disk; throws ClusterStartError
 * (cluster.json then says 'failed') when a node did not come up.
 */
async function bootTiers(c: ClusterCore, plan: BootPlan, toStart: NodeSpec[], runtime: ClusterRuntime): Promise<Set<string>> {
  const created = new Set<string>();
  const failures = new Map<string, Error>();
  try {
    for (const tier of tiers(c.specs)) {
      if (failures.size > 0) {
        for (const s of tier) failures.set(s.name, new NodeError(s.name, `not started: an earlier tier failed (${[...failures.keys()].join(', ')})`));
        continue;
      }
      const pending = tier.filter((s) => toStart.includes(s));
      const waiting = tier.filter((s) => toStart.includes(s) || plan.recheck);
      if (waiting.length === 0) continue;
      progress(
        'boot',
        pending.length > 0
          ? `tier ${tier[0].tier}: starting ${pending.map((s) => s.name).join(' ')}`
          : `tier ${tier[0].tier}: waiting for ${waiting.map((s) => s.name).join(' ')} (already running)`,
      );
      const tierStart = Date.now();
      await Promise.all(
        pending.map(async (s) => {
          const vm = c.vm(s.name);
          const disk = await vm.prepareDisk(baseDisk(s, runtime), plan.freshDisks);
          if (disk === 'created') created.add(s.name);
          const pid = await vm.start(c.bootSpec(s, runtime));
          progress(s.name, `QEMU pid ${pid} (${disk} disk), SSH on 127.0.0.1:${c.sshPort(s)}, log ${vm.logFile}`);
        }),
      );
      startSampler(c.stateDir);
      const results = await waitTier(c, waiting, tierStart);
      results.forEach((r, i) => {
        if (r.status === 'rejected') failures.set(waiting[i].name, r.reason as Error);
      });
    }
  } catch (e) {
    setBootState(c.runtimeFile, runtime, 'failed', [...failures.keys()]);
    throw e;
  }
  if (failures.size > 0) {
    setBootState(c.runtimeFile, runtime, 'failed', [...failures.keys()]);
    throw new ClusterStartError(failures);
  }
  return created;
}

/**
 * Powers one node off through QEMU, as pulling its plug would (`graceMs`
 * 0), or by the ACPI power button first.
 */
export async function powerOff(c: ClusterCore, name: string, graceMs = 0): Promise<void> {
  c.ssh.drop(name);
  await c.vm(name).stop(graceMs);
}

/** Boots one stopped node of a started cluster again, on its own disk, and waits until it is ready. */
export async function bootNode(c: ClusterCore, name: string): Promise<void> {
  const rt = c.runtime();
  if (!rt) throw new HostError(`no cluster was started in ${c.stateDir}`);
  const s = c.spec(name);
  const vm = c.vm(name);
  if (vm.pid()) throw new HostError(`${name} is already running (QEMU pid ${vm.pid()})`);
  if (!c.vde.pid()) throw new HostError(`the cluster in ${c.stateDir} is not running (no VDE switch): boot it with \`cluster start\``);
  await requirePortsFree(s.forwards.map((f) => ({ port: hostPort(c.cfg.portBase, f), what: `${s.name} ${f.name}` })));
  requireFreeSpace(c.stateDir, BOOT_BYTES_PER_NODE, `booting ${name}`, 'free space there, or set PHOTON_VM_DIR elsewhere');
  await vm.prepareDisk(baseDisk(s, rt), false);
  const started = Date.now();
  const pid = await vm.start(c.bootSpec(s, rt));
  progress(s.name, `QEMU pid ${pid} (booted again)`);
  const [r] = await waitTier(c, [s], started);
  if (r.status === 'rejected') throw r.reason;
}

/**
 * Stops every QEMU and the switch of this state dir, found by pid file
 * and by command line, so runs killed mid-boot leave nothing behind.
 */
export async function stop(c: ClusterCore, graceMs = 0): Promise<string[]> {
  await c.close();
  const stopped: string[] = [];
  await Promise.all(
    c.specs.map(async (s) => {
      const vm = c.vm(s.name);
      if (vm.pid()) {
        await vm.stop(graceMs);
        stopped.push(s.name);
      }
    }),
  );
  await c.vde.stop();
  await stopSampler(c.stateDir);
  // Only our own kinds (QEMU, VDE switch, sampler): never a `less vm.log` or an `ssh -i <state>/ssh/...`.
  const leftovers = fs.existsSync(c.stateDir) ? findClusterProcesses(c.stateDir) : [];
  if (leftovers.length > 0) {
    progress('stop', `stopping ${leftovers.length} leftover process(es): ${leftovers.map((p) => `${p.pid} ${p.kind}`).join(', ')}`);
    await terminate(leftovers.map((p) => p.pid));
  }
  return stopped.sort();
}

/** Stops the cluster and removes the runtime state dir, and nothing else. */
export async function clean(c: ClusterCore): Promise<void> {
  await stop(c);
  if (!fs.existsSync(c.stateDir)) return;
  if (!fs.existsSync(path.join(c.stateDir, STATE_MARKER))) {
    throw new HostError(`${c.stateDir} does not look like a cluster state dir (no ${STATE_MARKER}); not removing it`);
  }
  await execa('rm', ['-rf', '--one-file-system', c.stateDir]);
}
