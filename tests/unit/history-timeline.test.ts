import { describe, expect, it } from 'vitest';
import { type HistoryEvent, pairOperations } from '../../harness/consistency/history.js';
import { checkLinearizable } from '../../harness/consistency/linearizable.js';
import { registerModel } from '../../harness/consistency/register.js';
import { timelineRows, timelineSvg } from '../../harness/consistency/timeline.js';

// A stale read under a partition: client 2 reads 1 after client 1's write of 2 completed.
const events: HistoryEvent[] = [
  { process: 1, type: 'invoke', f: 'write', key: 'r0', value: 1, time: 1000 },
  { process: 1, type: 'ok', f: 'write', key: 'r0', time: 1200 },
  { process: 1, type: 'invoke', f: 'write', key: 'r0', value: 2, time: 1500 },
  { process: 1, type: 'ok', f: 'write', key: 'r0', time: 1700 },
  { process: 2, type: 'invoke', f: 'read', key: 'r0', time: 2000 },
  { process: 2, type: 'ok', f: 'read', key: 'r0', value: 1, time: 2100 },
  { process: 3, type: 'invoke', f: 'cas', key: 'r0', value: [2, 3], time: 2050 },
  { process: 3, type: 'info', f: 'cas', key: 'r0', time: 2600, error: 'timeout' },
  { process: 4, type: 'invoke', f: 'write', key: 'r0', value: 5, time: 2200 },
  { process: 4, type: 'fail', f: 'write', key: 'r0', time: 2300, error: 'no leader' },
];
const nemesis = [{ what: 'partition node01 | node02 node03', from: 1800, to: 3000 }];

describe('history timeline', () => {
  it('rows: one bar per operation from invoke to end, unknowns open to the end, the nemesis window and the violation window in seconds', () => {
    const check = checkLinearizable(registerModel, pairOperations(events));
    expect(check.verdict).toBe('not linearizable');
    const r = timelineRows({ title: 't', events, nemesis, check });
    expect(r.ops.map((o) => [o.client, o.from, o.to, o.outcome, o.label, o.blocked])).toEqual([
      ['client 1', 0, 0.2, 'ok', 'r0 write 1 ok', false],
      ['client 1', 0.5, 0.7, 'ok', 'r0 write 2 ok', false],
      ['client 2', 1, 1.1, 'ok', 'r0 read -> 1', true],
      ['client 3', 1.05, 2, 'info', 'r0 cas [2,3] info', false],
      ['client 4', 1.2, 1.3, 'fail', 'r0 write 5 fail', false],
    ]);
    expect(r.nemesis).toEqual([{ what: 'partition node01 | node02 node03', from: 0.8, to: 2 }]);
    expect(r.violations).toEqual([{ key: 'r0', from: 1, to: 1.1 }]);
  });

  it('renders to SVG with the verdict in the title, the nemesis named and the blocked operation outlined in red', async () => {
    const check = checkLinearizable(registerModel, pairOperations(events));
    const svg = await timelineSvg({ title: 'chainfire registers', events, nemesis, check });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('chainfire registers: not linearizable');
    expect(svg).toContain('partition node01 | node02 node03');
    expect(svg).toContain('client 4');
    expect(svg).toMatch(/stroke="red"/);
  });
});
