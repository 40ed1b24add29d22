/**
 * What fixtures/cluster.ts adds to a test without a cluster: the nodes of a
 * kind from the cluster info, `eventually` (waitFor bound to the test's
 * signal, the node optional), and the stacks' role timings as static data,
 * the same figures their ops carry.
 */
import { describe, expect, it } from 'vitest';
import type { Cluster, ClusterInfo } from '../../harness/cluster.js';
import { AbortedError } from '../../harness/remote/wait.js';
import { WaitTimeoutError } from '../../harness/errors.js';
import { PROFILES } from '../../harness/topology.js';
import { EVENTUALLY_NODE, TestCluster, nodesOfKind } from '../../fixtures/cluster.js';
import type { StackOps } from '../../stacks/contracts.js';
import { loadStack, timingOf } from '../../stacks/index.js';

const info = (profile: 'default' | 'storage'): ClusterInfo => ({
  stateDir: '/nowhere',
  profile,
  stack: 'reference',
  accel: 'tcg',
  accelReason: '',
  portBase: 22200,
  keyPath: '/nowhere/key',
  nodes: PROFILES[profile].nodes.map((n) => ({ name: n.name, kind: n.kind, clusterIp: n.clusterIp, sshPort: 0, forwards: {} })),
  bootErrors: {},
  expect: {},
});

/** A TestCluster over a cluster that is never asked anything (nodesOfKind and eventually need none). */
const testCluster = (signal?: AbortSignal, i = info('default')) => new TestCluster(i, {} as Cluster<StackOps>, signal);

describe('nodesOfKind', () => {
  it('names the nodes of a kind in the topology order', () => {
    const c = testCluster();
    expect(c.nodesOfKind('control')).toEqual(['node01', 'node02', 'node03']);
    expect(c.nodesOfKind('worker')).toEqual(['node04', 'node05']);
    expect(c.nodesOfKind('gateway')).toEqual(['node06']);
  });

  it('follows the profile: prefixed names, no gateway', () => {
    const storage = info('storage');
    expect(nodesOfKind('control', storage)).toEqual(['storage-node01', 'storage-node02', 'storage-node03']);
    expect(testCluster(undefined, storage).nodesOfKind('worker')).toEqual(['storage-node04', 'storage-node05']);
    expect(nodesOfKind('gateway', storage)).toEqual([]);
  });
});

describe('eventually', () => {
  it("resolves with the check's value once ok, a throw counting as not yet", async () => {
    let n = 0;
    const v = await testCluster().eventually('third try', 5, async () => {
      n++;
      if (n === 1) throw new Error('rebooting');
      return { ok: n === 3, value: n, seen: `try ${n}` };
    }, { intervalMs: 1 });
    expect(v).toBe(3);
  });

  it('times out in seconds, naming the node given, what it waited for and the last seen', async () => {
    const err = await testCluster()
      .eventually('a leader', 0.05, async () => ({ ok: false, seen: 'leader none' }), { node: 'node02', intervalMs: 5 })
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as Error).message).toMatch(/^node02: a leader: not within 0s/);
    expect((err as WaitTimeoutError).evidence).toMatchObject({ expected: 'a leader', lastSeen: 'leader none' });
  });

  it('names the cluster when no node is given', async () => {
    const err = await testCluster()
      .eventually('balanced', 0.02, async () => ({ ok: false, seen: 'unbalanced' }), { intervalMs: 5 })
      .catch((e: Error) => e);
    expect((err as Error).message).toMatch(new RegExp(`^${EVENTUALLY_NODE}: balanced: not within`));
  });

  it('ends at once with the error a check fails with', async () => {
    let checks = 0;
    const stopped = new Error('reconciliation stopped');
    const err = await testCluster()
      .eventually('settled', 600, async () => {
        checks++;
        return { ok: false, seen: 'no leader', fail: stopped };
      })
      .catch((e: Error) => e);
    expect(err).toBe(stopped);
    expect(checks).toBe(1);
  });

  it("stops on the test's signal (the cluster's), and aborts the signal it gave the check", async () => {
    const testRun = new AbortController();
    let checkSignal: AbortSignal | undefined;
    const wait = testCluster(testRun.signal).eventually('leader elected', 600, async (sig) => {
      checkSignal = sig;
      return { ok: false, seen: 'leader none' };
    }, { node: 'node01', intervalMs: 10 });
    setTimeout(() => testRun.abort(new Error('test timed out in 5000ms')), 30);
    const t0 = Date.now();
    const err = await wait.catch((e: Error) => e);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as Error).message).toMatch(/^node01: leader elected: aborted after \d+s \(test timed out in 5000ms\)/);
    expect(checkSignal?.aborted).toBe(true);
  });

  it('a cluster already aborted waits not at all', async () => {
    const testRun = new AbortController();
    testRun.abort(new Error('cancelled'));
    let checks = 0;
    const err = await testCluster(testRun.signal)
      .eventually('anything', 600, async () => {
        checks++;
        return { ok: true, value: 1 };
      })
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect(checks).toBe(0);
  });
});

describe('role timings: static data of each stack', () => {
  for (const name of ['reference', 'ultracloud']) {
    it(`${name}: one entry per role whose ops have a timing, the same figures the ops carry`, () => {
      const timing = timingOf(name) as Record<string, unknown>;
      const ops = loadStack(name).ops as unknown as Record<string, { timing?: unknown }>;
      const timed = ['chainfire', 'flaredb', 'iam', 'flashdns', 'fiberlb', 'prismnet', 'plasmavmc', 'deployer'];
      expect(Object.keys(timing).sort()).toEqual([...timed].sort());
      for (const role of timed) expect(timing[role], role).toBe(ops[role].timing);
    });
  }

  it('an unknown stack is refused', () => {
    expect(() => timingOf('nope')).toThrow(/unknown stack 'nope'/);
  });
});
