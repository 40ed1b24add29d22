/**
 * The linearizability checker on histories whose answer is known: written
 * by hand (a stale read, a lost write, a read of a value never written, a
 * cas that claims to apply on the wrong value), and random small histories
 * judged by brute force (every order that respects real time).
 */
import { describe, expect, it } from 'vitest';
import { type HistoryEvent, type Operation, HistoryError, countEvents, pairOperations } from '../../harness/consistency/history.js';
import { checkLinearizable } from '../../harness/consistency/linearizable.js';
import { type RegisterValue, registerModel } from '../../harness/consistency/register.js';

/** [process, f, input, output | 'info', call, ret] rows: one operation each. */
type Row = [number, 'read' | 'write' | 'cas', unknown, unknown, number, number];
function history(rows: Row[], key = 'r'): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  for (const [process, f, input, output, call, ret] of rows) {
    events.push({ process, type: 'invoke', f, key, value: input, time: call });
    events.push(output === 'info' ? { process, type: 'info', f, key, time: ret, error: 'timeout' } : { process, type: 'ok', f, key, value: output, time: ret });
  }
  return events.sort((a, b) => a.time - b.time);
}
const check = (rows: Row[]) => checkLinearizable(registerModel, pairOperations(history(rows)));

describe('linearizability checker: hand-written histories', () => {
  it('sequential and concurrent histories that have an order pass', () => {
    expect(check([[1, 'write', 1, undefined, 0, 1], [2, 'read', undefined, 1, 2, 3]]).verdict).toBe('linearizable');
    // The read overlaps the write: it may see the old value or the new.
    expect(check([[1, 'write', 1, undefined, 0, 10], [2, 'read', undefined, null, 1, 2]]).verdict).toBe('linearizable');
    expect(check([[1, 'write', 1, undefined, 0, 10], [2, 'read', undefined, 1, 1, 2]]).verdict).toBe('linearizable');
    // Two overlapping writes, reads after both agree on one winner.
    expect(
      check([[1, 'write', 1, undefined, 0, 10], [2, 'write', 2, undefined, 1, 9], [3, 'read', undefined, 1, 11, 12], [4, 'read', undefined, 1, 13, 14]]).verdict,
    ).toBe('linearizable');
    expect(check([[1, 'write', 1, undefined, 0, 1], [2, 'cas', [1, 2], true, 2, 3], [3, 'cas', [1, 3], false, 4, 5], [1, 'read', undefined, 2, 6, 7]]).verdict).toBe('linearizable');
  });

  it('a stale read (the old value after a newer write completed) fails, naming the read and the window', () => {
    const r = check([[1, 'write', 1, undefined, 0, 1], [1, 'write', 2, undefined, 2, 3], [2, 'read', undefined, 1, 4, 5]]);
    expect(r.verdict).toBe('not linearizable');
    const v = r.keys[0].violation;
    expect(v?.blocked.f).toBe('read');
    expect(v?.blocked.output).toBe(1);
    expect(v?.state).toBe('2');
    expect(v?.linearized.map((o) => o.input)).toEqual([1, 2]);
    expect(v?.window).toEqual({ from: 4, to: 5 });
  });

  it('a lost write (two readers after it see the value before it) fails', () => {
    const r = check([[1, 'write', 'a', undefined, 0, 1], [2, 'write', 'b', undefined, 2, 3], [3, 'read', undefined, 'a', 4, 5], [4, 'read', undefined, 'a', 6, 7]]);
    expect(r.verdict).toBe('not linearizable');
  });

  it('a read of a value never written fails; so does a cas that claims to apply on the wrong value', () => {
    expect(check([[1, 'write', 1, undefined, 0, 1], [2, 'read', undefined, 7, 2, 3]]).verdict).toBe('not linearizable');
    expect(check([[1, 'write', 1, undefined, 0, 1], [2, 'cas', [5, 6], true, 2, 3]]).verdict).toBe('not linearizable');
    expect(check([[1, 'write', 1, undefined, 0, 1], [2, 'cas', [1, 6], false, 2, 3]]).verdict).toBe('not linearizable');
  });

  it('a timed-out write may have happened at any later time or never; a timed-out cas applies only where it would', () => {
    // The unknown write shows up in a later read: fine; and a read that never sees it: fine.
    expect(check([[1, 'write', 9, 'info', 0, 1], [2, 'read', undefined, null, 2, 3], [2, 'read', undefined, 9, 4, 5]]).verdict).toBe('linearizable');
    expect(check([[1, 'write', 9, 'info', 0, 1], [2, 'read', undefined, null, 2, 3]]).verdict).toBe('linearizable');
    // It cannot have happened before its invoke.
    expect(check([[2, 'read', undefined, 9, 0, 1], [1, 'write', 9, 'info', 2, 3]]).verdict).toBe('not linearizable');
    // An unknown cas whose compare cannot hold never changes the value.
    expect(check([[1, 'write', 1, undefined, 0, 1], [2, 'cas', [5, 6], 'info', 2, 3], [1, 'read', undefined, 6, 4, 5]]).verdict).toBe('not linearizable');
  });

  it('keys are separate registers: a violation names its key, the other keys pass', () => {
    const ok = history([[1, 'write', 1, undefined, 0, 1], [2, 'read', undefined, 1, 2, 3]], 'a');
    const bad = history([[3, 'write', 1, undefined, 0, 1], [4, 'read', undefined, null, 2, 3]], 'b');
    const r = checkLinearizable(registerModel, pairOperations([...ok, ...bad].sort((x, y) => x.time - y.time)));
    expect(r.verdict).toBe('not linearizable');
    expect(r.keys.map((k) => [k.key, k.verdict])).toEqual([['a', 'linearizable'], ['b', 'not linearizable']]);
    expect(r.keys[1].violation?.key).toBe('b');
  });

  it('a search past its time bound answers unknown, not a verdict', () => {
    // Many overlapping unknown writes and reads that pin no order: a big search space.
    const rows: Row[] = [];
    for (let p = 0; p < 40; p++) rows.push([p, 'write', p, 'info', p, p + 1]);
    for (let p = 40; p < 80; p++) rows.push([p, 'read', undefined, p - 40, 100 + p, 1000]);
    rows.push([99, 'read', undefined, -1, 2000, 2001]); // never written: no order exists, but the search must try them all
    const r = checkLinearizable(registerModel, pairOperations(history(rows)), 50);
    expect(r.verdict).toBe('unknown');
    expect(r.keys[0].violation).toBeUndefined();
  });
});

