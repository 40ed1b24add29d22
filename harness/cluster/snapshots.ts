/**
 * The warm snapshot of a whole cluster (harness/snapshot.ts keeps it):
 * captured once a cold boot on new disks is ready, restored instead of the
 * next cold boot when its key fits. These functions are the capture and
 * restore code SNAPSHOT_CODE names: a change to them is a SNAPSHOT_FORMAT bump.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { startSampler } from '../cpu.js';
import { HostError, NodeError, WaitTimeoutError } from '../errors.js';
import { formatBytes, requireFreeSpace } from '../host.js';
import { elapsed, progress } from '../log.js';
import { procStat, ticksToSeconds } from '../proc.js';
import { type SnapshotMeta, snapshotKey } from '../snapshot.js';
import { rolesFor } from '../stack.js';
import type { NodeSpec } from '../topology.js';
import { waitFor } from '../remote/wait.js';
import { nodeImage } from './boot-spec.js';
import type { ClusterCore } from './core.js';
import { ClusterStartError, waitReady } from './readiness.js';
import { type ClusterRuntime, setBootState, writeRuntime } from './runtime.js';

/** Before a capture: every node under this share of a host core for this long (at most QUIET_MAX_S). */
const QUIET_SHARE = 0.3;
const QUIET_WINDOW_S = 3;
const QUIET_MAX_S = 180;

/** How long a restored cluster may take to load, resume and be ready before the restore counts as failed. */
const RESTORE_DEADLINE_MS = 180_000;

/** The disk a node's overlay sits on: the snapshot's disk of that node when restored from one, else the image. */
export function baseDisk(s: NodeSpec, rt: ClusterRuntime): string {
  if (rt.snapshot) {
    const disk = path.join(rt.snapshot.dir, `${s.name}.qcow2`);
    if (fs.existsSync(disk)) return disk;
  }
  return nodeImage(s, rt).disk;
}

/**
 * Restores the whole cluster from the snapshot that fits `rt`: every node
 * loaded paused, all released in one burst, clocks stepped to the host's,
 * then the same readiness as a cold boot. Returns why it did not (one
 * line), with nothing of the attempt left running; undefined when ready.
 */
export async function tryRestore(c: ClusterCore, rt: ClusterRuntime, t0: number): Promise<string | undefined> {
  const store = c.snapshots();
  const found = store.find(c.snapshotParts(rt));
  if (!('meta' in found)) return found.reason;
  const { meta, dir } = found;
  progress('snapshot', `restoring ${meta.key} (captured ${meta.createdAt})`);
  for (const f of meta.files) {
    const to = path.join(c.stateDir, f);
    fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(dir, f), `${to}.tmp`);
    fs.chmodSync(`${to}.tmp`, 0o600);
    fs.renameSync(`${to}.tmp`, to);
  }
  rt.boot = 'restored';
  rt.snapshot = { key: meta.key, dir, createdAt: meta.createdAt };
  writeRuntime(c.runtimeFile, rt);
  try {
    await Promise.all(
      c.specs.map(async (s) => {
        const vm = c.vm(s.name);
        await vm.prepareDisk(baseDisk(s, rt), true);
        await vm.start({ ...c.bootSpec(s, rt), incoming: true });
        await vm.loadState(path.join(dir, meta.nodes[s.name].state));
      }),
    );
    progress('snapshot', `${c.specs.length} nodes loaded in ${elapsed(t0)}; releasing them together`);
    await Promise.all(c.specs.map((s) => c.vm(s.name).resume()));
    startSampler(c.stateDir);
    await afterResume(c, t0, RESTORE_DEADLINE_MS);
  } catch (e) {
    const reason = (e instanceof ClusterStartError ? [...e.failures.values()][0] : (e as Error)).message.split('\n')[0];
    await c.close();
    await Promise.all(c.specs.map((s) => c.vm(s.name).stop(0)));
    // A snapshot that loads but does not come up is no use to the next start either.
    store.remove(dir);
    return `restoring snapshot ${meta.key} failed (${reason}); it was removed`;
  }
  rt.readyS = (Date.now() - t0) / 1000;
  setBootState(c.runtimeFile, rt, 'ready');
  progress('boot', `all ${c.specs.length} nodes ready from snapshot ${meta.key} in ${elapsed(t0)}`);
  return undefined;
}

/**
 * Captures the whole cluster at one point: all paused, each node's state
 * and disk written, all resumed together, then settled and ready again.
 * The snapshot is only found once complete.
 */
