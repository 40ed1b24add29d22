/**
 * What `cluster start` does, decided from cluster.json, the running nodes
 * and the options (harness/cluster/plan-start.ts), case by case.
 */
import { describe, expect, it } from 'vitest';
import type { ClusterRuntime } from '../../harness/cluster.js';
import { type BootPlan, FORCED_COLD, type PlanOptions, type StartPlan, leftByDeadRunner, planStart } from '../../harness/cluster/plan-start.js';

const NODES = ['node01', 'node02', 'node03', 'node04', 'node05', 'node06'];
const SELF = 1000;
const DISK = '/cache/images/reference-aaaa/disk.qcow2';

function previous(over: Partial<ClusterRuntime> = {}): ClusterRuntime {
  return {
    profile: 'default',
    stack: 'reference',
    image: { stack: 'reference', hash: 'aaaa', dir: '/cache/images/reference-aaaa', disk: DISK, kernel: '/k', initrd: '/i', probeInitrd: '/p', builtAt: '', buildSeconds: 1 },
    accel: 'kvm',
    accelReason: '/dev/kvm usable',
    portBase: 22200,
    startedAt: '2026-01-01T01:00:00.000Z',
    recipeHash: 'aaaa',
    pid: 42,
    state: 'ready',
    ...over,
  };
}

function options(over: Partial<PlanOptions> = {}): PlanOptions {
  return { nodes: NODES, self: SELF, alive: () => true, exists: () => true, ...over };
}

function boot(plan: StartPlan): BootPlan {
  if (plan.kind === 'nothing' || plan.kind === 'stop-first') throw new Error(`expected a boot, got ${plan.kind}`);
  return plan;
}

