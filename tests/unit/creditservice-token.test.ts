import { SignJWT, exportJWK, generateKeyPair, type JWK, type KeyLike } from 'jose5';
import { beforeAll, describe, expect, it } from 'vitest';
import { AuthError, UnavailableError } from '../../services/creditservice/src/errors.js';
import { JwksCache, JwtAuthenticator, bearerToken, type FetchJson } from '../../services/creditservice/src/token.js';
import { rejection } from '../../services/creditservice/src/testing.js';

const ISSUER = 'http://iam.ultracloud.test:4593/api/oidc';
const URLS = ['http://n1/jwks', 'http://n2/jwks', 'http://n3/jwks'];
const now = () => Math.floor(Date.now() / 1000);

interface Key {
  privateKey: KeyLike;
  jwk: JWK;
}

async function newKey(kid: string, alg: 'ES256' | 'RS256' = 'ES256'): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

let iam: Key;
let other: Key;

beforeAll(async () => {
  iam = await newKey('iam-key');
  other = await newKey('other-key');
});

function token(opts: { key?: Key; kid?: string; alg?: string; claims?: Record<string, unknown>; exp?: number; iss?: string } = {}) {
  const key = opts.key ?? iam;
  const claims = { preferred_username: 'alice', sub: 'opaque-per-node', scope: 'openid ultracloud', ...opts.claims };
  return new SignJWT(claims)
    .setProtectedHeader({ alg: opts.alg ?? 'ES256', kid: opts.kid ?? key.jwk.kid!, typ: 'at+jwt' })
    .setIssuer(opts.iss ?? ISSUER)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? now() + 3600)
    .sign(key.privateKey);
}

/** A fetch that serves `jwks` from the URLs in `up`, counting calls. */
function fakeFetch(served: () => JWK[], up: Set<string> = new Set(URLS)) {
  const calls: string[] = [];
  const fetchJson: FetchJson = async (url) => {
    calls.push(url);
    if (!up.has(url)) throw new Error('connect ECONNREFUSED');
    return { keys: served() };
  };
  return { calls, fetchJson, up };
}

function setup(opts: { keys?: () => JWK[]; up?: Set<string>; clock?: { t: number }; tolerance?: number } = {}) {
  const f = fakeFetch(opts.keys ?? (() => [iam.jwk]), opts.up);
  const clock = opts.clock ?? { t: 0 };
  const jwks = new JwksCache(URLS, f.fetchJson, { timeoutMs: 1000, minRefetchMs: 5000 }, () => clock.t);
  const logs: string[] = [];
  const auth = new JwtAuthenticator(jwks, ISSUER, opts.tolerance ?? 30, (l) => logs.push(l));
  return { ...f, jwks, auth, clock, logs };
}

describe('creditservice bearerToken', () => {
  it('takes the token of a Bearer header, any case', () => {
    expect(bearerToken('Bearer abc.def.ghi')).toBe('abc.def.ghi');
    expect(bearerToken('bearer   x')).toBe('x');
    expect(bearerToken(['Bearer y'])).toBe('y');
  });

  it('no header: AuthError without a token', () => {
    const e = (() => {
      try {
        bearerToken(undefined);
      } catch (err) {
        return err as AuthError;
      }
      throw new Error('no throw');
    })();
    expect(e).toBeInstanceOf(AuthError);
    expect(e.tokenPresent).toBe(false);
    expect(e.message).toBe('missing bearer token');
  });

  it('other schemes and junk are rejected', () => {
    for (const h of ['Basic abc', 'Bearer', 'Bearer a b', 'Token x', '']) {
      expect(() => bearerToken(h), h).toThrow(AuthError);
    }
  });
});

