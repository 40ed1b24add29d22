/**
 * What `cluster start` does, decided from what it finds: cluster.json (the
 * previous boot), the nodes whose QEMU runs, and the options. Pure: the
 * lifecycle (lifecycle.ts start) acts on the plan; every decision is here.
 */
import type { BuiltImage } from '../image/built.js';
import type { Accel } from '../vm/qemu.js';
import type { ClusterRuntime } from './runtime.js';

export interface StartOptions {
  /** Fresh disks for every node (what a test run that owns the cluster wants). */
  fresh?: boolean;
  rebuild?: boolean;
  /** Boot from the image even when a warm snapshot fits (also ULTRACLOUD_COLD). */
  cold?: boolean;
}

/** What planStart needs besides the previous boot and the running nodes. */
export interface PlanOptions extends StartOptions {
  /** Every node of the profile, in boot (spec) order. */
  nodes: string[];
  /** ULTRACLOUD_COLD (the config's `cold`): as `cold`. */
  envCold?: boolean;
  /** This process: a boot it records itself is never a dead runner's. */
  self: number;
  alive: (pid: number) => boolean;
  /** Whether a file exists: the previous boot's image disk, which a partial cluster resumes on. */
  exists: (file: string) => boolean;
  /**
   * Running nodes whose QEMU is paused; asked (over QMP) only when the
   * previous boot was left by a dead runner (leftByDeadRunner).
   */
  paused?: string[];
}

/** The previous boot, as far as the plan reads it. */
export type PreviousBoot = Pick<ClusterRuntime, 'state' | 'pid' | 'startedAt' | 'image' | 'accel' | 'accelReason'>;

/** The reason a forced cold boot prints. */
export const FORCED_COLD = 'forced (--cold or ULTRACLOUD_COLD)';

/** A boot to run: some nodes to start (maybe none), the rest waited for again or left alone. */
export interface BootPlan {
  /**
   * whole: no node runs, all start (from the warm snapshot, else cold, then
   * captured if every disk is new); partial: the nodes not running start
   * and join the running ones; recheck: all run, but the boot never finished
   * (or nothing records one), so they are waited for again.
   */
  kind: 'whole' | 'partial' | 'recheck';
  /** Nodes to boot, in spec order. */
  toStart: string[];
  /** Nodes already running, in spec order: left as they are. */
  running: string[];
  /**
   * The image and accel: those of the previous boot when nodes run on it and
   * its disk is still there (with its startedAt kept), else a build (and an
   * image preflight first) and an accel probe.
   */
  image: { from: 'previous'; image: BuiltImage; accel: Accel; accelReason: string; startedAt: string } | { from: 'build'; rebuild: boolean };
  /** The running nodes are waited for too, tier by tier: the previous boot is not recorded 'ready'. */
  recheck: boolean;
  /** Whole only: why the warm snapshot is not tried (a forced cold boot); undefined: try it. */
  forcedCold?: string;
  /** New disks for the nodes that start (`--fresh`). */
  freshDisks: boolean;
}

export type StartPlan =
  /** A runner that died mid-boot left paused nodes (a capture or restore cut short): stop the cluster, then plan again. */
  | { kind: 'stop-first'; deadPid: number; paused: string[] }
  /** Every node runs and the boot was recorded 'ready': change nothing, cluster.json included. */
  | { kind: 'nothing'; startedAt: string }
  | BootPlan;

/** The pid of a runner that was booting the cluster and is gone (not this process), or undefined. */
export function leftByDeadRunner(previous: Pick<ClusterRuntime, 'state' | 'pid'> | undefined, self: number, alive: (pid: number) => boolean): number | undefined {
  if (previous?.state === 'booting' && previous.pid !== undefined && previous.pid !== self && !alive(previous.pid)) return previous.pid;
  return undefined;
}

/** What `start` does, given cluster.json (`previous`), the nodes whose QEMU runs, and the options. */
export function planStart(previous: PreviousBoot | undefined, running: string[], options: PlanOptions): StartPlan {
  const dead = leftByDeadRunner(previous, options.self, options.alive);
  const paused = options.paused ?? [];
  if (dead !== undefined && paused.length > 0) return { kind: 'stop-first', deadPid: dead, paused };
  const isRunning = new Set(running);
  const toStart = options.nodes.filter((n) => !isRunning.has(n));
  const ready = previous !== undefined && (previous.state ?? 'ready') === 'ready';
  if (toStart.length === 0 && ready) return { kind: 'nothing', startedAt: previous.startedAt };
  const whole = toStart.length === options.nodes.length;
  // Nodes already running keep their image and accel; the others join them on the same.
  const resume = !whole && previous !== undefined && options.exists(previous.image.disk);
  const cold = (options.cold ?? false) || (options.envCold ?? false);
  return {
    kind: whole ? 'whole' : toStart.length > 0 ? 'partial' : 'recheck',
    toStart,
    running: options.nodes.filter((n) => isRunning.has(n)),
    image: resume
      ? { from: 'previous', image: previous.image, accel: previous.accel, accelReason: previous.accelReason, startedAt: previous.startedAt }
      : { from: 'build', rebuild: options.rebuild ?? false },
    // A boot that never finished (its runner died, or it failed) is waited for again, running nodes included.
    recheck: !ready,
    forcedCold: whole && cold ? FORCED_COLD : undefined,
    freshDisks: options.fresh ?? false,
  };
}
