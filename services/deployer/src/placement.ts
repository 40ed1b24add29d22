/**
 * Placement and reconciliation, pure: from the service definitions, the
 * nodes (alive = their agent's chainfire lease is live; draining = marked by
 * an operator), the current assignments and the agents' health reports, the
 * assignments there should be and the problems to report. The deployer
 * leader runs it on every pass and writes the difference; the unit tests
 * run it alone (tests/unit/deployer-placement.test.ts).
 *
 * A service has `replicas` slots (replica 0..n-1, instance `<service>-<i>`).
 * Each slot has one primary assignment (state `active`) on an eligible node:
 * alive, not draining, of a kind the service names, with room (maxPerNode).
 * A slot keeps its primary while that node stays eligible (no churn).
 *
 * Moves are make-before-break unless the old node is gone: a slot leaving a
 * draining node, or moved to even out load, keeps its old assignment (state
 * `leaving`) until the new one reports healthy, so a planned drain never
 * leaves a service without a healthy replica. A failed node (lease expired)
 * loses its assignments at once. When nowhere is left to go, a leaving
 * replica stays where it runs (still serving) and a problem says so.
 */
import type { NodeKind, ServiceDef } from './schema.js';

export interface NodeState {
  name: string;
  kind: NodeKind;
  /** The agent's lease is live (it registered and keeps renewing). */
  alive: boolean;
  draining: boolean;
}

export type AssignmentState = 'active' | 'leaving';

export interface Assignment {
  node: string;
  service: string;
  replica: number;
  state: AssignmentState;
}

export interface HealthReport {
  node: string;
  instance: string;
  healthy: boolean;
  /** Milliseconds since the epoch when the agent ran the check. */
  at: number;
  detail?: string;
}

export type ProblemKind = 'capacity' | 'unplaced' | 'stuck';

export interface Problem {
  service: string;
  kind: ProblemKind;
  message: string;
}

export interface PlanInput {
  services: ServiceDef[];
  nodes: NodeState[];
  assignments: Assignment[];
  health: HealthReport[];
  now: number;
  /** A health report older than this counts as unhealthy (the agent stopped reporting). */
  staleMs: number;
}

export interface Plan {
  assignments: Assignment[];
  problems: Problem[];
}

export const instanceName = (service: string, replica: number) => `${service}-${replica}`;
export const assignmentKey = (a: Pick<Assignment, 'node' | 'service' | 'replica'>) => `${a.node}/${instanceName(a.service, a.replica)}`;

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Whether `instance` on `node` reported healthy recently. */
export function isHealthy(health: HealthReport[], node: string, instance: string, now: number, staleMs: number): boolean {
  const h = health.find((r) => r.node === node && r.instance === instance);
  return !!h && h.healthy && now - h.at <= staleMs;
}

function canHost(svc: ServiceDef, n: NodeState): boolean {
  return n.alive && !n.draining && svc.placement.kinds.includes(n.kind);
}

/** Nodes the definition could ever use (any state): what `replicas` is checked against. */
export function capacity(svc: ServiceDef, nodes: NodeState[]): { nodes: string[]; slots: number } {
  const hosts = nodes.filter((n) => svc.placement.kinds.includes(n.kind)).map((n) => n.name).sort(byName);
  return { nodes: hosts, slots: hosts.length * svc.placement.maxPerNode };
}

