/**
 * Bare-metal state in chainfire, under /ultracloud/deployer/bm/:
 *
 *   bm/defs            the definitions document (validated JSON, `deployerctl bm-seed`)
 *   bm/status/<node>   one node's install: {state, installId, attempts, step, agentTokenSha256, report, ...}
 *
 * Every deployer reads and writes these (not only the leader); a status
 * update is a compare-and-swap on the key's mod revision, so two deployers
 * answering at once cannot lose an attempt. The view (`GET /v1/bm/nodes`,
 * `deployerctl bm-status`) is pure over one read.
 */
import type { Etcd, KeyValue } from '../etcd.js';
import { PREFIX } from '../state.js';
import { type BmDefs, desiredSystem, validateBmDefs } from './schema.js';

export const BM_PREFIX = `${PREFIX}bm/`;
export const BK = {
  defs: `${BM_PREFIX}defs`,
  statusPrefix: `${BM_PREFIX}status/`,
  status: (node: string) => `${BM_PREFIX}status/${node}`,
};

export type BmState = 'registered' | 'installing' | 'installed' | 'converged' | 'failed';

export interface BmReport {
  installId: string;
  generation: string;
  healthy: boolean;
  checks: { name: string; ok: boolean; output: string }[];
  at: number;
}

export interface BmStatus {
  state: BmState;
  installId: string | null;
  /** Phone-homes so far (each starts a new install). */
  attempts: number;
  /** The last progress step (or "disk-selector" when the plan did not fit). */
  step: string | null;
  /** Why it failed (a progress message, the selector error). */
  message?: string;
  firmware?: string;
  agentTokenSha256?: string;
  /** The agent's last report for the current install. */
  report: BmReport | null;
  convergedAt: number | null;
  updatedAt: number;
}

export const emptyStatus = (): BmStatus => ({ state: 'registered', installId: null, attempts: 0, step: null, report: null, convergedAt: null, updatedAt: 0 });

/** One node as `GET /v1/bm/nodes` shows it (stacks/contracts.ts names it BaremetalNodeStatus): its status without the token, its definition's names. */
export interface BmNodeView extends Omit<BmStatus, 'agentTokenSha256'> {
  id: string;
  hostname: string;
  class: string;
  system: string;
  /** The desired system's current generation. */
  generation: string;
}

export interface BmSnapshot {
  revision: number;
  defs: BmDefs;
  /** An unreadable definitions key (written by hand?): nothing is defined then, and the error says why. */
  defsError?: string;
  status: Map<string, { value: BmStatus; modRevision: number }>;
}

const EMPTY: BmDefs = { bundle: null, systems: {}, classes: {}, nodes: {} };

export function parseBm(kvs: KeyValue[], revision: number): BmSnapshot {
  const snap: BmSnapshot = { revision, defs: EMPTY, status: new Map() };
  for (const kv of kvs) {
    if (kv.key === BK.defs) {
      try {
        snap.defs = validateBmDefs(JSON.parse(kv.value));
      } catch (e) {
        snap.defsError = (e as Error).message;
      }
    } else if (kv.key.startsWith(BK.statusPrefix)) {
      try {
        snap.status.set(kv.key.slice(BK.statusPrefix.length), { value: { ...emptyStatus(), ...(JSON.parse(kv.value) as BmStatus) }, modRevision: kv.modRevision });
      } catch {
        // unreadable: treated as registered (a new phone-home replaces it)
      }
    }
  }
  return snap;
}

export async function readBm(etcd: Etcd): Promise<BmSnapshot> {
  const { kvs, revision } = await etcd.list(BM_PREFIX);
  return parseBm(kvs, revision);
}

export function bmView(snap: BmSnapshot): BmNodeView[] {
  return Object.entries(snap.defs.nodes)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([id, rec]) => {
      const st = snap.status.get(id)?.value ?? emptyStatus();
      const d = desiredSystem(snap.defs, id);
      return {
        id,
        hostname: rec.hostname,
        class: rec.class,
        system: d.system,
        // Converged on an older generation (the definitions changed since): not converged until the agent reports the new one.
        state: st.state === 'converged' && st.report?.generation !== d.generation ? 'installed' : st.state,
        installId: st.installId,
        attempts: st.attempts,
        step: st.step,
        ...(st.message ? { message: st.message } : {}),
        ...(st.firmware ? { firmware: st.firmware } : {}),
        generation: d.generation,
        report: st.report,
        convergedAt: st.convergedAt,
        updatedAt: st.updatedAt,
      };
    });
}

/**
 * Changes one node's status with `change` (given the current one, returns the new one or throws), as a
 * compare-and-swap on the key's revision, retried on a conflict.
 */
export async function updateStatus(etcd: Etcd, node: string, change: (cur: BmStatus) => BmStatus): Promise<BmStatus> {
  for (let i = 0; i < 10; i++) {
    const kv = await etcd.get(BK.status(node));
    let cur = emptyStatus();
    if (kv) {
      try {
        cur = { ...cur, ...(JSON.parse(kv.value) as BmStatus) };
      } catch {
        // replaced below
      }
    }
    const next = { ...change(cur), updatedAt: Date.now() };
    const r = await etcd.txn(
      kv ? [{ key: BK.status(node), target: 'VALUE', value: kv.value }] : [{ key: BK.status(node), target: 'CREATE', createRevision: 0 }],
      [{ put: { key: BK.status(node), value: JSON.stringify(next) } }],
    );
    if (r.succeeded) return next;
  }
  throw new Error(`bm: status of ${node}: too many concurrent updates`);
}

/**
 * Writes a new definitions document (validated by the caller) and drops, in one transaction, the status of
 * nodes it no longer defines and of nodes whose bootstrap token it changes (a new token is a machine
 * provisioned anew: it starts over as registered); the status of the others is kept.
 */
export async function writeDefs(etcd: Etcd, defs: BmDefs): Promise<{ removed: string[] }> {
  const snap = await readBm(etcd);
  const removed = [...snap.status.keys()].filter((n) => !defs.nodes[n] || snap.defs.nodes[n]?.tokenSha256 !== defs.nodes[n].tokenSha256);
  const empty = Object.keys(defs.systems).length + Object.keys(defs.classes).length + Object.keys(defs.nodes).length === 0 && !defs.bundle;
  await etcd.txn(
    [],
    [
      empty ? { del: { key: BK.defs } } : { put: { key: BK.defs, value: JSON.stringify(defs) } },
      ...removed.map((n) => ({ del: { key: BK.status(n) } })),
    ],
  );
  return { removed };
}
