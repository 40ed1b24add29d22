import { describe, expect, it } from 'vitest';
import { MARGIN_S, budget } from '../../harness/budget.js';

describe('budget', () => {
  it('is the margin alone for a check that waits on nothing', () => {
    expect(budget()).toBe(MARGIN_S * 1000);
  });

  it('sums the deadlines (seconds) a test waits on one after the other, plus the margin, in milliseconds', () => {
    expect(budget(90, 120)).toBe((90 + 120 + MARGIN_S) * 1000);
  });

  it('always outlasts the deadlines it was given', () => {
    for (const ds of [[180], [480, 30], [900, 90, 120, 120, 60, 90]]) {
      expect(budget(...ds)).toBeGreaterThan(ds.reduce((a, b) => a + b, 0) * 1000);
    }
  });

  it('refuses what is not a deadline in seconds', () => {
    expect(() => budget(Number.NaN)).toThrow(RangeError);
    expect(() => budget(-1)).toThrow(RangeError);
  });
});