describe('history events', () => {
  it('pairs invokes with their ends, drops fails, leaves unknowns open; counts for the verdict line', () => {
    const events: HistoryEvent[] = [
      { process: 1, type: 'invoke', f: 'write', key: 'r', value: 1, time: 0 },
      { process: 2, type: 'invoke', f: 'write', key: 'r', value: 2, time: 1 },
      { process: 1, type: 'ok', f: 'write', key: 'r', time: 2 },
      { process: 2, type: 'fail', f: 'write', key: 'r', time: 3, error: 'refused' },
      { process: 3, type: 'invoke', f: 'read', key: 'r', time: 4 },
      { process: 3, type: 'info', f: 'read', key: 'r', time: 5, error: 'timeout' },
      { process: 4, type: 'invoke', f: 'read', key: 'r', time: 6 },
    ];
    const ops = pairOperations(events);
    expect(ops.map((o) => [o.process, o.status, o.ret])).toEqual([[1, 'ok', 2], [3, 'info', Infinity], [4, 'info', Infinity]]);
    expect(countEvents(events)).toEqual({ operations: 4, ok: 1, fail: 1, info: 2 });
  });

  it('an end without an invoke, or a second invoke on an open client, is an error naming the event', () => {
    expect(() => pairOperations([{ process: 1, type: 'ok', f: 'read', key: 'r', time: 0 }])).toThrow(HistoryError);
    expect(() =>
      pairOperations([
        { process: 1, type: 'invoke', f: 'read', key: 'r', time: 0 },
        { process: 1, type: 'invoke', f: 'read', key: 'r', time: 1 },
      ]),
    ).toThrow('event 1 (process 1, invoke read): process 1 already has an operation open (event 0)');
  });
});

/** Every order of `ops` that respects real time (a before b when a returned before b was called), run through the model. */
function bruteForce(ops: Operation[]): boolean {
  const n = ops.length;
  const used = new Array<boolean>(n).fill(false);
  const go = (state: RegisterValue, placed: number): boolean => {
    if (placed === n) return true;
    for (let i = 0; i < n; i++) {
      if (used[i]) continue;
      // i can go next only if no unplaced operation returned before i was called.
      if (ops.some((o, j) => !used[j] && j !== i && o.ret < ops[i].call)) continue;
      const next = registerModel.step(state, ops[i]);
      if (next === undefined) continue;
      used[i] = true;
      if (go(next, placed + 1)) return true;
      used[i] = false;
    }
    return false;
  };
  return go(registerModel.init, 0);
}

