/**
 * IAM access tokens: ES256 JWTs from glewlwyd, checked with jose 5 against
 * the JWKS of the IAM nodes (all three serve the same key). The JWKS comes
 * from the first URL that answers and is kept; a token whose `kid` is not in
 * it makes one refetch (at most every 5 s). The caller is the token's
 * `preferred_username` (the directory uid; `sub` differs per issuing node).
 */
import http from 'node:http';
import https from 'node:https';
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet, type JWTPayload, type JWTVerifyGetKey } from 'jose5';
import { AuthError, UnavailableError, reasonOf } from './errors.js';

/** GETs a URL and parses its JSON body; rejects on a non-200 status or after timeoutMs. */
export type FetchJson = (url: string, timeoutMs: number) => Promise<unknown>;

const MAX_JWKS_BYTES = 1 << 20;

/** FetchJson on node:http/https (no global fetch: Node 18's is experimental and warns). */
export const httpGetJson: FetchJson = (url, timeoutMs) =>
  new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(url, { headers: { accept: 'application/json' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_JWKS_BYTES) req.destroy(new Error(`response over ${MAX_JWKS_BYTES} bytes`));
        else chunks.push(c);
      });
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(new Error(`bad JSON: ${reasonOf(err)}`));
        }
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });

export interface JwksOptions {
  /** Per URL. */
  timeoutMs: number;
  /** Least time between two fetches caused by unknown `kid`s. */
  minRefetchMs: number;
}

export class JwksCache {
  private keySet: JWTVerifyGetKey | null = null;
  private fetchedAt = -Infinity;
  private inflight: Promise<void> | null = null;

  constructor(
    private readonly urls: string[],
    private readonly fetchJson: FetchJson = httpGetJson,
    private readonly opts: JwksOptions = { timeoutMs: 5000, minRefetchMs: 5000 },
    private readonly now: () => number = Date.now,
  ) {}

  /** Whether a key set was fetched at least once. */
  get loaded(): boolean {
    return this.keySet !== null;
  }

  /** Fetches from the first URL that answers with a usable JWKS; concurrent calls share one fetch. */
  refresh(): Promise<void> {
    this.inflight ??= this.fetch().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async fetch(): Promise<void> {
    const failures: string[] = [];
    for (const url of this.urls) {
      try {
        const body = await this.fetchJson(url, this.opts.timeoutMs);
        const keys = (body as { keys?: unknown } | null)?.keys;
        if (!Array.isArray(keys) || keys.length === 0) throw new Error('no keys in the JWKS');
        this.keySet = createLocalJWKSet(body as JSONWebKeySet);
        this.fetchedAt = this.now();
        return;
      } catch (err) {
        failures.push(`${url}: ${reasonOf(err)}`);
      }
    }
    this.fetchedAt = this.now(); // failed attempts count for the refetch limit too
    throw new UnavailableError('jwks', failures.join('; '));
  }

  /** The key set, fetched first if there is none yet. */
  async getKeySet(): Promise<JWTVerifyGetKey> {
    if (!this.keySet) await this.refresh();
    return this.keySet!;
  }

  /** Refetches for an unknown kid unless the last fetch was under minRefetchMs ago; true if it did. */
  async refreshForUnknownKid(): Promise<boolean> {
    if (this.inflight) {
      await this.inflight;
      return true;
    }
    if (this.now() - this.fetchedAt < this.opts.minRefetchMs) return false;
    await this.refresh();
    return true;
  }
}

export interface Caller {
  /** preferred_username: the directory uid. */
  username: string;
  claims: JWTPayload;
}

export interface Authenticator {
  /** Throws AuthError (401) or UnavailableError (503). */
  verify(token: string): Promise<Caller>;
}

/** The bearer token of an Authorization header; AuthError when there is none. */
export function bearerToken(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  if (!value) throw new AuthError('missing bearer token', false);
  const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(value);
  if (!m) throw new AuthError('Authorization header is not "Bearer <token>"');
  return m[1]!;
}

/** jose's errors as reasons a caller can act on. */
export function describeJoseError(err: unknown, issuer: string): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return `token issuer ${JSON.stringify(err.payload.iss ?? null)} is not ${issuer}`;
    if (err.claim === 'nbf') return 'token not valid yet (nbf)';
    if (err.claim === 'exp') return 'token has no valid exp';
    return `token claim ${err.claim}: ${err.reason}`;
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature verification failed';
  if (err instanceof errors.JWKSNoMatchingKey) return 'token signed by an unknown key';
  if (err instanceof errors.JWKSMultipleMatchingKeys) return 'token key is ambiguous';
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not allowed (ES256 only)';
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return `malformed token: ${reasonOf(err)}`;
  if (err instanceof errors.JOSENotSupported) return `token not supported: ${reasonOf(err)}`;
  return `invalid token: ${reasonOf(err)}`;
}

export class JwtAuthenticator implements Authenticator {
  constructor(
    private readonly jwks: JwksCache,
    private readonly issuer: string,
    private readonly clockToleranceS: number,
    private readonly log: (line: string) => void = () => {},
  ) {}

  private async check(token: string): Promise<JWTPayload> {
    const keySet = await this.jwks.getKeySet();
    const { payload } = await jwtVerify(token, keySet, {
      issuer: this.issuer,
      algorithms: ['ES256'],
      requiredClaims: ['exp'],
      clockTolerance: this.clockToleranceS,
    });
    return payload;
  }

  async verify(token: string): Promise<Caller> {
    let payload: JWTPayload;
    try {
      payload = await this.check(token);
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw new AuthError(describeJoseError(err, this.issuer));
      // Unknown kid: the keys may have changed; fetch them again (rate-limited).
      let refetched = false;
      try {
        refetched = await this.jwks.refreshForUnknownKid();
      } catch (refetchErr) {
        this.log(`jwks: refetch for an unknown kid failed: ${reasonOf(refetchErr)}`);
      }
      if (!refetched) throw new AuthError(describeJoseError(err, this.issuer));
      try {
        payload = await this.check(token);
      } catch (err2) {
        if (err2 instanceof UnavailableError) throw err2;
        throw new AuthError(describeJoseError(err2, this.issuer));
      }
    }
    const username = payload.preferred_username;
    if (typeof username !== 'string' || username === '') throw new AuthError('token has no preferred_username');
    return { username, claims: payload };
  }
}
