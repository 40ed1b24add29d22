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
  describe(op) {
    const out = op.status === 'info' ? '?' : JSON.stringify(op.output);
    if (op.f === 'read') return `read -> ${out}`;
    if (op.f === 'write') return `write ${JSON.stringify(op.input)}${op.status === 'info' ? ' (unknown)' : ''}`;
    const [from, to] = op.input as [RegisterValue, RegisterValue];
    return `cas ${JSON.stringify(from)}->${JSON.stringify(to)} -> ${out}`;
  },
};
