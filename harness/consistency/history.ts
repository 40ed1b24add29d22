/**
 * A recorded history, as Jepsen records one: every operation a client
 * starts is an `invoke`, and it ends as `ok` (it happened, with this
 * result), `fail` (it certainly did not happen) or `info` (unknown: a
 * timeout, a lost connection; it may have happened at any time after its
 * invoke, or never). One monotonic clock for all clients of a run.
 *
 * pairOperations turns the events into operations with a call and a return
 * time: a `fail` is dropped (it did not happen), an `info` or an invoke
 * with no end gets an open return (Infinity), as Knossos and Porcupine
 * treat them.
 */

export type EventType = 'invoke' | 'ok' | 'fail' | 'info';

export interface HistoryEvent {
  /** The client (Jepsen's process): one operation open at a time. A client that saw `info` goes on under a new number. */
  process: number;
  type: EventType;
  /** The operation: 'read', 'write', 'cas' for a register. */
  f: string;
  /** Which register (keys are checked separately). */
  key: string;
  /** The invoke's argument; the completion's result (a read's value, a cas's applied or not). */
  value?: unknown;
  /** Monotonic time, one clock for the whole history (ms). */
  time: number;
  /** Why it failed or is unknown (the error the client saw). */
  error?: string;
}

export interface Operation {
  /** Index among the history's operations (stable, for reports). */
  id: number;
  process: number;
  f: string;
  key: string;
  input: unknown;
  /** The result when `ok`; undefined when unknown. */
  output: unknown;
  call: number;
  /** Infinity when the outcome is unknown. */
  ret: number;
  status: 'ok' | 'info';
  error?: string;
}

export class HistoryError extends Error {}

/** The history's operations in invoke order; an event that breaks the protocol (an end without an invoke, two invokes open on one client, a mismatched f) is an error naming it. */
export function pairOperations(events: HistoryEvent[]): Operation[] {
  const open = new Map<number, { e: HistoryEvent; at: number }>();
  const done: Array<Omit<Operation, 'id'>> = [];
  events.forEach((e, i) => {
    const where = `event ${i} (process ${e.process}, ${e.type} ${e.f})`;
    if (!Number.isFinite(e.time)) throw new HistoryError(`${where}: time ${e.time} is not a number`);
    if (e.type === 'invoke') {
      if (open.has(e.process)) throw new HistoryError(`${where}: process ${e.process} already has an operation open (event ${open.get(e.process)?.at})`);
      open.set(e.process, { e, at: i });
      return;
    }
    const inv = open.get(e.process);
    if (!inv) throw new HistoryError(`${where}: no invoke open on process ${e.process}`);
    if (inv.e.f !== e.f || inv.e.key !== e.key) throw new HistoryError(`${where}: ends ${inv.e.f} ${inv.e.key} (event ${inv.at}) as ${e.f} ${e.key}`);
    if (e.time < inv.e.time) throw new HistoryError(`${where}: ends at ${e.time}, before its invoke at ${inv.e.time}`);
    open.delete(e.process);
    if (e.type === 'fail') return;
    done.push({
      process: e.process,
      f: e.f,
      key: e.key,
      input: inv.e.value,
      output: e.type === 'ok' ? e.value : undefined,
      call: inv.e.time,
      ret: e.type === 'ok' ? e.time : Number.POSITIVE_INFINITY,
      status: e.type === 'ok' ? 'ok' : 'info',
      error: e.error,
    });
  });
  for (const { e } of open.values()) {
    done.push({ process: e.process, f: e.f, key: e.key, input: e.value, output: undefined, call: e.time, ret: Number.POSITIVE_INFINITY, status: 'info', error: 'no end recorded' });
  }
  return done.sort((a, b) => a.call - b.call).map((o, id) => ({ ...o, id }));
}

/** Counts for a verdict line: operations, and ok / fail / info among the ends. */
export function countEvents(events: HistoryEvent[]): { operations: number; ok: number; fail: number; info: number } {
  const c = { operations: 0, ok: 0, fail: 0, info: 0 };
  for (const e of events) {
    if (e.type === 'invoke') c.operations++;
    else c[e.type]++;
  }
  c.info += c.operations - c.ok - c.fail - c.info; // invokes with no end are unknown too
  return c;
}

/** The longest time from an invoke to its end, over every ended operation (pure). */
export function longestOperationMs(events: HistoryEvent[]): number {
  const open = new Map<number, number>();
  let longest = 0;
  for (const e of events) {
    if (e.type === 'invoke') open.set(e.process, e.time);
    else if (open.has(e.process)) longest = Math.max(longest, e.time - (open.get(e.process) as number));
  }
  return longest;
}
