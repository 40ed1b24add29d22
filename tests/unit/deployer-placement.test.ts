/**
 * The deployer's placement and reconcile logic on its own (no VMs): a pass
 * of `plan` over nodes, assignments and health, run to a fixed point the
 * way the leader does (agents reporting the new instances healthy between
 * passes).
 */
import { describe, expect, test } from 'vitest';
import { type Assignment, type HealthReport, type NodeState, type PlanInput, diff, instanceName, plan, summarize } from '../../services/deployer/src/placement.js';
import { type ServiceDef, validateService } from '../../services/deployer/src/schema.js';

const NOW = 1_000_000;
const STALE = 20_000;
const svc = (name: string, replicas: number, placement: Record<string, unknown> = {}): ServiceDef =>
  validateService(name, { command: 'x', health: { command: 'true' }, replicas, placement: { kinds: ['worker'], ...placement } });
const WEB = svc('web', 2, { antiAffinity: 'preferred', maxPerNode: 2 });
const TICK = svc('tick', 1, { antiAffinity: 'preferred', maxPerNode: 1 });
const SERVICES = [TICK, WEB];
const workers = (over: Partial<Record<string, Partial<NodeState>>> = {}): NodeState[] =>
  ['node04', 'node05'].map((name) => ({ name, kind: 'worker', alive: true, draining: false, ...over[name] }));
const nodes = (over: Partial<Record<string, Partial<NodeState>>> = {}): NodeState[] => [
  { name: 'node01', kind: 'control', alive: true, draining: false },
  ...workers(over),
];
/** Every assignment reported healthy now (the agents ran their checks). */
const allHealthy = (as: Assignment[]): HealthReport[] => as.map((a) => ({ node: a.node, instance: instanceName(a.service, a.replica), healthy: true, at: NOW }));
const where = (as: Assignment[]) => as.map((a) => `${a.node}/${instanceName(a.service, a.replica)}${a.state === 'leaving' ? ' leaving' : ''}`);

/** Passes until nothing changes, with health reported between passes when `healthy`. */
function settle(input: Omit<PlanInput, 'now' | 'staleMs' | 'health'>, healthy = true) {
  let assignments = input.assignments;
  const passes: string[][] = [];
  for (let i = 0; i < 20; i++) {
    const p = plan({ ...input, assignments, health: healthy ? allHealthy(assignments) : [], now: NOW, staleMs: STALE });
    const d = diff(assignments, p.assignments);
    if (d.put.length === 0 && d.del.length === 0) return { assignments, problems: p.problems, passes };
    assignments = p.assignments;
    passes.push(where(assignments));
  }
  throw new Error(`no fixed point: ${JSON.stringify(passes)}`);
}