export async function captureSnapshot(c: ClusterCore, rt: ClusterRuntime): Promise<SnapshotMeta> {
  // A restored node's disk is an overlay on the old snapshot's disk: copied, it would hang on a file the new capture deletes.
  if (rt.snapshot) throw new HostError(`a snapshot is captured from a cluster booted cold, not from one restored from snapshot ${rt.snapshot.key}`);
  const parts = c.snapshotParts(rt);
  const key = snapshotKey(parts);
  const store = c.snapshots();
  fs.mkdirSync(store.root, { recursive: true });
  // At most every node's whole RAM (zero pages cost nothing) plus its overlay.
  requireFreeSpace(store.root, c.specs.reduce((a, s) => a + s.memoryMiB * 2 ** 20, 0) + 2 ** 30, 'capturing a warm snapshot', 'free space there or set ULTRACLOUD_IMAGE_CACHE elsewhere; the cluster runs on without one');
  await waitQuiet(c);
  const tmp = store.begin(key);
  // Pooled connections would be dead in a restored guest; the guest should not remember them either.
  await c.close();
  const t0 = Date.now();
  const nodes: SnapshotMeta['nodes'] = {};
  const paused = await Promise.allSettled(c.specs.map((s) => c.vm(s.name).pause()));
  try {
    const bad = paused.findIndex((r) => r.status === 'rejected');
    if (bad >= 0) throw new HostError(`${c.specs[bad].name}: could not pause: ${(paused[bad] as PromiseRejectedResult).reason}`);
    await Promise.all(
      c.specs.map(async (s) => {
        const vm = c.vm(s.name);
        const state = `${s.name}.state`;
        const disk = `${s.name}.qcow2`;
        await vm.saveState(path.join(tmp, state));
        // Flushed to the file when the save completed; copied while the guest cannot write.
        await execa('cp', ['--sparse=always', vm.disk, path.join(tmp, disk)]);
        nodes[s.name] = { state, stateBytes: fs.statSync(path.join(tmp, state)).size, disk, diskBytes: fs.statSync(path.join(tmp, disk)).size };
      }),
    );
  } finally {
    await Promise.allSettled(c.specs.map((s) => c.vm(s.name).resume()));
  }
  const captureS = (Date.now() - t0) / 1000;
  const files = [path.relative(c.stateDir, c.keyPath), path.relative(c.stateDir, `${c.keyPath}.pub`), ...c.stack.secrets.map((x) => path.join('secrets', x.name))];
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(tmp, f)), { recursive: true, mode: 0o700 });
    fs.copyFileSync(path.join(c.stateDir, f), path.join(tmp, f));
  }
  progress('snapshot', `captured ${key} in ${captureS.toFixed(1)}s (${formatBytes(Object.values(nodes).reduce((a, n) => a + n.stateBytes + n.diskBytes, 0))}); settling the resumed nodes`);
  await afterResume(c, Date.now(), RESTORE_DEADLINE_MS);
  const meta: SnapshotMeta = { key, parts, createdAt: new Date().toISOString(), captureS, baseDisk: rt.image.disk, nodes, files };
  store.commit(tmp, meta);
  progress('snapshot', `kept in ${store.dirFor(key)}`);
  return meta;
}

/**
 * Waits until every QEMU has used less than QUIET_SHARE of a host core over
 * QUIET_WINDOW_S (at most QUIET_MAX_S): servers still starting up when the
 * units are active (swift's Python workers take a minute or two under TCG)
 * would otherwise be caught mid-work, and every restore would redo it, all
 * nodes fighting for the host's cores.
 */
async function waitQuiet(c: ClusterCore): Promise<void> {
  const t0 = Date.now();
  const ticks = () => Object.fromEntries(c.specs.map((s) => [s.name, { t: Date.now(), cpu: procStat(c.vm(s.name).pid() ?? -1)?.cpuTicks ?? 0 }]));
  let before = ticks();
  try {
    await waitFor({ node: 'cluster', what: 'a quiet cluster', timeoutMs: QUIET_MAX_S * 1000, intervalMs: QUIET_WINDOW_S * 1000, quiet: true }, async () => {
      const now = ticks();
      const busy = c.specs.filter((s) => ticksToSeconds(now[s.name].cpu - before[s.name].cpu) / ((now[s.name].t - before[s.name].t) / 1000) >= QUIET_SHARE);
      before = now;
      // The first look has no window behind it yet.
      return Date.now() - t0 >= QUIET_WINDOW_S * 1000 && busy.length === 0 ? { ok: true } : { ok: false, seen: `busy: ${busy.map((s) => s.name).join(' ') || '(first window)'}` };
    });
    progress('snapshot', `cluster quiet after ${elapsed(t0)} (every node under ${QUIET_SHARE * 100} % of a core for ${QUIET_WINDOW_S} s)`);
  } catch (e) {
    if (!(e instanceof WaitTimeoutError)) throw e;
    progress('snapshot', `still not quiet after ${elapsed(t0)} (${e.evidence.lastSeen}); capturing anyway`);
  }
}

/**
 * After every node was paused and released again (a restore, a capture):
 * each guest's clock stepped to the host's at once, what each role needs
 * after such a jump, then the cold boot's readiness.
 */
async function afterResume(c: ClusterCore, since: number, deadlineMs: number): Promise<void> {
  const deadline = since + deadlineMs;
  const results = await Promise.allSettled(
    c.specs.map(async (s) => {
      await c.ssh.waitForSsh(s.name, deadline - Date.now(), () => (c.vm(s.name).pid() ? undefined : new NodeError(s.name, 'QEMU exited after resume')), () => c.vm(s.name).consoleTail());
      const node = c.node(s.name);
      // The guest's clock stood still while it was paused; the timestamp is taken as the command leaves.
      await node.succeed(`date -u -s @${(Date.now() / 1000).toFixed(3)} >/dev/null`, 30_000);
      await Promise.all([
        ...rolesFor(c.stack, s).map((role) => role.afterClockStep?.(node)),
        waitReady(c, s, Math.max(1000, deadline - Date.now()), since),
      ]);
    }),
  );
  const failures = new Map<string, Error>();
  results.forEach((r, i) => {
    if (r.status === 'rejected') failures.set(c.specs[i].name, r.reason as Error);
  });
  if (failures.size > 0) throw new ClusterStartError(failures);
}