export function plan(input: PlanInput): Plan {
  const { services, nodes, now, staleMs } = input;
  const problems: Problem[] = [];
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const out: Assignment[] = [];
  // Primaries chosen so far: per node, the total and per service.
  const load = new Map<string, number>(nodes.map((n) => [n.name, 0]));
  const count = new Map<string, Map<string, number>>();
  const cnt = (svc: string, node: string) => count.get(svc)?.get(node) ?? 0;
  const add = (svc: string, node: string, d: number) => {
    if (!count.has(svc)) count.set(svc, new Map());
    count.get(svc)!.set(node, cnt(svc, node) + d);
    load.set(node, (load.get(node) ?? 0) + d);
  };

  interface Slot {
    svc: ServiceDef;
    replica: number;
    holders: Assignment[];
    primary?: string;
  }
  const slots: Slot[] = [];
  for (const svc of services) {
    const cap = capacity(svc, nodes);
    if (svc.replicas > cap.slots) {
      problems.push({
        service: svc.name,
        kind: 'capacity',
        message:
          `wants ${svc.replicas} replicas but at most ${cap.slots} fit: ${cap.nodes.length} node(s) of kind ${svc.placement.kinds.join('/')}` +
          `${cap.nodes.length ? ` (${cap.nodes.join(', ')})` : ''} x maxPerNode ${svc.placement.maxPerNode}` +
          `${svc.placement.antiAffinity === 'required' ? ' (antiAffinity required)' : ''}; ${svc.replicas - cap.slots} cannot be placed`,
      });
    }
    for (let replica = 0; replica < svc.replicas; replica++) {
      const holders = input.assignments
        .filter((a) => a.service === svc.name && a.replica === replica && nodeByName.has(a.node))
        .sort((a, b) => byName(a.node, b.node));
      slots.push({ svc, replica, holders });
    }
  }

  // 1. Keep each slot's primary where it is while that node stays eligible;
  //    a leaving replica whose move target went away takes the slot back.
  for (const s of slots) {
    const ok = (a: Assignment) => {
      const n = nodeByName.get(a.node)!;
      return canHost(s.svc, n) && cnt(s.svc.name, n.name) < s.svc.placement.maxPerNode;
    };
    const keep = s.holders.find((a) => a.state === 'active' && ok(a)) ?? s.holders.find((a) => a.state === 'leaving' && ok(a));
    if (keep) {
      s.primary = keep.node;
      add(s.svc.name, keep.node, 1);
    }
  }

  // 2. Place slots without a primary on the best eligible node.
  const best = (svc: ServiceDef, exclude?: string): string | undefined =>
    nodes
      .filter((n) => n.name !== exclude && canHost(svc, n) && cnt(svc.name, n.name) < svc.placement.maxPerNode)
      .sort(
        (a, b) =>
          (svc.placement.antiAffinity === 'none' ? 0 : cnt(svc.name, a.name) - cnt(svc.name, b.name)) ||
          (load.get(a.name) ?? 0) - (load.get(b.name) ?? 0) ||
          byName(a.name, b.name),
      )[0]?.name;
  for (const s of slots) {
    if (s.primary) continue;
    const target = best(s.svc);
    if (target) {
      s.primary = target;
      add(s.svc.name, target, 1);
    }
  }

  // 3. Even out: first each spread service over its eligible nodes, then the
  //    total load per node, one move at a time (each a make-before-break).
  const eligible = (svc: ServiceDef) => nodes.filter((n) => canHost(svc, n));
  const move = (s: Slot, to: string) => {
    add(s.svc.name, s.primary!, -1);
    add(s.svc.name, to, 1);
    s.primary = to;
  };
  for (let guard = 0; guard < 1000; guard++) {
    let moved = false;
    for (const svc of services) {
      if (svc.placement.antiAffinity === 'none') continue;
      const el = eligible(svc);
      const hi = [...el].sort((a, b) => cnt(svc.name, b.name) - cnt(svc.name, a.name) || byName(a.name, b.name))[0];
      const lo = [...el].filter((n) => cnt(svc.name, n.name) < svc.placement.maxPerNode).sort((a, b) => cnt(svc.name, a.name) - cnt(svc.name, b.name) || byName(a.name, b.name))[0];
      if (!hi || !lo || cnt(svc.name, hi.name) - cnt(svc.name, lo.name) < 2) continue;
      const s = slots.filter((x) => x.svc === svc && x.primary === hi.name).sort((a, b) => b.replica - a.replica)[0];
      if (s) {
        move(s, lo.name);
        moved = true;
      }
    }
    if (!moved) {
      // Total load: move one slot from the busiest node to the idlest one that can take it without spreading its service worse.
      const loads = nodes.filter((n) => n.alive && !n.draining).sort((a, b) => (load.get(b.name) ?? 0) - (load.get(a.name) ?? 0) || byName(a.name, b.name));
      outer: for (const hi of loads) {
        for (const lo of [...loads].reverse()) {
          if ((load.get(hi.name) ?? 0) - (load.get(lo.name) ?? 0) < 2) continue;
          const s = slots
            .filter((x) => x.primary === hi.name && canHost(x.svc, lo) && cnt(x.svc.name, lo.name) < x.svc.placement.maxPerNode)
            .filter((x) => x.svc.placement.antiAffinity === 'none' || cnt(x.svc.name, lo.name) < cnt(x.svc.name, hi.name))
            .sort((a, b) => byName(a.svc.name, b.svc.name) || b.replica - a.replica)[0];
          if (s) {
            move(s, lo.name);
            moved = true;
            break outer;
          }
        }
      }
    }
    if (!moved) break;
  }

  // 4. The assignments: each primary, plus the old holders a move leaves
  //    behind while the new primary is not yet healthy (alive nodes only).
  for (const s of slots) {
    const instance = instanceName(s.svc.name, s.replica);
    if (s.primary) out.push({ node: s.primary, service: s.svc.name, replica: s.replica, state: 'active' });
    const primaryHealthy = !!s.primary && isHealthy(input.health, s.primary, instance, now, staleMs);
    for (const h of s.holders) {
      if (h.node === s.primary) continue;
      const n = nodeByName.get(h.node)!;
      if (!n.alive || primaryHealthy) continue;
      out.push({ node: h.node, service: s.svc.name, replica: s.replica, state: 'leaving' });
      if (!s.primary) {
        problems.push({ service: s.svc.name, kind: 'stuck', message: `${instance} stays on ${h.node} (${n.draining ? 'draining' : 'not eligible'}): no other node can host it` });
      }
    }
    if (!s.primary && !s.holders.some((h) => nodeByName.get(h.node)!.alive)) {
      const why = nodes
        .filter((n) => s.svc.placement.kinds.includes(n.kind))
        .map((n) => `${n.name} ${!n.alive ? 'down' : n.draining ? 'draining' : `full (${cnt(s.svc.name, n.name)}/${s.svc.placement.maxPerNode})`}`);
      problems.push({ service: s.svc.name, kind: 'unplaced', message: `${instance} has no node: ${why.join(', ') || `no node of kind ${s.svc.placement.kinds.join('/')}`}` });
    }
  }
  out.sort((a, b) => byName(assignmentKey(a), assignmentKey(b)));
  return { assignments: out, problems };
}

