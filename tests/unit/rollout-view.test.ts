/**
 * The rollout soak's judgements of the deployer's view (fixtures/rollout.ts):
 * settled (every service placed and healthy, nothing leaving, only where
 * asked) and balanced (settled and spread over every live worker), with
 * what each saw for the wait's error.
 */
import { describe, expect, it } from 'vitest';
import { balancedOver, describeView, settled } from '../../fixtures/rollout.js';
import type { DeployerView } from '../../stacks/contracts.js';

const WORKERS = ['node04', 'node05'];

type Inst = [instance: string, healthy?: boolean, state?: string];
const node = (name: string, instances: Inst[], extra: Partial<DeployerView['nodes'][number]> = {}): DeployerView['nodes'][number] => ({
  name,
  kind: 'worker',
  addr: name === 'node04' ? '10.100.0.21' : '10.100.0.22',
  alive: true,
  draining: false,
  instances: instances.map(([instance, healthy = true, state = 'running']) => ({ instance, healthy, state })),
  ...extra,
});
const service = (name: string, replicas: number, nodes: Record<string, number>, extra: Partial<DeployerView['services'][number]> = {}): DeployerView['services'][number] => {
  const placed = Object.values(nodes).reduce((a, b) => a + b, 0);
  return { name, replicas, placed, healthy: placed, nodes, leaving: 0, problems: [], ...extra };
};
const view = (nodes: DeployerView['nodes'], services: DeployerView['services'], extra: Partial<DeployerView> = {}): DeployerView => ({
  at: 0,
  leader: 'node01',
  reconciling: true,
  nodes,
  services,
  problems: [],
  ...extra,
});

/** Two services of two replicas each, one replica of each on each worker. */
const spread = () =>
  view(
    [node('node04', [['web-0'], ['cache-1']]), node('node05', [['web-1'], ['cache-0']])],
    [service('web', 2, { node04: 1, node05: 1 }), service('cache', 2, { node04: 1, node05: 1 })],
  );

describe('describeView', () => {
  it('names the leader, each node with its instances (leaving ~, unhealthy !) and each service healthy/replicas', () => {
    const v = view(
      [node('node04', [['web-0', false], ['web-1', true, 'leaving']], { draining: true }), node('node05', [], { alive: false })],
      [service('web', 2, { node04: 2 }, { healthy: 1 })],
      { leader: null },
    );
    expect(describeView(v)).toBe('leader none; node04(draining)[web-0! web-1~] node05(down)[]; web 1/2');
  });
});

describe('settled', () => {
  it('holds with every service placed and healthy, nothing leaving', () => {
    const r = settled(spread());
    expect(r.ok, r.seen).toBe(true);
    expect(r.seen).not.toContain('not yet');
  });

  it('not with no service at all', () => {
    expect(settled(view([node('node04', [])], [])).ok).toBe(false);
  });

  it('not while no deployer reconciles, naming why', () => {
    const r = settled({ ...spread(), reconciling: false, reason: 'reconciliation stopped: no deployer holds the leader key' });
    expect(r.ok).toBe(false);
    expect(r.seen).toContain('not yet: no leader (reconciliation stopped: no deployer holds the leader key)');
  });

  it('not while a service is short, unhealthy or has instances leaving, naming it', () => {
    const v = spread();
    v.services[0] = { ...v.services[0], healthy: 1, leaving: 1 };
    const r = settled(v);
    expect(r.ok).toBe(false);
    expect(r.seen).toContain('web placed 2/2 healthy 1 leaving 1');
  });

  it('only on `on`: a service still elsewhere is named with the nodes', () => {
    const r = settled(spread(), ['node05']);
    expect(r.ok).toBe(false);
    expect(r.seen).toContain('web still on node04');
    const moved = view([node('node04', []), node('node05', [['web-0'], ['web-1']])], [service('web', 2, { node05: 2 })]);
    expect(settled(moved, ['node05']).ok).toBe(true);
  });
});

describe('balancedOver', () => {
  it('holds when settled, every worker live and the loads within one', () => {
    const r = balancedOver(spread(), WORKERS);
    expect(r.ok, r.seen).toBe(true);
  });

  it('not with a worker down or draining: the live ones are named', () => {
    const v = spread();
    v.nodes[1] = { ...v.nodes[1], alive: false };
    const r = balancedOver(v, WORKERS);
    expect(r.ok).toBe(false);
    expect(r.seen).toContain('unbalanced: live workers node04');
    const drained = spread();
    drained.nodes[0] = { ...drained.nodes[0], draining: true };
    expect(balancedOver(drained, WORKERS).seen).toContain('live workers node05');
  });

  it('not with loads apart by more than one, or a service on fewer workers than it could be', () => {
    const v = view([node('node04', [['web-0'], ['web-1'], ['cache-0']]), node('node05', [])], [service('web', 2, { node04: 2 }), service('cache', 1, { node04: 1 })]);
    const r = balancedOver(v, WORKERS);
    expect(r.ok).toBe(false);
    expect(r.seen).toContain('loads node04:3 node05:0');
    expect(r.seen).toContain('web on node04 only');
    expect(r.seen).not.toContain('cache on');
  });

  it('not when not settled, even if spread', () => {
    const v = spread();
    v.services[1] = { ...v.services[1], healthy: 0 };
    const r = balancedOver(v, WORKERS);
    expect(r.ok).toBe(false);
    expect(r.seen).toContain('not yet: cache placed 2/2 healthy 0 leaving 0');
  });
});
