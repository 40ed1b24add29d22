/**
 * Linearizability of a history against a sequential model: Wing and Gong's
 * search with Lowe's cache (as Porcupine does it). Operations are events on
 * a list in time order (each a call and a return); the search takes, in
 * turn, each call still on the list whose operation the model accepts in
 * the current state, removes it (it is linearized there) and starts again
 * from the head; reaching a return first means the open choices were wrong,
 * so it undoes the last one. A (linearized set, state) pair seen before is
 * not searched twice. Keys are independent registers: each is checked on
 * its own (P-compositionality), which keeps the search small. Before the
 * search, the model may leave out operations that cannot change the verdict
 * (the register's unobserved unknown writes: Model.prune).
 *
 * A search that passes its time bound answers "unknown", never a guess.
 */
import type { Operation } from './history.js';
import type { Model } from './register.js';

export type Verdict = 'linearizable' | 'not linearizable' | 'unknown';

export interface Violation {
  key: string;
  /** The longest prefix the search could linearize, in its order. */
  linearized: Operation[];
  /** The state after that prefix, in the model's words (its key). */
  state: string;
  /** The operation whose return came before the search could place it: nothing open at that point fits it. */
  blocked: Operation;
  /** The operations still open when it got stuck (the blocked one among them): none of them can go next. */
  open: Operation[];
  /** The smallest window of time that shows it: from the first open operation's call to the blocked one's return. */
  window: { from: number; to: number };
}

export interface KeyResult {
  key: string;
  verdict: Verdict;
  operations: number;
  /** Of those, left out before the search as unable to change the verdict (Model.prune). */
  pruned: number;
  /** Search steps taken. */
  steps: number;
  ms: number;
  violation?: Violation;
}

export interface CheckResult {
  verdict: Verdict;
  keys: KeyResult[];
  ms: number;
}

interface Entry {
  op: Operation;
  isCall: boolean;
  time: number;
  prev: Entry | undefined;
  next: Entry | undefined;
  /** A call's return entry. */
  match?: Entry;
}

/** Checks every key of `ops` against `model`; `timeoutMs` bounds the whole check (a key not finished in time is "unknown"). */
export function checkLinearizable<S>(model: Model<S>, ops: Operation[], timeoutMs = 30_000): CheckResult {
  const t0 = Date.now();
  const byKey = new Map<string, Operation[]>();
  for (const op of ops) byKey.set(op.key, [...(byKey.get(op.key) ?? []), op]);
  const keys = [...byKey.keys()].sort().map((key) => checkKey(model, key, byKey.get(key) ?? [], t0 + timeoutMs));
  const verdict: Verdict = keys.some((k) => k.verdict === 'not linearizable') ? 'not linearizable' : keys.some((k) => k.verdict === 'unknown') ? 'unknown' : 'linearizable';
  return { verdict, keys, ms: Date.now() - t0 };
}

function checkKey<S>(model: Model<S>, key: string, all: Operation[], deadline: number): KeyResult {
  const t0 = Date.now();
  const ops = model.prune ? model.prune(all) : all;
  const head = buildList(ops);
  const n = ops.length;
  const linearized = new Uint8Array(n);
  const local = new Map(ops.map((o, i) => [o, i]));
  const seen = new Set<string>();
  const stack: Array<{ entry: Entry; state: S }> = [];
  let state = model.init;
  let entry = head.next;
  let steps = 0;
  let deepest: { order: Operation[]; state: S; blocked: Operation; open: Operation[] } | undefined;
  const result = (verdict: Verdict, violation?: Violation): KeyResult => ({ key, verdict, operations: all.length, pruned: all.length - n, steps, ms: Date.now() - t0, violation });

  while (head.next !== undefined) {
    if (++steps % 4096 === 0 && Date.now() > deadline) return result('unknown');
    if (entry === undefined) throw new Error('linearizability search ran off its list'); // a return always ends the list
    if (entry.isCall) {
      const next = model.step(state, entry.op);
      if (next !== undefined) {
        const i = local.get(entry.op) as number;
        linearized[i] = 1;
        const cacheKey = `${bitsKey(linearized)}|${model.key(next)}`;
        if (!seen.has(cacheKey)) {
          seen.add(cacheKey);
          stack.push({ entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        linearized[i] = 0;
      }
      entry = entry.next;
      continue;
    }
    // A return before its call was placed: the choices so far cannot be completed.
    if (!deepest || stack.length > deepest.order.length) {
      deepest = { order: stack.map((s) => s.entry.op), state, blocked: entry.op, open: openOps(head) };
    }
    const top = stack.pop();
    if (!top) {
      const d = deepest;
      const from = Math.min(...d.open.map((o) => o.call));
      return result('not linearizable', {
        key,
        linearized: d.order,
        state: model.key(d.state),
        blocked: d.blocked,
        open: d.open,
        window: { from, to: d.blocked.ret },
      });
    }
    state = top.state;
    linearized[local.get(top.entry.op) as number] = 0;
    unlift(top.entry);
    entry = top.entry.next;
  }
  return result('linearizable');
}

/** Calls and returns in time order, a call before a return at the same instant (touching operations count as concurrent); a sentinel head. */
function buildList(ops: Operation[]): Entry {
  const events: Entry[] = [];
  for (const op of ops) {
    const call: Entry = { op, isCall: true, time: op.call, prev: undefined, next: undefined };
    const ret: Entry = { op, isCall: false, time: op.ret, prev: undefined, next: undefined };
    call.match = ret;
    events.push(call, ret);
  }
  events.sort((a, b) => a.time - b.time || (a.isCall === b.isCall ? a.op.id - b.op.id : a.isCall ? -1 : 1));
  const head: Entry = { op: undefined as unknown as Operation, isCall: false, time: Number.NEGATIVE_INFINITY, prev: undefined, next: undefined };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }
  return head;
}

/** Takes a call and its return out of the list (the operation is linearized). */
function lift(call: Entry): void {
  unlink(call);
  unlink(call.match as Entry);
}

/** Puts them back, in the reverse order of lift (their neighbours' links still point at them). */
function unlift(call: Entry): void {
  relink(call.match as Entry);
  relink(call);
}

function unlink(e: Entry): void {
  if (e.prev) e.prev.next = e.next;
  if (e.next) e.next.prev = e.prev;
}

function relink(e: Entry): void {
  if (e.prev) e.prev.next = e;
  if (e.next) e.next.prev = e;
}

/** The operations whose call is on the list before the first return: those that could go next. */
function openOps(head: Entry): Operation[] {
  const out: Operation[] = [];
  for (let e = head.next; e; e = e.next) {
    if (!e.isCall) {
      if (!out.includes(e.op)) out.push(e.op);
      break;
    }
    out.push(e.op);
  }
  return out;
}

function bitsKey(bits: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bits.length; i += 16) {
    let w = 0;
    for (let j = i; j < Math.min(i + 16, bits.length); j++) w = (w << 1) | bits[j];
    s += String.fromCharCode(w); // one UTF-16 unit per 16 operations
  }
  return s;
}