/** What to write to get from `current` to `next`: puts (new or changed state) and deletes. */
export function diff(current: Assignment[], next: Assignment[]): { put: Assignment[]; del: Assignment[] } {
  const cur = new Map(current.map((a) => [assignmentKey(a), a]));
  const nxt = new Map(next.map((a) => [assignmentKey(a), a]));
  return {
    put: next.filter((a) => cur.get(assignmentKey(a))?.state !== a.state),
    del: current.filter((a) => !nxt.has(assignmentKey(a))),
  };
}

export interface ServiceSummary {
  name: string;
  replicas: number;
  /** Slots with a primary. */
  placed: number;
  /** Instances (any state) whose health report is healthy and fresh. */
  healthy: number;
  /** Primaries per node. */
  nodes: Record<string, number>;
  /** Instances still running where they are leaving. */
  leaving: number;
}

/** Per service: what the assignments and health reports say now. */
export function summarize(services: ServiceDef[], assignments: Assignment[], health: HealthReport[], now: number, staleMs: number): ServiceSummary[] {
  return services.map((svc) => {
    const mine = assignments.filter((a) => a.service === svc.name && a.replica < svc.replicas);
    const nodes: Record<string, number> = {};
    for (const a of mine.filter((x) => x.state === 'active')) nodes[a.node] = (nodes[a.node] ?? 0) + 1;
    return {
      name: svc.name,
      replicas: svc.replicas,
      placed: new Set(mine.filter((a) => a.state === 'active').map((a) => a.replica)).size,
      healthy: mine.filter((a) => isHealthy(health, a.node, instanceName(a.service, a.replica), now, staleMs)).length,
      nodes,
      leaving: mine.filter((a) => a.state === 'leaving').length,
    };
  });
}