describe('creditservice JWT checks (jose 5, ES256)', () => {
  it('accepts an IAM token and names the caller by preferred_username', async () => {
    const s = setup();
    const caller = await s.auth.verify(await token());
    expect(caller.username).toBe('alice');
    expect(caller.claims.sub).toBe('opaque-per-node');
  });

  it('fetches the JWKS once and keeps it', async () => {
    const s = setup();
    await s.auth.verify(await token());
    await s.auth.verify(await token({ claims: { preferred_username: 'bob' } }));
    expect(s.calls).toEqual(['http://n1/jwks']);
    expect(s.jwks.loaded).toBe(true);
  });

  it('uses the first URL that answers', async () => {
    const s = setup({ up: new Set(['http://n3/jwks']) });
    await s.jwks.refresh();
    expect(s.calls).toEqual(URLS);
  });

  it('no URL answers: UnavailableError listing each', async () => {
    const s = setup({ up: new Set() });
    const e = await rejection(s.auth.verify(await token()));
    expect(e).toBeInstanceOf(UnavailableError);
    expect((e as UnavailableError).reason).toBe(
      'http://n1/jwks: connect ECONNREFUSED; http://n2/jwks: connect ECONNREFUSED; http://n3/jwks: connect ECONNREFUSED',
    );
  });

  it('a JWKS without keys does not count as fetched', async () => {
    const s = setup({ keys: () => [] });
    const e = await rejection(s.jwks.refresh());
    expect((e as UnavailableError).reason).toMatch(/no keys in the JWKS/);
    expect(s.jwks.loaded).toBe(false);
  });

  it('concurrent refreshes share one fetch', async () => {
    const s = setup();
    await Promise.all([s.jwks.refresh(), s.jwks.refresh(), s.jwks.getKeySet()]);
    expect(s.calls).toHaveLength(1);
  });

  const rejected: [string, () => Promise<string>, string][] = [
    ['expired', () => token({ exp: now() - 3600 }), 'token expired'],
    ['foreign issuer', () => token({ iss: 'http://evil.example/oidc' }), 'token issuer "http://evil.example/oidc" is not ' + ISSUER],
    ['no preferred_username', () => token({ claims: { preferred_username: undefined } }), 'token has no preferred_username'],
    ['empty preferred_username', () => token({ claims: { preferred_username: '' } }), 'token has no preferred_username'],
    ['not yet valid', () => token({ claims: { nbf: now() + 3600 } }), 'token not valid yet (nbf)'],
    ['malformed', async () => 'not.a.jwt', expect.stringMatching(/^malformed token: /) as unknown as string],
    ['garbage', async () => 'xyz', expect.stringMatching(/^malformed token: /) as unknown as string],
  ];
  for (const [name, make, reason] of rejected) {
    it(`401: ${name}`, async () => {
      const s = setup();
      const e = await rejection(s.auth.verify(await make()));
      expect(e).toBeInstanceOf(AuthError);
      expect(e.message).toEqual(reason);
    });
  }

  it('401: bad signature (another key under the IAM kid)', async () => {
    const s = setup();
    const e = await rejection(s.auth.verify(await token({ key: other, kid: 'iam-key' })));
    expect(e).toBeInstanceOf(AuthError);
    expect(e.message).toBe('token signature verification failed');
  });

  it('401: a tampered payload', async () => {
    const s = setup();
    const [h, , sig] = (await token()).split('.');
    const forged = Buffer.from(JSON.stringify({ preferred_username: 'bob', iss: ISSUER, exp: now() + 60 })).toString('base64url');
    const e = await rejection(s.auth.verify(`${h}.${forged}.${sig}`));
    expect(e.message).toBe('token signature verification failed');
  });

  it('401: a token without exp', async () => {
    const s = setup();
    const t = await new SignJWT({ preferred_username: 'alice' })
      .setProtectedHeader({ alg: 'ES256', kid: 'iam-key' })
      .setIssuer(ISSUER)
      .sign(iam.privateKey);
    const e = await rejection(s.auth.verify(t));
    expect(e).toBeInstanceOf(AuthError);
    expect(e.message).toMatch(/exp/);
  });

  it('401: algorithms other than ES256', async () => {
    const rsa = await newKey('rsa-key', 'RS256');
    const s = setup({ keys: () => [iam.jwk, rsa.jwk] });
    const e = await rejection(s.auth.verify(await token({ key: rsa, alg: 'RS256' })));
    expect(e).toBeInstanceOf(AuthError);
    expect(e.message).toBe('token algorithm not allowed (ES256 only)');
  });

  it('allows the configured clock skew, and no more', async () => {
    const s = setup({ tolerance: 30 });
    expect((await s.auth.verify(await token({ exp: now() - 10 }))).username).toBe('alice');
    expect((await rejection(s.auth.verify(await token({ exp: now() - 60 })))).message).toBe('token expired');
    const strict = setup({ tolerance: 0 });
    expect((await rejection(strict.auth.verify(await token({ exp: now() - 10 })))).message).toBe('token expired');
  });

  it('unknown kid: refetches the JWKS once and accepts a new key', async () => {
    let served = [iam.jwk];
    const clock = { t: 100_000 };
    const s = setup({ keys: () => served, clock });
    await s.jwks.refresh();
    served = [iam.jwk, other.jwk];
    clock.t += 10_000;
    expect((await s.auth.verify(await token({ key: other }))).username).toBe('alice');
    expect(s.calls).toHaveLength(2);
  });

  it('unknown kid: no refetch within 5 s of the last one, and still 401', async () => {
    const clock = { t: 100_000 };
    const s = setup({ clock });
    await s.jwks.refresh();
    clock.t += 1000;
    const e = await rejection(s.auth.verify(await token({ key: other })));
    expect(e).toBeInstanceOf(AuthError);
    expect(e.message).toBe('token signed by an unknown key');
    expect(s.calls).toHaveLength(1);
    clock.t += 5000;
    expect((await rejection(s.auth.verify(await token({ key: other })))).message).toBe('token signed by an unknown key');
    expect(s.calls).toHaveLength(2);
  });

  it('unknown kid while IAM is down: 401, and the failed refetch is logged', async () => {
    const clock = { t: 100_000 };
    const s = setup({ clock });
    await s.jwks.refresh();
    s.up.clear();
    clock.t += 10_000;
    const e = await rejection(s.auth.verify(await token({ key: other })));
    expect(e).toBeInstanceOf(AuthError);
    expect(s.logs[0]).toMatch(/^jwks: refetch for an unknown kid failed: /);
    // known keys still work from the cache
    expect((await s.auth.verify(await token())).username).toBe('alice');
  });
});
