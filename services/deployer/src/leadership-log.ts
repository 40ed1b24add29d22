/**
 * The deployer's leadership, one journal line per event, so a run's whole
 * history can be read back and checked against chainfire's own (issue 28:
 * stacks/reference/deployer reads it, harness/consistency/leadership.ts
 * judges it). A term is the create revision of the leader key the deployer
 * holds; every write a leader makes is one transaction fenced on that key,
 * logged with the revision it committed at and the keys it wrote.
 *
 *   leadership {"event":"lead","term":812,"lease":"7587869913398432771"}
 *   leadership {"event":"act","term":812,"lease":"...","revision":815,"keys":["/ultracloud/deployer/assign/node05/ticker-0"]}
 *   leadership {"event":"unknown","term":812,"lease":"...","keys":[...]}   (a write with no answer: it may have committed)
 *   leadership {"event":"fenced","term":812,"lease":"..."}            (a pass's write refused: the key is no longer ours)
 *   leadership {"event":"step-down","term":812,"lease":"...","why":"lease expired"}
 */
export const LEADERSHIP_TAG = 'leadership';

interface Held {
  /** The leader key's create revision. */
  term: number;
  /** The lease it is bound to (etcd's 64-bit id, as the JSON gateway writes it: a decimal string). */
  lease: string;
}

export type LeadershipEvent =
  | (Held & { event: 'lead' })
  | (Held & { event: 'act'; revision: number; keys: string[] })
  | (Held & { event: 'unknown'; keys: string[] })
  | (Held & { event: 'fenced' })
  | (Held & { event: 'step-down'; why: string });

export function leadershipLine(e: LeadershipEvent): string {
  return `${LEADERSHIP_TAG} ${JSON.stringify(e)}`;
}

/** The event on a journal line (the message alone, as `journalctl -o cat` prints it), or undefined for any other line. */
export function parseLeadershipLine(line: string): LeadershipEvent | undefined {
  if (!line.startsWith(`${LEADERSHIP_TAG} {`)) return undefined;
  const e = JSON.parse(line.slice(LEADERSHIP_TAG.length + 1)) as LeadershipEvent;
  const held = Number.isInteger(e.term) && e.term > 0 && typeof e.lease === 'string' && /^\d+$/.test(e.lease);
  const shaped =
    e.event === 'lead' ||
    e.event === 'fenced' ||
    (e.event === 'step-down' && typeof e.why === 'string') ||
    (e.event === 'unknown' && Array.isArray(e.keys)) ||
    (e.event === 'act' && Number.isInteger(e.revision) && Array.isArray(e.keys));
  if (!held || !shaped) throw new Error(`not a leadership event: ${line.slice(0, 200)}`);
  return e;
}