/** A small random history on one register: up to 3 clients, 7 operations, some unknown; results either true to a real order or made up. */
function randomHistory(rand: () => number, honest: boolean, o: { cas: boolean; unknown: number } = { cas: true, unknown: 0.1 }): HistoryEvent[] {
  const rows: Row[] = [];
  const clientFree = [0, 0, 0];
  const n = 2 + Math.floor(rand() * 6);
  // Each operation's linearization point lies inside its interval; applying them in point order gives true results.
  const ops: Array<{ row: Row; point: number }> = [];
  for (let i = 0; i < n; i++) {
    const p = Math.floor(rand() * 3);
    const call = clientFree[p] + Math.floor(rand() * 3);
    const ret = call + 1 + Math.floor(rand() * 6);
    clientFree[p] = ret + 1;
    const kind = rand();
    const f = kind < 0.4 ? 'read' : kind < 0.75 || !o.cas ? 'write' : 'cas';
    const v = Math.floor(rand() * 3);
    const input = f === 'read' ? undefined : f === 'write' ? v : [Math.floor(rand() * 3), v];
    ops.push({ row: [p, f, input, undefined, call, ret], point: call + rand() * (ret - call) });
  }
  let state: RegisterValue = null;
  for (const o of [...ops].sort((a, b) => a.point - b.point)) {
    const [, f, input] = o.row;
    if (f === 'read') o.row[3] = state;
    else if (f === 'write') state = input as number;
    else {
      const [from, to] = input as [number, number];
      o.row[3] = state === from;
      if (state === from) state = to;
    }
  }
  for (const op of ops) {
    if (rand() < o.unknown) op.row[3] = 'info';
    else if (!honest && rand() < 0.3 && op.row[1] !== 'write') op.row[3] = op.row[1] === 'read' ? Math.floor(rand() * 4) : !op.row[3];
  }
  // Each client has one operation open at a time; its next call comes after its last return.
  return history(ops.map((o) => o.row));
}

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('linearizability checker against brute force', () => {
  it('agrees on 3000 random small histories, honest and made up', () => {
    const rand = seeded(20261206);
    let yes = 0;
    let no = 0;
    for (let i = 0; i < 3000; i++) {
      const ops = pairOperations(randomHistory(rand, i % 2 === 0));
      const expected = bruteForce(ops);
      const got = checkLinearizable(registerModel, ops).verdict;
      expect(got, `history ${i}: ${JSON.stringify(ops)}`).toBe(expected ? 'linearizable' : 'not linearizable');
      if (expected) yes++;
      else no++;
    }
    // Both answers occur often enough for the agreement to mean something.
    expect(yes).toBeGreaterThan(500);
    expect(no).toBeGreaterThan(300);
  });
});

describe('operations left out before the search (the register\'s prune)', () => {
  it('an unknown write whose value no read returned is left out, and so is an unknown read; a read value keeps its write', () => {
    const ops = pairOperations(history([
      [1, 'write', 1, 'ok', 0, 1],
      [2, 'write', 2, 'info', 2, 3],
      [3, 'read', undefined, 'info', 2, 4],
      [1, 'write', 3, 'info', 5, 6],
      [1, 'read', undefined, 3, 7, 8],
    ]));
    const kept = registerModel.prune!(ops);
    expect(kept.map((o) => registerModel.describe(o))).toEqual(['write 1', 'write 3 (unknown)', 'read -> 3']);
    const r = checkLinearizable(registerModel, ops);
    expect(r.keys[0]).toMatchObject({ verdict: 'linearizable', operations: 5, pruned: 2 });
  });

  it('with a cas on the key, unknown writes stay (one may be why a cas failed)', () => {
    const ops = pairOperations(history([
      [1, 'write', 1, 'ok', 0, 1],
      [2, 'write', 2, 'info', 2, 3],
      [1, 'cas', [1, 5], false, 4, 5],
    ]));
    expect(registerModel.prune!(ops)).toHaveLength(3);
    // Without the unknown write the failed cas would be impossible (the value was 1): it is what explains it.
    expect(checkLinearizable(registerModel, ops).verdict).toBe('linearizable');
    expect(checkLinearizable(registerModel, ops.filter((o) => o.status === 'ok')).verdict).toBe('not linearizable');
  });

  it('agrees with brute force on 3000 random read/write histories with many unknown outcomes, where it prunes', () => {
    const rand = seeded(20261207);
    let pruned = 0;
    let no = 0;
    for (let i = 0; i < 3000; i++) {
      const ops = pairOperations(randomHistory(rand, i % 2 === 0, { cas: false, unknown: 0.35 }));
      const expected = bruteForce(ops);
      const got = checkLinearizable(registerModel, ops);
      expect(got.verdict, `history ${i}: ${JSON.stringify(ops)}`).toBe(expected ? 'linearizable' : 'not linearizable');
      if (got.keys.some((k) => k.pruned > 0)) pruned++;
      if (!expected) no++;
    }
    expect(pruned, 'histories where something was left out').toBeGreaterThan(1000);
    expect(no, 'non-linearizable ones among them').toBeGreaterThan(200);
  });
});
