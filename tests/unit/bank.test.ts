/**
 * The bank checker (harness/consistency/bank.ts) on hand-written
 * histories: a clean run holds every invariant; a lost reservation,
 * commit or draw, a refused reservation that exists, a settle nobody asked
 * for, a draw counted twice, an account whose totals do not add up and a
 * read above the quota are each caught, and unknown outcomes are allowed
 * either way.
 */
import { describe, expect, it } from 'vitest';
import { type BankEvent, type BankFinals, type BankSetup, checkBank, subsetSum } from '../../harness/consistency/bank.js';

const A = 'acct-alice';
let clock = 0;
/** One operation by `p` on alice's account: invoke, then its end (`type`, with `value` for an ok). */
function op(p: number, f: string, arg: object, type: BankEvent['type'], value?: unknown, status?: number): BankEvent[] {
  const key = (arg as { id?: string }).id ?? A;
  return [
    { process: p, type: 'invoke', f, key, account: A, value: arg, time: (clock += 10) },
    { process: p, type, f, key, account: A, time: (clock += 10), ...(value !== undefined ? { value } : {}), ...(status !== undefined ? { status } : {}) },
  ];
}
const setup: BankSetup = { initial: { [A]: { balance: 1000, reserved: 2 } }, quotas: { [A]: 42 } };
const res = (id: string, amount: number, state: 'reserved' | 'committed' | 'rolled_back', used = 0) => ({ id, account: A, amount, state, used });

/** r1 (5) committed with two draws, r2 (3) rolled back, r3 (4) still open, r4 refused. */
function cleanRun(): { events: BankEvent[]; finals: BankFinals } {
  const events = [
    ...op(0, 'reserve', { id: 'r1', amount: 5 }, 'ok', { id: 'r1' }, 201),
    ...op(0, 'draw', { id: 'r1', cost: 2 }, 'ok', { used: 2 }, 204),
    ...op(1, 'reserve', { id: 'r2', amount: 3 }, 'ok', { id: 'r2' }, 201),
    ...op(0, 'draw', { id: 'r1', cost: 1 }, 'ok', { used: 3 }, 204),
    ...op(0, 'settle', { id: 'r1', action: 'commit' }, 'ok', { balance: 995, reserved: 5 }, 200),
    ...op(1, 'settle', { id: 'r2', action: 'rollback' }, 'ok', { balance: 995, reserved: 2 }, 200),
    ...op(1, 'reserve', { id: 'r3', amount: 4 }, 'ok', { id: 'r3' }, 201),
    ...op(0, 'reserve', { id: 'r4', amount: 50 }, 'fail', undefined, 403),
    ...op(0, 'read', { account: A }, 'ok', { balance: 995, reserved: 6 }, 200),
  ];
  const finals: BankFinals = {
    reservations: { r1: res('r1', 5, 'committed', 3), r2: res('r2', 3, 'rolled_back'), r3: res('r3', 4, 'reserved'), r4: null },
    accounts: { [A]: { balance: 995, reserved: 6 } },
  };
  return { events, finals };
}

const problems = (c: ReturnType<typeof checkBank>) => [...c.lost, ...c.impossible, ...c.unconserved, ...c.badReads];

