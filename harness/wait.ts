/** Polling with a deadline, for conditions that are not a single command. */
import { NodeError, WaitTimeoutError } from './errors.js';
import { sleep } from './proc.js';

export interface WaitOptions {
  /** Node the condition is about; leads the error message. */
  node: string;
  /** What we wait for, for the error message. */
  what: string;
  timeoutMs: number;
  intervalMs?: number;
  /** Says why waiting is pointless (the node's QEMU is gone); ends the wait at once. */
  failFast?: () => string | undefined;
  /** Console tail for the error. */
  consoleTail?: () => string;
}

/**
 * Calls `probe` until it returns `{ ok: true, value }` or the deadline
 * passes; the last `seen` goes into the timeout error. Exceptions from the
 * probe count as "not yet" (a node may be rebooting).
 */
export async function waitFor<T>(opts: WaitOptions, probe: () => Promise<{ ok: boolean; value?: T; seen?: string }>): Promise<T> {
  const start = Date.now();
  let seen = 'no answer yet';
  while (Date.now() - start < opts.timeoutMs) {
    const gone = opts.failFast?.();
    if (gone) throw new NodeError(opts.node, `${opts.what}: gave up`, { lastSeen: gone, consoleTail: opts.consoleTail?.() });
    try {
      const r = await probe();
      if (r.ok) {
        // Goes to the test's output (and the JUnit file): the measured figure behind each deadline.
        console.log(`${opts.node}: ${opts.what} after ${((Date.now() - start) / 1000).toFixed(1)}s`);
        return r.value as T;
      }
      seen = r.seen ?? String(r.value);
    } catch (e) {
      seen = (e as Error).message.split('\n')[0];
    }
    await sleep(opts.intervalMs ?? 2000);
  }
  throw new WaitTimeoutError(opts.node, `${opts.what}: not within ${Math.round(opts.timeoutMs / 1000)}s`, {
    expected: opts.what,
    lastSeen: seen,
    consoleTail: opts.consoleTail?.(),
  });
}
