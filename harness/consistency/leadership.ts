/**
 * A leader-election history checked against the store that fences it
 * (issue 28: the deployer's leadership). Two sources, read after the run:
 *
 * - the store's own history (chainfire's revisions): every term, which is
 *   a leader key from its creation to its deletion (a lease that ran out or
 *   was revoked deletes it), and every write under the leader's keys;
 * - each candidate's log: every action it took as leader, with its term,
 *   its lease and the revision it committed at.
 *
 * The history is safe when one leader acts at a time and never after its
 * term ended: every action lies inside its own term, by that term's holder
 * and lease; terms never overlap; and every leader write in the store is
 * claimed by exactly one logged action at its revision (a write nobody
 * logged is a leader acting outside the protocol). A write whose answer
 * never came (logged as unknown: it may have committed) claims a store
 * write of one of its keys only inside its own term, as Jepsen treats an
 * operation of unknown outcome. Pure.
 */

export interface LeaderTerm {
  /** The leader key's create revision. */
  term: number;
  holder: string;
  lease: string;
  /** The revision that deleted the key; undefined while it is held. */
  ended?: number;
}

export interface LeaderWrite {
  revision: number;
  key: string;
  type: 'put' | 'delete';
}

export interface LeaderAction {
  node: string;
  term: number;
  lease: string;
  revision: number;
  keys: string[];
}

export interface LeadershipHistory {
  /** The store's revision when the run began: actions and writes after it are judged. */
  from: number;
  /** The revision the store's history was read up to. */
  to: number;
  /** The term held at `from` (if any), then every term begun after it, in order. */
  terms: LeaderTerm[];
  writes: LeaderWrite[];
  actions: LeaderAction[];
  /** Writes a candidate attempted and the store refused (its key was no longer its term): the fence at work. */
  fenced: { node: string; term: number }[];
  /** Writes that got no answer (a timeout): each may have committed, at a revision nobody logged. */
  unknown: { node: string; term: number; lease: string; keys: string[] }[];
}

export interface LeadershipCheck {
  ok: boolean;
  violations: string[];
  /** Terms that began during the run (after `from`). */
  newTerms: number;
  actions: number;
  writes: number;
  fenced: number;
  /** Writes logged without an answer (each may have committed). */
  unknown: number;
  /** Actions per term, in term order: `node01@812: 4`. */
  perTerm: string[];
}

const inTerm = (t: LeaderTerm, revision: number) => revision > t.term && (t.ended === undefined || revision < t.ended);
const termName = (t: LeaderTerm) => `${t.holder}'s term ${t.term} (lease ${t.lease}, ${t.ended === undefined ? 'still held' : `ended at ${t.ended}`})`;

export function checkLeadership(h: LeadershipHistory): LeadershipCheck {
  const violations: string[] = [];
  const terms = [...h.terms].sort((a, b) => a.term - b.term);
  for (let i = 1; i < terms.length; i++) {
    const [a, b] = [terms[i - 1], terms[i]];
    if (a.ended === undefined || a.ended > b.term) violations.push(`two leaders at once: ${termName(b)} began while ${termName(a)} was held`);
  }
  const byTerm = new Map(terms.map((t) => [t.term, t]));
  const actions = h.actions.filter((a) => a.revision > h.from && a.revision <= h.to);
  for (const a of actions) {
    const t = byTerm.get(a.term);
    const what = `${a.node}'s write at revision ${a.revision} (${a.keys.join(', ')}) in term ${a.term}`;
    if (!t) violations.push(`${what}: no leader key in the store's history had that term`);
    else if (t.holder !== a.node || t.lease !== a.lease) violations.push(`${what}: the term was ${termName(t)}, not ${a.node}'s with lease ${a.lease}`);
    else if (!inTerm(t, a.revision)) violations.push(`${what}: outside the term, ${termName(t)}${t.ended !== undefined && a.revision >= t.ended ? ': its leader key (and lease) was gone' : ''}`);
    const holder = terms.find((x) => inTerm(x, a.revision));
    if (t && holder && holder !== t) violations.push(`${what}: at that revision ${termName(holder)} led`);
  }
  const writes = h.writes.filter((w) => w.revision > h.from && w.revision <= h.to);
  const claimed = new Map<number, LeaderAction[]>();
  for (const a of actions) claimed.set(a.revision, [...(claimed.get(a.revision) ?? []), a]);
  for (const [revision, as] of claimed) {
    if (as.length > 1) violations.push(`revision ${revision} claimed by ${as.length} actions (${as.map((a) => `${a.node}@${a.term}`).join(', ')})`);
    if (!writes.some((w) => w.revision === revision)) violations.push(`${as[0].node} logged a write at revision ${revision} the store's history does not have`);
  }
  for (const w of writes) {
    const a = claimed.get(w.revision)?.[0];
    const live = terms.find((x) => inTerm(x, w.revision));
    if (a) {
      if (!a.keys.includes(w.key)) violations.push(`${w.type} ${w.key} at revision ${w.revision} is not among the keys ${a.node} logged for that write`);
      continue;
    }
    // No answer came for it: one of the live term's own unknown writes of that key, or nobody's.
    const maybe = h.unknown.filter((u) => u.keys.includes(w.key));
    if (live && maybe.some((u) => u.term === live.term && u.node === live.holder && u.lease === live.lease)) continue;
    const where = live ? `in ${termName(live)}` : 'while no leader key existed';
    violations.push(
      maybe.length > 0
        ? `${w.type} ${w.key} at revision ${w.revision} (${where}) matches only unanswered writes of other terms: ${maybe.map((u) => `${u.node}@${u.term}`).join(', ')}`
        : `a leader write no deployer logged: ${w.type} ${w.key} at revision ${w.revision} (${where})`,
    );
  }
  const perTerm = terms.map((t) => `${t.holder}@${t.term}: ${actions.filter((a) => a.term === t.term).length}`);
  return { ok: violations.length === 0, violations, newTerms: terms.filter((t) => t.term > h.from).length, actions: actions.length, writes: writes.length, fenced: h.fenced.length, unknown: h.unknown.length, perTerm };
}