describe('planStart', () => {
  it('no cluster.json, nothing running: the whole cluster, built, from the snapshot if one fits', () => {
    const p = boot(planStart(undefined, [], options()));
    expect(p.kind).toBe('whole');
    expect(p.toStart).toEqual(NODES);
    expect(p.running).toEqual([]);
    expect(p.image).toEqual({ from: 'build', rebuild: false });
    expect(p.forcedCold).toBeUndefined();
    expect(p.recheck).toBe(true);
    expect(p.freshDisks).toBe(false);
  });

  it('all running and recorded ready: nothing to do', () => {
    expect(planStart(previous(), NODES, options())).toEqual({ kind: 'nothing', startedAt: '2026-01-01T01:00:00.000Z' });
  });

  it('a cluster.json from before `state` was recorded counts as ready', () => {
    expect(planStart(previous({ state: undefined, pid: undefined }), NODES, options()).kind).toBe('nothing');
  });

  it('all running but not recorded ready (booting, failed): every node waited for again, on the same image and accel', () => {
    for (const state of ['booting', 'failed'] as const) {
      const p = boot(planStart(previous({ state }), NODES, options()));
      expect(p.kind, state).toBe('recheck');
      expect(p.toStart).toEqual([]);
      expect(p.running).toEqual(NODES);
      expect(p.recheck).toBe(true);
      expect(p.image).toEqual({ from: 'previous', image: previous().image, accel: 'kvm', accelReason: '/dev/kvm usable', startedAt: '2026-01-01T01:00:00.000Z' });
    }
  });

  it('all running and no cluster.json: built, and every node waited for again', () => {
    const p = boot(planStart(undefined, NODES, options()));
    expect(p.kind).toBe('recheck');
    expect(p.image).toEqual({ from: 'build', rebuild: false });
    expect(p.recheck).toBe(true);
  });

  it('some running on a ready cluster: the others join them on the prior image and accel, running nodes not rechecked', () => {
    const p = boot(planStart(previous(), ['node01', 'node02', 'node03', 'node05'], options()));
    expect(p.kind).toBe('partial');
    expect(p.toStart).toEqual(['node04', 'node06']);
    expect(p.running).toEqual(['node01', 'node02', 'node03', 'node05']);
    expect(p.image).toMatchObject({ from: 'previous', accel: 'kvm', startedAt: '2026-01-01T01:00:00.000Z' });
    expect(p.recheck).toBe(false);
    expect(p.forcedCold).toBeUndefined();
  });

  it('nodes listed in spec order whatever order they are found running in', () => {
    const p = boot(planStart(previous(), ['node05', 'node01'], options()));
    expect(p.running).toEqual(['node01', 'node05']);
    expect(p.toStart).toEqual(['node02', 'node03', 'node04', 'node06']);
  });

  it('some running after a boot that failed: the others start and the running ones are rechecked', () => {
    const p = boot(planStart(previous({ state: 'failed', failedNodes: ['node04'] }), ['node01', 'node02', 'node03'], options()));
    expect(p.kind).toBe('partial');
    expect(p.recheck).toBe(true);
    expect(p.image.from).toBe('previous');
  });

  it("the prior image's disk is gone: not resumable, so a build (and an accel probe)", () => {
    const asked: string[] = [];
    const p = boot(planStart(previous(), ['node01'], options({ exists: (f) => (asked.push(f), false), rebuild: true })));
    expect(asked).toEqual([DISK]);
    expect(p.kind).toBe('partial');
    expect(p.image).toEqual({ from: 'build', rebuild: true });
  });

  it('some running and no cluster.json: a build, running nodes rechecked', () => {
    const p = boot(planStart(undefined, ['node01'], options()));
    expect(p.image.from).toBe('build');
    expect(p.recheck).toBe(true);
  });

  it('a whole cluster never resumes the prior image, even when its disk is there', () => {
    const p = boot(planStart(previous(), [], options()));
    expect(p.kind).toBe('whole');
    expect(p.image).toEqual({ from: 'build', rebuild: false });
    expect(p.recheck).toBe(false);
  });

  it('--cold or ULTRACLOUD_COLD: a whole cluster boots cold, naming why', () => {
    expect(boot(planStart(undefined, [], options({ cold: true }))).forcedCold).toBe(FORCED_COLD);
    expect(boot(planStart(undefined, [], options({ envCold: true }))).forcedCold).toBe(FORCED_COLD);
    expect(FORCED_COLD).toBe('forced (--cold or ULTRACLOUD_COLD)');
  });

  it('--cold does not touch running nodes: a partial cluster resumes as without it', () => {
    const p = boot(planStart(previous(), ['node01'], options({ cold: true })));
    expect(p.kind).toBe('partial');
    expect(p.forcedCold).toBeUndefined();
    expect(planStart(previous(), NODES, options({ cold: true, envCold: true })).kind).toBe('nothing');
  });

  it('--fresh: new disks for the nodes that start; a ready running cluster is still left alone', () => {
    expect(boot(planStart(undefined, [], options({ fresh: true }))).freshDisks).toBe(true);
    expect(boot(planStart(previous(), ['node01'], options({ fresh: true }))).freshDisks).toBe(true);
    expect(planStart(previous(), NODES, options({ fresh: true })).kind).toBe('nothing');
  });

  it('--rebuild reaches the build; it does not stop a resume on the prior image', () => {
    expect(boot(planStart(undefined, [], options({ rebuild: true }))).image).toEqual({ from: 'build', rebuild: true });
    expect(boot(planStart(previous(), ['node01'], options({ rebuild: true }))).image.from).toBe('previous');
  });

  it('a dead runner left paused nodes: stop the cluster first', () => {
    const prev = previous({ state: 'booting', pid: 77 });
    const p = planStart(prev, NODES, options({ alive: () => false, paused: ['node02', 'node05'] }));
    expect(p).toEqual({ kind: 'stop-first', deadPid: 77, paused: ['node02', 'node05'] });
  });

  it('after that stop (nothing running, no paused nodes): the whole cluster, built', () => {
    const p = boot(planStart(previous({ state: 'booting', pid: 77 }), [], options({ alive: () => false })));
    expect(p.kind).toBe('whole');
    expect(p.image.from).toBe('build');
  });

  it('a dead runner that left no paused node: its boot is finished (rechecked), nothing stopped', () => {
    const p = boot(planStart(previous({ state: 'booting', pid: 77 }), NODES, options({ alive: () => false, paused: [] })));
    expect(p.kind).toBe('recheck');
    expect(p.image.from).toBe('previous');
  });

  it('paused nodes are no reason to stop when the runner is alive, is this process, or the boot was not left booting', () => {
    const paused = ['node01'];
    expect(planStart(previous({ state: 'booting', pid: 77 }), NODES, options({ alive: () => true, paused })).kind).toBe('recheck');
    expect(planStart(previous({ state: 'booting', pid: SELF }), NODES, options({ alive: () => false, paused })).kind).toBe('recheck');
    expect(planStart(previous({ state: 'failed', pid: 77 }), NODES, options({ alive: () => false, paused })).kind).toBe('recheck');
    expect(planStart(previous({ state: 'ready', pid: 77 }), NODES, options({ alive: () => false, paused })).kind).toBe('nothing');
    expect(planStart(previous({ state: 'booting', pid: undefined }), NODES, options({ alive: () => false, paused })).kind).toBe('recheck');
  });
});

describe('leftByDeadRunner (when start asks QMP which nodes are paused)', () => {
  it('is the pid of a gone runner that was booting, never this process', () => {
    const dead = () => false;
    expect(leftByDeadRunner({ state: 'booting', pid: 77 }, SELF, dead)).toBe(77);
    expect(leftByDeadRunner({ state: 'booting', pid: 77 }, SELF, () => true)).toBeUndefined();
    expect(leftByDeadRunner({ state: 'booting', pid: SELF }, SELF, dead)).toBeUndefined();
    expect(leftByDeadRunner({ state: 'ready', pid: 77 }, SELF, dead)).toBeUndefined();
    expect(leftByDeadRunner({ state: 'booting' }, SELF, dead)).toBeUndefined();
    expect(leftByDeadRunner(undefined, SELF, dead)).toBeUndefined();
  });

  it('does not ask about liveness of this process or of a boot that is not in progress', () => {
    const asked: number[] = [];
    const alive = (pid: number) => (asked.push(pid), true);
    leftByDeadRunner({ state: 'booting', pid: SELF }, SELF, alive);
    leftByDeadRunner({ state: 'ready', pid: 77 }, SELF, alive);
    expect(asked).toEqual([]);
  });
});
