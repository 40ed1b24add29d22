/** Errors the HTTP layer maps to a status code, and small helpers. */

/** Which backend failed: named first in the `error` text the client sees. */
export type Component = 'flaredb' | 'lightningstor';

/**
 * An error with its HTTP status and the message for the `error` field of
 * the JSON body. Backend failures are 5xx whose message starts with the
 * backend's name ("flaredb: ...", "lightningstor: ...").
 */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** A backend did not do what was asked: 503 (unreachable, timed out) or 502 (it answered with an error). */
export class BackendError extends HttpError {
  override name = 'BackendError';
  constructor(
    readonly component: Component,
    reason: string,
    status: 502 | 503 | 500 = 503,
  ) {
    super(status, `${component}: ${reason}`, status === 503 ? { 'retry-after': '2' } : {});
  }
}

/**
 * The compare-and-set of a visit failed. `applied` says whether FlareDB may
 * have applied it anyway: 'no' when Redis answered with an error reply (the
 * script wrote nothing), 'unknown' when the connection broke or the command
 * timed out after it was sent. Only after 'no' may the visit's snapshot
 * object be deleted.
 */
export class CommitError extends BackendError {
  override name = 'CommitError';
  constructor(
    reason: string,
    readonly applied: 'no' | 'unknown',
  ) {
    super('flaredb', reason);
  }
}

/** The message of anything thrown, on one line. */
export function reasonOf(err: unknown): string {
  const msg = err instanceof Error ? err.message || err.name : String(err);
  return msg.replace(/\s+/g, ' ').trim();
}

/** Rejects with `onTimeout()` when `p` has not settled within `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
