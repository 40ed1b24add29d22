/**
 * The end-state check (harness/consistency/lost-writes.ts) on hand-written
 * register histories: an acknowledged write replaced by an older value is
 * lost; writes concurrent with the last one, unacknowledged writes and a
 * late unknown write are not; a value no write made, or a refused write's
 * value, is impossible. And anomalies are tied to the faults they fell in.
 */
import { describe, expect, it } from 'vitest';
import { checkFinalState, writeRecords } from '../../harness/consistency/lost-writes.js';
import type { HistoryEvent } from '../../harness/consistency/history.js';
import { attributeAnomalies } from '../../fixtures/flaredb-registers.js';
import type { CheckResult } from '../../harness/consistency/linearizable.js';

type E = HistoryEvent & { acked?: number };
/** A write by `p` of `v` on r0 from `call` to `end`, ended as `type` (info with `acked`: applied, too few replicas). */
function write(p: number, v: number, call: number, end: number, type: E['type'] = 'ok', acked?: number): E[] {
  return [
    { process: p, type: 'invoke', f: 'write', key: 'r0', value: v, time: call },
    { process: p, type, f: 'write', key: 'r0', time: end, ...(acked !== undefined ? { acked } : {}) },
  ];
}

describe('lost acknowledged writes, from the end state', () => {
  it('an acknowledged write whose key ends with an older value is lost', () => {
    const events = [...write(0, 1, 0, 10), ...write(1, 2, 20, 30)];
    const r = checkFinalState(events, { r0: 1 });
    expect(r.lost.map((l) => [l.write.value, l.last?.value])).toEqual([[2, 1]]);
    expect(r.acknowledged).toBe(2);
    expect(checkFinalState(events, { r0: 2 }).lost).toEqual([]);
  });

  it('a key left unset loses every acknowledged write', () => {
    const r = checkFinalState([...write(0, 1, 0, 10), ...write(1, 2, 20, 30, 'info', 0)], { r0: null });
    expect(r.lost.map((l) => l.write.value)).toEqual([1]);
    expect(r.lost[0].last).toBeUndefined();
  });

  it('writes concurrent with the last one may end in either order', () => {
    // 1 runs 0-30 and 2 runs 10-20: either may be applied last.
    expect(checkFinalState([...write(0, 1, 0, 30), ...write(1, 2, 10, 20)], { r0: 1 }).lost).toEqual([]);
  });

  it('an unknown write may be applied any time after its invoke; one the primary applied (WAIT short) was applied by its end', () => {
    // A timed-out write of 1 invoked at 0 can come last after 2 (20-30): nothing lost.
    expect(checkFinalState([...write(0, 1, 0, 10, 'info'), ...write(1, 2, 20, 30)], { r0: 1 }).lost).toEqual([]);
    // Applied on a primary by 10 (WAIT counted 0): ending with it means 2, acknowledged after, was lost.
    expect(checkFinalState([...write(0, 1, 0, 10, 'info', 0), ...write(1, 2, 20, 30)], { r0: 1 }).lost.map((l) => l.write.value)).toEqual([2]);
  });

  it('a value nobody wrote, or a refused write left behind, is impossible rather than lost', () => {
    expect(checkFinalState(write(0, 1, 0, 10), { r0: 7 }).impossible).toEqual([{ key: 'r0', value: 7, why: 'no write in the history wrote it' }]);
    expect(checkFinalState(write(0, 1, 0, 10, 'fail'), { r0: 1 }).impossible[0].why).toMatch(/was refused/);
    expect(() => checkFinalState(write(0, 1, 0, 10), {})).toThrow(/no final value for r0/);
  });

  it('a write never ended is unknown', () => {
    const [invoke] = write(0, 1, 0, 10);
    expect(writeRecords([invoke])).toEqual([{ key: 'r0', value: 1, process: 0, call: 0, appliedBy: Number.POSITIVE_INFINITY, acknowledged: false, outcome: 'info' }]);
  });
});

describe('anomalies and the faults they fell in', () => {
  const check = (from: number, to: number) =>
    ({ verdict: 'not linearizable', ms: 1, keys: [{ key: 'r0', verdict: 'not linearizable', operations: 2, steps: 3, ms: 1, violation: { key: 'r0', linearized: [], state: 'null', blocked: { id: 1, process: 0, f: 'read', key: 'r0', input: undefined, output: 3, call: from, ret: to, status: 'ok' }, open: [], window: { from, to } } }] }) as unknown as CheckResult;
  const windows = [
    { what: 'pause a', from: 100, to: 200 },
    { what: 'partition b', from: 300, to: 400 },
  ];
  it('names the faults a violation overlaps, else the last one before it, else none', () => {
    expect(attributeAnomalies({ check: check(150, 350), windows }).map((a) => a.nemesis)).toEqual([['pause a', 'partition b']]);
    expect(attributeAnomalies({ check: check(420, 450), windows })[0]).toMatchObject({ key: 'r0', what: 'read -> 3', nemesis: ['partition b'] });
    expect(attributeAnomalies({ check: check(10, 50), windows })[0].nemesis).toEqual([]);
  });
});