describe('placement', () => {
  test('first placement spreads each service and the load over the workers, never on other kinds', () => {
    const r = settle({ services: SERVICES, nodes: nodes(), assignments: [] });
    expect(where(r.assignments)).toEqual(['node04/tick-0', 'node04/web-1', 'node05/web-0']);
    expect(r.problems).toEqual([]);
  });

  test('a pass over a settled placement changes nothing (no churn)', () => {
    const { assignments } = settle({ services: SERVICES, nodes: nodes(), assignments: [] });
    const p = plan({ services: SERVICES, nodes: nodes(), assignments, health: allHealthy(assignments), now: NOW, staleMs: STALE });
    expect(diff(assignments, p.assignments)).toEqual({ put: [], del: [] });
  });

  test('drain: replicas start on the other worker first and leave the drained one only once healthy there', () => {
    const { assignments } = settle({ services: SERVICES, nodes: nodes(), assignments: [] });
    const drained = nodes({ node04: { draining: true } });
    // First pass, nothing healthy on node05 yet: the old copies stay (leaving) beside the new ones.
    const first = plan({ services: SERVICES, nodes: drained, assignments, health: allHealthy(assignments), now: NOW, staleMs: STALE });
    expect(where(first.assignments)).toEqual(['node04/tick-0 leaving', 'node04/web-1 leaving', 'node05/tick-0', 'node05/web-0', 'node05/web-1']);
    // Every service keeps a healthy instance throughout.
    for (const s of summarize(SERVICES, first.assignments, allHealthy(assignments), NOW, STALE)) expect(s.healthy, s.name).toBeGreaterThan(0);
    // Once the new ones report healthy, the drained node has nothing.
    const second = plan({ services: SERVICES, nodes: drained, assignments: first.assignments, health: allHealthy(first.assignments), now: NOW, staleMs: STALE });
    expect(where(second.assignments)).toEqual(['node05/tick-0', 'node05/web-0', 'node05/web-1']);
    expect(second.problems).toEqual([]);
  });

  test('undrain: balanced again, by make-before-break moves', () => {
    const drained = settle({ services: SERVICES, nodes: nodes({ node04: { draining: true } }), assignments: [] });
    expect(where(drained.assignments)).toEqual(['node05/tick-0', 'node05/web-0', 'node05/web-1']);
    const back = settle({ services: SERVICES, nodes: nodes(), assignments: drained.assignments });
    const perNode = (n: string) => back.assignments.filter((a) => a.node === n).length;
    expect(Math.abs(perNode('node04') - perNode('node05'))).toBeLessThanOrEqual(1);
    expect(new Set(back.assignments.filter((a) => a.service === 'web').map((a) => a.node))).toEqual(new Set(['node04', 'node05']));
    // The first pass of the move back kept the old copy (leaving) beside the new one.
    expect(back.passes[0].some((x) => x.endsWith('leaving'))).toBe(true);
  });

  test('a failed worker (lease gone) loses its assignments at once; they move to the live one', () => {
    const { assignments } = settle({ services: SERVICES, nodes: nodes(), assignments: [] });
    const p = plan({ services: SERVICES, nodes: nodes({ node05: { alive: false } }), assignments, health: [], now: NOW, staleMs: STALE });
    expect(where(p.assignments)).toEqual(['node04/tick-0', 'node04/web-0', 'node04/web-1']);
  });

  test('a worker that returns gets replicas back', () => {
    const down = settle({ services: SERVICES, nodes: nodes({ node05: { alive: false } }), assignments: [] });
    const back = settle({ services: SERVICES, nodes: nodes(), assignments: down.assignments });
    expect(back.assignments.filter((a) => a.node === 'node05').length).toBeGreaterThan(0);
    expect(new Set(back.assignments.filter((a) => a.service === 'web').map((a) => a.node))).toEqual(new Set(['node04', 'node05']));
  });

  test('replicas beyond what the nodes can host are reported, and as many as fit are placed', () => {
    const wide = svc('wide', 3, { antiAffinity: 'required' });
    const r = settle({ services: [wide], nodes: nodes(), assignments: [] });
    expect(where(r.assignments)).toEqual(['node04/wide-0', 'node05/wide-1']);
    expect(r.problems).toContainEqual({
      service: 'wide',
      kind: 'capacity',
      message: 'wants 3 replicas but at most 2 fit: 2 node(s) of kind worker (node04, node05) x maxPerNode 1 (antiAffinity required); 1 cannot be placed',
    });
    expect(r.problems).toContainEqual(expect.objectContaining({ service: 'wide', kind: 'unplaced', message: expect.stringContaining('wide-2 has no node: node04 full (1/1), node05 full (1/1)') }));
    expect(summarize([wide], r.assignments, [], NOW, STALE)[0]).toMatchObject({ replicas: 3, placed: 2 });
  });

  test('required anti-affinity never doubles up: with one worker drained a replica is unplaced and reported', () => {
    const pair = svc('pair', 2, { antiAffinity: 'required' });
    const r = settle({ services: [pair], nodes: nodes({ node04: { draining: true } }), assignments: [] });
    expect(where(r.assignments)).toEqual(['node05/pair-0']);
    expect(r.problems.map((p) => p.kind)).toEqual(['unplaced']);
    expect(r.problems[0].message).toContain('node04 draining');
  });

  test('a drained node keeps a replica that has nowhere else to go (still serving), and says so', () => {
    const one = svc('one', 1, { antiAffinity: 'required' });
    const a: Assignment[] = [{ node: 'node04', service: 'one', replica: 0, state: 'active' }];
    const p = plan({ services: [one], nodes: nodes({ node04: { draining: true }, node05: { alive: false } }), assignments: a, health: allHealthy(a), now: NOW, staleMs: STALE });
    expect(where(p.assignments)).toEqual(['node04/one-0 leaving']);
    expect(p.problems).toContainEqual(expect.objectContaining({ kind: 'stuck', message: 'one-0 stays on node04 (draining): no other node can host it' }));
  });

  test('a stale health report does not count: the old copy stays until the new one is freshly healthy', () => {
    const a: Assignment[] = [
      { node: 'node04', service: 'tick', replica: 0, state: 'leaving' },
      { node: 'node05', service: 'tick', replica: 0, state: 'active' },
    ];
    const stale: HealthReport[] = [{ node: 'node05', instance: 'tick-0', healthy: true, at: NOW - STALE - 1 }];
    const p = plan({ services: [TICK], nodes: nodes({ node04: { draining: true } }), assignments: a, health: stale, now: NOW, staleMs: STALE });
    expect(where(p.assignments)).toEqual(['node04/tick-0 leaving', 'node05/tick-0']);
  });

  test('removed services and replicas lose their assignments', () => {
    const { assignments } = settle({ services: SERVICES, nodes: nodes(), assignments: [] });
    const fewer = [svc('web', 1, { antiAffinity: 'preferred', maxPerNode: 2 })];
    const p = plan({ services: fewer, nodes: nodes(), assignments, health: allHealthy(assignments), now: NOW, staleMs: STALE });
    expect(where(p.assignments)).toEqual(['node05/web-0']);
    expect(diff(assignments, p.assignments).del.map((a) => instanceName(a.service, a.replica)).sort()).toEqual(['tick-0', 'web-1']);
  });

  test('no node of the kind at all: every replica reported, nothing placed', () => {
    const r = plan({ services: [svc('gw', 1, { kinds: ['gateway'] })], nodes: nodes(), assignments: [], health: [], now: NOW, staleMs: STALE });
    expect(r.assignments).toEqual([]);
    expect(r.problems.map((p) => p.kind)).toEqual(['capacity', 'unplaced']);
  });
});
