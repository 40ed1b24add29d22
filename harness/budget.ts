/**
 * Vitest's per-test timeout, derived from the harness deadlines the test
 * runs into. Vitest's timeout must expire last: when it fires first, the
 * test fails with a bare "timed out" instead of the harness's error (what
 * was expected, what was last seen, the console tail), and the remote
 * command the harness was waiting on runs on into the next layer.
 */

/**
 * What a test needs beyond its listed deadlines: its plain commands (60 s
 * each at most, a few seconds in practice) and the evidence a failed wait
 * gathers after its deadline (journal: 15 s at most). 180 s was the smoke
 * suite's flat timeout, enough for every check that waits on nothing.
 */
export const MARGIN_S = 180;

/**
 * Milliseconds for `test(name, { timeout: budget(...) }, fn)`: the sum of
 * the deadlines (seconds) the test waits on one after the other (role
 * TIMING values, a boot's deadline, a long command's timeout) plus MARGIN_S.
 * Deadlines waited on side by side count once.
 */
export function budget(...seconds: number[]): number {
  for (const s of seconds) {
    if (!Number.isFinite(s) || s < 0) throw new RangeError(`budget: not a deadline in seconds: ${s}`);
  }
  return (seconds.reduce((a, b) => a + b, 0) + MARGIN_S) * 1000;
}
