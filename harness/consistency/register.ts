/**
 * The model a register history is judged against: one value (null: never
 * written), read / write / compare-and-set. A sequential specification:
 * given the state and an operation with its result, is the result possible,
 * and what is the state after. An operation whose result is unknown (info)
 * is possible in any state: a cas then applies exactly when it would have.
 */
import type { Operation } from './history.js';

export type RegisterValue = string | number | null;

export interface Model<S> {
  name: string;
  init: S;
  /** undefined: the result is impossible in this state. */
  step(state: S, op: Operation): S | undefined;
  /** Equal states give equal keys (the checker's cache). */
  key(state: S): string;
  /** One operation in words, for reports. */
  describe(op: Operation): string;
  /**
   * Optional: one key's operations less those that cannot change its verdict,
   * left out before the search. Must be exact (the verdict with and without
   * them is the same), not a heuristic.
   */
  prune?(ops: Operation[]): Operation[];
}

export const registerModel: Model<RegisterValue> = {
  name: 'register (read, write, cas)',
  init: null,
  step(state, op) {
    switch (op.f) {
      case 'read':
        if (op.status === 'info') return state;
        return op.output === state ? state : undefined;
      case 'write':
        return op.input as RegisterValue;
      case 'cas': {
        const [from, to] = op.input as [RegisterValue, RegisterValue];
        if (op.status === 'info') return state === from ? to : state;
        if (op.output === true) return state === from ? to : undefined;
        if (op.output === false) return state === from ? undefined : state;
        throw new Error(`cas result must be true or false, got ${JSON.stringify(op.output)} (operation ${op.id})`);
      }
      default:
        throw new Error(`a register has read, write and cas, not '${op.f}' (operation ${op.id})`);
    }
  },
  key: (s) => JSON.stringify(s),
  // Unknown outcomes are what make a search blow up: each may take effect at any point after its call. Two kinds can go:
  // - a read with an unknown outcome: it changes nothing and any state fits it;
  // - on a key with no cas, a write with an unknown outcome whose value no read returned: placed after every other
  //   operation (allowed: it has no return) it changes no read, and in any linearization with it, it is never the write
  //   a read saw, so the rest in the same order is one without it.
  // With a cas on the key a write can decide a cas (a failed one needs a different value), so those writes stay.
  prune(ops) {
    const hasCas = ops.some((o) => o.f === 'cas');
    const read = new Set(ops.filter((o) => o.f === 'read' && o.status === 'ok').map((o) => JSON.stringify(o.output)));
    return ops.filter((o) => o.status === 'ok' || (o.f === 'write' ? hasCas || read.has(JSON.stringify(o.input)) : o.f !== 'read'));
  },
  describe(op) {
    const out = op.status === 'info' ? '?' : JSON.stringify(op.output);
    if (op.f === 'read') return `read -> ${out}`;
    if (op.f === 'write') return `write ${JSON.stringify(op.input)}${op.status === 'info' ? ' (unknown)' : ''}`;
    const [from, to] = op.input as [RegisterValue, RegisterValue];
    return `cas ${JSON.stringify(from)}->${JSON.stringify(to)} -> ${out}`;
  },
};
