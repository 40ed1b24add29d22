/**
 * What the deployer shows over HTTP (`/v1/status`) and `deployerctl status`:
 * nodes, assignments, health and problems, from one read of chainfire.
 * Pure: unit-tested.
 */
import { type Problem, type ServiceSummary, instanceName, isHealthy, plan, summarize } from './placement.js';
import type { State } from './state.js';

/** A health report older than this counts as unhealthy (agents report every few seconds). */
export const STALE_MS = 20_000;

export interface DeployerView {
  at: number;
  revision: number;
  /** The deployer that leads (holds the leader key), if any. */
  leader: string | null;
  /** Whether any deployer reconciles: false (with the reason) when none leads. */
  reconciling: boolean;
  reason?: string;
  /** The leader's last pass. */
  lastPass: { by: string; at: number } | null;
  nodes: { name: string; kind: string; addr: string; alive: boolean; draining: boolean; instances: { instance: string; state: string; healthy: boolean; detail?: string }[] }[];
  services: (ServiceSummary & { problems: string[] })[];
  problems: Problem[];
  /** Definitions in chainfire that do not validate. */
  invalid: { key: string; error: string }[];
}

export function buildView(st: State, now: number, staleMs = STALE_MS): DeployerView {
  // Problems as a pass would find them now (the leader's stored ones may be a pass old, or absent with no leader).
  const { problems } = plan({ services: st.services, nodes: st.nodes, assignments: st.assignments, health: st.health, now, staleMs });
  return {
    at: now,
    revision: st.revision,
    leader: st.leader?.name ?? null,
    reconciling: !!st.leader,
    ...(st.leader ? {} : { reason: 'no deployer holds the leader key: reconciliation stopped (every deployer down?)' }),
    lastPass: st.status ? { by: st.status.by, at: st.status.at } : null,
    nodes: st.nodes.map((n) => ({
      ...n,
      addr: st.addrs[n.name] ?? '',
      instances: st.assignments
        .filter((a) => a.node === n.name)
        .map((a) => {
          const instance = instanceName(a.service, a.replica);
          const h = st.health.find((r) => r.node === n.name && r.instance === instance);
          return { instance, state: a.state, healthy: isHealthy(st.health, n.name, instance, now, staleMs), ...(h?.detail ? { detail: h.detail } : {}) };
        }),
    })),
    services: summarize(st.services, st.assignments, st.health, now, staleMs).map((s) => ({ ...s, problems: problems.filter((p) => p.service === s.name).map((p) => p.message) })),
    problems,
    invalid: st.invalid,
  };
}

/** One line per service for the sampler and humans: `name healthy/replicas placed nodes...`. */
export function summaryLine(v: DeployerView): string {
  return v.services.map((s) => `${s.name}=${s.healthy}/${s.replicas}[${Object.entries(s.nodes).map(([n, c]) => `${n}:${c}`).join(',')}]`).join(' ');
}
