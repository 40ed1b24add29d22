/** Errors the HTTP layer maps to a status code. */

/** An error with its HTTP status and a message for the `error` field of the JSON body. */
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

/** The token is missing or not acceptable: 401 with `WWW-Authenticate: Bearer`. */
export class AuthError extends Error {
  override name = 'AuthError';
  constructor(
    message: string,
    /** false when no token was sent at all (then the challenge carries no error code). */
    readonly tokenPresent = true,
  ) {
    super(message);
  }
}

/** A backend (flaredb, the directory, the JWKS endpoints; NightLight for metered writes) did not answer: 503 (502 for NightLight). */
export class UnavailableError extends Error {
  override name = 'UnavailableError';
  constructor(
    readonly component: 'ledger' | 'directory' | 'jwks' | 'nightlight',
    readonly reason: string,
  ) {
    super(`${component} unavailable: ${reason}`);
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
