/**
 * The one retry loop of the harness: every wait (a command until it
 * succeeds, a unit until it is active, SSH until root can log in, a cluster
 * condition) is a `waitFor`, so every wait ends the same ways: with the
 * value, at its deadline with a WaitTimeoutError, at once when waiting
 * cannot help, or at once on abort; each failure carries its evidence.
 */
import { NodeError, WaitTimeoutError } from '../errors.js';

export interface WaitOptions {
  /** Node the condition is about; leads the error message. */
  node: string;
  /** What we wait for, for the error message. */
  what: string;
  /** The error's "expected", when it says more than `what`. */
  expected?: string;
  timeoutMs: number;
  intervalMs?: number;
  /**
   * Vitest's per-test `signal` (aborted on a test timeout or a cancelled
   * run): ends the wait at once and kills the probe's command on the node.
   */
  signal?: AbortSignal;
  /** Says why waiting is pointless (the node's QEMU is gone); ends the wait at once. An Error is thrown as is. */
  failFast?: () => string | Error | undefined | Promise<string | Error | undefined>;
  /** Console tail for the error. */
  consoleTail?: () => string;
  /** The journal of the unit involved, for the timeout error (keep it short: it runs after the deadline). */
  journal?: () => Promise<string | undefined>;
  /** No "after Ns" line on success (the caller reports progress itself). */
  quiet?: boolean;
}

export interface ProbeResult<T> {
  ok: boolean;
  value?: T;
  /** What was observed, for the error when the wait runs out. */
  seen?: string;
  /** Ends the wait at once with this error: the condition can no longer come true (a unit entered `failed`). */
  fail?: Error;
}

/**
 * Gets the wait's own signal, aborted at the wait's deadline and with the
 * caller's: pass it to the probe's commands so none outlives the wait.
 */
export type WaitProbe<T> = (signal: AbortSignal) => Promise<ProbeResult<T>>;

/** The test (or run) was aborted; carries what the interrupted wait or command had seen. */
export class AbortedError extends NodeError {
  override name = 'AbortedError';
}

export function abortReason(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return (r instanceof Error ? r.message : String(r ?? 'aborted')).split('\n')[0];
}

/**
 * Calls `probe` until it returns `{ ok: true, value }` or the deadline
 * passes; the last `seen` goes into the timeout error. Exceptions from the
 * probe count as "not yet" (a node may be rebooting, an SSH link may reset),
 * except an abort. The deadline is kept even when a probe hangs: the probe
 * is abandoned and its commands killed through the signal it was given.
 */
export async function waitFor<T>(opts: WaitOptions, probe: WaitProbe<T>): Promise<T> {
  const start = Date.now();
  const wait = new AbortController();
  const timer = setTimeout(() => wait.abort(new Error(`deadline of ${opts.what}`)), opts.timeoutMs);
  const onCallerAbort = () => wait.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onCallerAbort();
  opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const ended = new Promise<never>((_, reject) => wait.signal.addEventListener('abort', () => reject(wait.signal.reason), { once: true }));
  ended.catch(() => undefined);
  let seen = 'no answer yet';
  const evidence = () => ({ expected: opts.expected ?? opts.what, lastSeen: seen, consoleTail: opts.consoleTail?.() });
  // A probe whose command was aborted through a Node bound to the test's signal (not ours): the test is over.
  let abortedElsewhere: AbortedError | undefined;
  try {
    while (!wait.signal.aborted) {
      const gone = await opts.failFast?.();
      if (gone instanceof Error) throw gone;
      if (gone) throw new NodeError(opts.node, `${opts.what}: gave up`, { ...evidence(), lastSeen: gone });
      let r: ProbeResult<T> | undefined;
      try {
        const attempt = Promise.resolve().then(() => probe(wait.signal));
        attempt.catch(() => undefined);
        r = await Promise.race([attempt, ended]);
      } catch (e) {
        if (wait.signal.aborted) break;
        if (e instanceof AbortedError) {
          abortedElsewhere = e;
          break;
        }
        seen = (e as Error).message.split('\n')[0];
      }
      if (r?.fail) throw r.fail;
      if (r?.ok) {
        // Goes to the test's output (and the JUnit file): the measured figure behind each deadline.
        if (!opts.quiet) console.log(`${opts.node}: ${opts.what} after ${((Date.now() - start) / 1000).toFixed(1)}s`);
        return r.value as T;
      }
      if (r) seen = r.seen ?? String(r.value);
      await pause(opts.intervalMs ?? 2000, wait.signal);
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onCallerAbort);
  }
  if (opts.signal?.aborted || abortedElsewhere) {
    const why = opts.signal?.aborted ? abortReason(opts.signal) : abortedElsewhere!.summary;
    throw new AbortedError(opts.node, `${opts.what}: aborted after ${Math.round((Date.now() - start) / 1000)}s (${why})`, evidence());
  }
  const journal = await opts.journal?.().catch(() => undefined);
  throw new WaitTimeoutError(opts.node, `${opts.what}: not within ${Math.round(opts.timeoutMs / 1000)}s`, { ...evidence(), journal });
}

/** Sleeps `ms`, or less when `signal` aborts. */
export function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