describe('the bank checker', () => {
  it('a clean run holds every invariant, and its totals are what the history accounts for', () => {
    const { events, finals } = cleanRun();
    const c = checkBank(events, finals, setup);
    expect(problems(c)).toEqual([]);
    expect(c.acknowledged).toEqual({ reserve: 3, draw: 2, commit: 1, rollback: 1 });
    expect(c.accounts[A]).toEqual({ initial: { balance: 1000, reserved: 2 }, final: { balance: 995, reserved: 6 }, committed: 5, open: 4 });
  });

  it('an acknowledged reservation, commit or draw missing at the end is lost', () => {
    const { events, finals } = cleanRun();
    const gone = { ...finals, reservations: { ...finals.reservations, r3: null }, accounts: { [A]: { balance: 995, reserved: 2 } } };
    expect(checkBank(events, gone, setup).lost).toEqual([expect.stringMatching(/^reservation r3 \(4\) acknowledged at \d+ ms does not exist at the end$/)]);
    const uncommitted = { reservations: { ...finals.reservations, r1: res('r1', 5, 'reserved', 3) }, accounts: { [A]: { balance: 1000, reserved: 11 } } };
    expect(checkBank(events, uncommitted, setup).lost).toEqual([expect.stringMatching(/^reservation r1: its commit was acknowledged at \d+ ms, and it is reserved at the end$/)]);
    const undrawn = { ...finals, reservations: { ...finals.reservations, r1: res('r1', 5, 'committed', 2) } };
    expect(checkBank(events, undrawn, setup).lost).toEqual(['reservation r1 used 2 at the end, less than its acknowledged draws (2 + 1 = 3)']);
  });

  it('a refused reservation that exists, or a settle nobody asked for, is impossible', () => {
    const { events, finals } = cleanRun();
    const refusedExists = { reservations: { ...finals.reservations, r4: res('r4', 50, 'reserved') }, accounts: { [A]: { balance: 995, reserved: 56 } } };
    expect(checkBank(events, refusedExists, setup).impossible).toEqual(['reservation r4 was refused (undefined) and exists at the end']);
    const settledAlone = { reservations: { ...finals.reservations, r3: res('r3', 4, 'committed') }, accounts: { [A]: { balance: 991, reserved: 2 } } };
    expect(checkBank(events, settledAlone, setup).impossible).toEqual(['reservation r3 is committed and no commit was acknowledged or left unknown']);
  });

  it('a draw counted twice is impossible; unknown draws may or may not count', () => {
    const events = [
      ...op(0, 'reserve', { id: 'r1', amount: 9 }, 'ok', { id: 'r1' }, 201),
      ...op(0, 'draw', { id: 'r1', cost: 2 }, 'ok', { used: 2 }, 204),
      ...op(0, 'draw', { id: 'r1', cost: 3 }, 'info'),
    ];
    const at = (used: number): BankFinals => ({ reservations: { r1: res('r1', 9, 'reserved', used) }, accounts: { [A]: { balance: 1000, reserved: 11 } } });
    expect(problems(checkBank(events, at(2), setup))).toEqual([]);
    expect(problems(checkBank(events, at(5), setup))).toEqual([]);
    // The acknowledged draw counted twice (2 + 2), or the unknown one twice (2 + 3 + 3).
    expect(checkBank(events, at(4), setup).impossible).toEqual(['reservation r1 used 4: not its acknowledged draws (2) plus some of its unknown ones (3), each once']);
    expect(checkBank(events, at(8), setup).impossible).toEqual(['reservation r1 used 8: not its acknowledged draws (2) plus some of its unknown ones (3), each once']);
  });

  it('unknown reservations and settlements may have happened or not; the totals still add up exactly', () => {
    const events = [...op(0, 'reserve', { id: 'r1', amount: 5 }, 'info'), ...op(1, 'reserve', { id: 'r2', amount: 7 }, 'info'), ...op(1, 'settle', { id: 'r2', action: 'commit' }, 'info')];
    const applied: BankFinals = { reservations: { r1: null, r2: res('r2', 7, 'committed') }, accounts: { [A]: { balance: 993, reserved: 2 } } };
    expect(problems(checkBank(events, applied, setup))).toEqual([]);
    expect(problems(checkBank(events, { reservations: { r1: res('r1', 5, 'reserved'), r2: null }, accounts: { [A]: { balance: 1000, reserved: 7 } } }, setup))).toEqual([]);
  });

  it('an account whose totals do not add up is unconserved', () => {
    const { events, finals } = cleanRun();
    const c = checkBank(events, { ...finals, accounts: { [A]: { balance: 990, reserved: 7 } } }, setup);
    expect(c.unconserved).toEqual([`${A}: balance 990 at the end; 1000 at the start less 5 committed is 995`, `${A}: reserved 7 at the end; 2 at the start plus 4 still reserved is 6`]);
  });

  it('reads below zero, with nothing available, or above the quota are bad', () => {
    const { finals } = cleanRun();
    const read = (balance: number, reserved: number) => checkBank(op(0, 'read', { account: A }, 'ok', { balance, reserved }, 200), { ...finals, reservations: {} , accounts: { [A]: { balance: 1000, reserved: 2 } } }, setup).badReads;
    expect(read(10, 43)[1]).toMatch(/shows reserved 43 above the quota 42$/);
    expect(read(10, 11)).toEqual([expect.stringMatching(/shows -1 available \(balance 10, reserved 11\)$/)]);
    expect(read(-1, 0)).toEqual([expect.stringMatching(/shows balance -1, reserved 0$/)]);
    expect(read(50, 42)).toEqual([]);
  });

  it('an end state that was not read is an error, not a pass', () => {
    const { events, finals } = cleanRun();
    const { r3: _, ...without } = finals.reservations;
    expect(() => checkBank(events, { ...finals, reservations: without }, setup)).toThrow('the end state was not read for reservation r3');
  });

  it('subset sums', () => {
    expect(subsetSum([3, 1, 2], 6)).toBe(true);
    expect(subsetSum([3, 1, 2], 0)).toBe(true);
    expect(subsetSum([3, 3], 4)).toBe(false);
    expect(subsetSum([], 1)).toBe(false);
  });
});
