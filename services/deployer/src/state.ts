/**
 * The deployer's state in chainfire, under one prefix, and how it is read
 * back (one range read: a consistent snapshot at one revision).
 *
 *   services/<name>             the seeded definition (JSON, validated)
 *   inventory/<node>            every node an agent ever registered: {name, kind, addr}
 *   alive/<node>                the same, bound to the agent's lease: gone when it stops renewing
 *   drain/<node>                present while an operator has the node drained
 *   assign/<node>/<instance>    {service, replica, state}: what the agent on <node> must run
 *   health/<node>/<instance>    the agent's last health check, bound to its lease
 *   leader                      the leading deployer, bound to its lease (created only when absent)
 *   status                      the leader's last pass: {by, at, problems}
 */
import type { Etcd, KeyValue } from './etcd.js';
import type { Assignment, AssignmentState, HealthReport, NodeState, Problem } from './placement.js';
import { type NodeKind, type ServiceDef, validateService } from './schema.js';

export const PREFIX = '/ultracloud/deployer/';
export const K = {
  service: (name: string) => `${PREFIX}services/${name}`,
  inventory: (node: string) => `${PREFIX}inventory/${node}`,
  alive: (node: string) => `${PREFIX}alive/${node}`,
  drain: (node: string) => `${PREFIX}drain/${node}`,
  assign: (node: string, instance: string) => `${PREFIX}assign/${node}/${instance}`,
  assignPrefix: (node: string) => `${PREFIX}assign/${node}/`,
  health: (node: string, instance: string) => `${PREFIX}health/${node}/${instance}`,
  leader: `${PREFIX}leader`,
  status: `${PREFIX}status`,
};

export interface NodeInfo {
  name: string;
  kind: NodeKind;
  addr: string;
}

export interface LeaderInfo {
  name: string;
  since: number;
  createRevision: number;
  lease: string;
}

export interface PassStatus {
  by: string;
  at: number;
  problems: Problem[];
}

export interface State {
  revision: number;
  services: ServiceDef[];
  /** Definitions in chainfire that no longer validate (say, written by hand): reported, not run. */
  invalid: { key: string; error: string }[];
  nodes: NodeState[];
  addrs: Record<string, string>;
  assignments: Assignment[];
  health: HealthReport[];
  leader?: LeaderInfo;
  status?: PassStatus;
}

const parse = <T>(v: string): T | undefined => {
  try {
    return JSON.parse(v) as T;
  } catch {
    return undefined;
  }
};

/** The state from the key-values under PREFIX (pure: unit-tested). */
export function parseState(kvs: KeyValue[], revision: number): State {
  const st: State = { revision, services: [], invalid: [], nodes: [], addrs: {}, assignments: [], health: [] };
  const inventory = new Map<string, NodeInfo>();
  const alive = new Set<string>();
  const drained = new Set<string>();
  for (const { key, value, createRevision, lease } of kvs) {
    if (!key.startsWith(PREFIX)) continue;
    const [kind, ...rest] = key.slice(PREFIX.length).split('/');
    const name = rest.join('/');
    if (kind === 'services') {
      try {
        st.services.push(validateService(name, parse(value)));
      } catch (e) {
        st.invalid.push({ key, error: (e as Error).message });
      }
    } else if (kind === 'inventory' || kind === 'alive') {
      const info = parse<NodeInfo>(value);
      if (!info || info.name !== name) continue;
      if (kind === 'inventory') inventory.set(name, info);
      else {
        alive.add(name);
        if (!inventory.has(name)) inventory.set(name, info);
      }
    } else if (kind === 'drain') {
      drained.add(name);
    } else if (kind === 'assign' && rest.length === 2) {
      const a = parse<{ service: string; replica: number; state: AssignmentState }>(value);
      if (a && typeof a.service === 'string' && Number.isInteger(a.replica)) st.assignments.push({ node: rest[0], service: a.service, replica: a.replica, state: a.state === 'leaving' ? 'leaving' : 'active' });
    } else if (kind === 'health' && rest.length === 2) {
      const h = parse<Omit<HealthReport, 'node' | 'instance'>>(value);
      if (h && typeof h.at === 'number') st.health.push({ node: rest[0], instance: rest[1], healthy: h.healthy === true, at: h.at, detail: h.detail });
    } else if (kind === 'leader' && rest.length === 0) {
      const l = parse<{ name: string; since: number }>(value);
      if (l) st.leader = { name: l.name, since: l.since, createRevision, lease };
    } else if (kind === 'status' && rest.length === 0) {
      st.status = parse<PassStatus>(value);
    }
  }
  // Drained nodes that never registered are still listed (an operator may drain ahead of time).
  for (const n of drained) if (!inventory.has(n)) inventory.set(n, { name: n, kind: 'worker', addr: '' });
  st.nodes = [...inventory.values()]
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .map((n) => ({ name: n.name, kind: n.kind, alive: alive.has(n.name), draining: drained.has(n.name) }));
  st.addrs = Object.fromEntries([...inventory.values()].map((n) => [n.name, n.addr]));
  return st;
}

export async function readState(etcd: Etcd): Promise<State> {
  const { kvs, revision } = await etcd.list(PREFIX);
  return parseState(kvs, revision);
}

export const assignmentValue = (a: Assignment) => JSON.stringify({ service: a.service, replica: a.replica, state: a.state });
