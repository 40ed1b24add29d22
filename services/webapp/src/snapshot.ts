/**
 * Snapshots: one JSON object per visit attempt, written to the bucket
 * before the counter moves. Keys sort by counter (zero-padded), and carry
 * a random suffix so two attempts at the same counter never overwrite each
 * other. Pure functions.
 */

export const SNAPSHOT_PREFIX = 'snapshots/';
/** Digits of the zero-padded counter in a key: sorts correctly up to 9,999,999,999 visits. */
export const COUNTER_DIGITS = 10;

const KEY_RE = /^snapshots\/(\d{10})-([0-9a-f]{8,32})\.json$/;

/** What a snapshot object holds. */
export interface Snapshot {
  counter: number;
  /** ISO time of the attempt. */
  at: string;
  /** The worker the VM ran on, when the metadata URL answered. */
  node: string | null;
  bootId: string;
  name: string;
}

/** `snapshots/<counter, 10 digits>-<suffix>.json`; `suffix` is 8-32 lowercase hex digits. */
export function snapshotKey(counter: number, suffix: string): string {
  if (!Number.isSafeInteger(counter) || counter < 1 || counter >= 10 ** COUNTER_DIGITS) {
    throw new RangeError(`snapshot counter ${counter} is outside 1-${10 ** COUNTER_DIGITS - 1}`);
  }
  if (!/^[0-9a-f]{8,32}$/.test(suffix)) throw new RangeError(`snapshot suffix ${JSON.stringify(suffix)} must be 8-32 lowercase hex digits`);
  return `${SNAPSHOT_PREFIX}${String(counter).padStart(COUNTER_DIGITS, '0')}-${suffix}.json`;
}

/** The counter a snapshot key names, or null when it is not a snapshot key. */
export function counterOfKey(key: string): number | null {
  const m = KEY_RE.exec(key);
  return m ? Number(m[1]) : null;
}

/** The object's body: one line of JSON with a newline. */
export function snapshotBody(s: Snapshot): string {
  const { counter, at, node, bootId, name } = s;
  return `${JSON.stringify({ counter, at, node, bootId, name })}\n`;
}

/** A snapshot object's body parsed back; throws when it is not one. */
export function parseSnapshot(body: string): Snapshot {
  const v = JSON.parse(body) as Record<string, unknown>;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error('snapshot: not a JSON object');
  const { counter, at, node, bootId, name } = v;
  if (typeof counter !== 'number' || !Number.isSafeInteger(counter) || counter < 1) throw new Error(`snapshot: bad counter ${JSON.stringify(counter)}`);
  if (typeof at !== 'string' || Number.isNaN(Date.parse(at))) throw new Error(`snapshot: bad at ${JSON.stringify(at)}`);
  if (node !== null && typeof node !== 'string') throw new Error(`snapshot: bad node ${JSON.stringify(node)}`);
  if (typeof bootId !== 'string' || typeof name !== 'string') throw new Error('snapshot: bootId and name must be strings');
  return { counter, at, node, bootId, name };
}
