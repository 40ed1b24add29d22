/** The demo's move chart (fixtures/migration-chart.ts): polls per 250 ms, answered or not. */
import { describe, expect, test } from 'vitest';
import { migrationSvg, pollBuckets } from '../../fixtures/migration-chart.js';

const T = 1_796_581_083_000;
const polls = [
  { at: T, answered: true },
  { at: T + 260, answered: true },
  { at: T + 5000, answered: false },
  { at: T + 5100, answered: false },
  { at: T + 9900, answered: true },
];

describe("the demo's move as a chart", () => {
  test('polls per 250 ms from the first, answered and not; empty buckets left out', () => {
    expect(pollBuckets(polls)).toEqual([
      { t: 0, outcome: 'answered', polls: 1 },
      { t: 0.25, outcome: 'answered', polls: 1 },
      { t: 5, outcome: 'not answered', polls: 2 },
      { t: 9.75, outcome: 'answered', polls: 1 },
    ]);
    expect(pollBuckets([])).toEqual([]);
  });

  test('renders to SVG with the move named', async () => {
    const svg = await migrationSvg(polls, { how: 'live', startedAt: T + 1000, endedAt: T + 9000 });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('live move: polls of /state per 250 ms');
  });
});
