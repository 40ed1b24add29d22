import { describe, expect, it } from 'vitest';
import { HttpError } from '../../services/creditservice/src/errors.js';
import { accountView, errorResponse, parseAccountParam, parseJsonBody, requireInteger } from '../../services/creditservice/src/http.js';
import { MAX_AMOUNT } from '../../services/creditservice/src/ledger.js';
import { harness } from '../../services/creditservice/src/testing.js';

function httpError(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(HttpError);
    return err as HttpError;
  }
  throw new Error('did not throw');
}

describe('creditservice input validation', () => {
  it('parses a JSON object body', () => {
    expect(parseJsonBody(Buffer.from('{"amount":5}'))).toEqual({ amount: 5 });
  });

  it('reports malformed JSON with the parser message', () => {
    const e = httpError(() => parseJsonBody(Buffer.from('{"amount":')));
    expect(e.status).toBe(400);
    expect(e.message).toMatch(/^malformed JSON: .+/);
    expect(httpError(() => parseJsonBody(Buffer.alloc(0))).message).toMatch(/^malformed JSON: /);
  });

  it('wants an object, not an array, null or a scalar', () => {
    expect(httpError(() => parseJsonBody(Buffer.from('[1]'))).message).toBe('body must be a JSON object, got an array');
    expect(httpError(() => parseJsonBody(Buffer.from('null'))).message).toBe('body must be a JSON object, got null');
    expect(httpError(() => parseJsonBody(Buffer.from('7'))).message).toBe('body must be a JSON object, got number');
  });

  it('requires integers in range and names the field', () => {
    expect(requireInteger({ amount: 1 }, 'amount', 1)).toBe(1);
    expect(requireInteger({ balance: 0 }, 'balance', 0)).toBe(0);
    expect(requireInteger({ balance: MAX_AMOUNT }, 'balance', 0)).toBe(MAX_AMOUNT);
    const cases: [Record<string, unknown>, string][] = [
      [{}, 'amount: required (a positive integer)'],
      [{ amount: '5' }, 'amount: must be a positive integer, got string'],
      [{ amount: null }, 'amount: must be a positive integer, got null'],
      [{ amount: [1] }, 'amount: must be a positive integer, got an array'],
      [{ amount: 1.5 }, 'amount: must be a positive integer, got 1.5'],
      [{ amount: 0 }, 'amount: must be a positive integer, got 0'],
      [{ amount: -3 }, 'amount: must be a positive integer, got -3'],
      [{ amount: MAX_AMOUNT + 1 }, `amount: must be at most ${MAX_AMOUNT}, got ${MAX_AMOUNT + 1}`],
    ];
    for (const [body, msg] of cases) {
      const e = httpError(() => requireInteger(body, 'amount', 1));
      expect(e.status).toBe(400);
      expect(e.message).toBe(msg);
    }
    expect(httpError(() => requireInteger({ balance: -1 }, 'balance', 0)).message).toBe(
      'balance: must be a non-negative integer, got -1',
    );
  });

  it('accepts account ids of letters, digits and . _ @ -', () => {
    expect(parseAccountParam('acct-alice')).toBe('acct-alice');
    expect(parseAccountParam('a.b_c@d')).toBe('a.b_c@d');
    for (const bad of ['', 'x y', 'a:b', '-x', 'x'.repeat(129), 'ä']) {
      expect(httpError(() => parseAccountParam(bad)).status).toBe(400);
    }
  });

  it('shows available = balance - reserved', () => {
    expect(accountView({ account: 'a', balance: 10, reserved: 4 })).toEqual({ account: 'a', balance: 10, reserved: 4, available: 6 });
  });

  it('maps unknown exceptions to 500 without their text', () => {
    const r = errorResponse(new TypeError('x is undefined'));
    expect(r.status).toBe(500);
    expect(r.body).toEqual({ error: 'internal error' });
    expect(r.error).toBe('x is undefined');
  });
});

describe('creditservice API', () => {
  describe('routing', () => {
    it('404 for unknown paths, without asking for a token', async () => {
      const h = harness();
      for (const path of ['/', '/v1', '/v1/balance/', '/v2/balance', '/creditservice/v1/balance', '/v1/reservations/a/b/c']) {
        const r = await h.call('GET', path, { token: null });
        expect(r.status, path).toBe(404);
        expect(r.body).toEqual({ error: expect.stringContaining('no route') });
      }
    });

    it('405 with Allow for a known path and the wrong method', async () => {
      const h = harness();
      const cases: [string, string, string][] = [
        ['POST', '/v1/balance', 'GET'],
        ['DELETE', '/v1/accounts/acct-bob/balance', 'GET, PUT'],
        ['GET', '/v1/reservations', 'POST'],
        ['DELETE', '/v1/reservations/x', 'GET'],
        ['GET', '/v1/reservations/x/commit', 'POST'],
        ['PUT', '/v1/reservations/x/rollback', 'POST'],
        ['POST', '/healthz', 'GET'],
      ];
      for (const [method, path, allow] of cases) {
        const r = await h.call(method, path);
        expect(r.status, `${method} ${path}`).toBe(405);
        expect(r.headers.allow).toBe(allow);
        expect(r.body).toEqual({ error: expect.stringContaining(`method ${method} not allowed`) });
      }
    });

    it('ignores the query string', async () => {
      const r = await harness().call('GET', '/v1/balance?x=1');
      expect(r.status).toBe(200);
    });

    it('says no-store on every answer', async () => {
      const h = harness();
      expect((await h.call('GET', '/v1/balance')).headers['cache-control']).toBe('no-store');
      expect((await h.call('GET', '/nope')).headers['cache-control']).toBe('no-store');
    });
  });

  describe('healthz', () => {
    it('200 when Redis and IAM are reached, no token needed', async () => {
      const r = await harness().call('GET', '/healthz', { token: null });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ status: 'ok', redis: 'ok', iam: 'ok' });
    });

    it('503 naming the part that failed', async () => {
      const h = harness();
      h.health.iam = 'ldap://10.100.0.11:389: connect ECONNREFUSED';
      const r = await h.call('GET', '/healthz', { token: null });
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ status: 'unavailable', redis: 'ok', iam: 'ldap://10.100.0.11:389: connect ECONNREFUSED' });
      h.health.iam = 'ok';
      h.health.redis = 'Connection is closed.';
      expect((await h.call('GET', '/healthz')).body).toMatchObject({ status: 'unavailable', redis: 'Connection is closed.', iam: 'ok' });
    });
  });

  describe('authentication', () => {
    const routes: [string, string][] = [
      ['GET', '/v1/balance'],
      ['GET', '/v1/accounts/acct-alice/balance'],
      ['PUT', '/v1/accounts/acct-alice/balance'],
      ['POST', '/v1/reservations'],
      ['GET', '/v1/reservations/abc'],
      ['POST', '/v1/reservations/abc/commit'],
      ['POST', '/v1/reservations/abc/rollback'],
    ];

    it('401 with a bare Bearer challenge when there is no token', async () => {
      const h = harness();
      for (const [method, path] of routes) {
        const r = await h.call(method, path, { token: null, body: { amount: 1, balance: 1 } });
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(r.headers['www-authenticate']).toBe('Bearer');
        expect(r.body).toEqual({ error: 'missing bearer token' });
      }
    });

    it('401 invalid_token for a rejected token, with the reason', async () => {
      const h = harness();
      for (const [method, path] of routes) {
        const r = await h.call(method, path, { token: 'expired', body: { amount: 1, balance: 1 } });
        expect(r.status, `${method} ${path}`).toBe(401);
        expect(r.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
        expect(r.body).toEqual({ error: 'token expired' });
      }
      const bad = await h.call('GET', '/v1/balance', { token: 'forged' });
      expect(bad.body).toEqual({ error: 'token signature verification failed' });
    });

    it('401 for a non-Bearer Authorization header', async () => {
      const h = harness();
      const r = await h.call('GET', '/v1/balance', { token: null, headers: { authorization: 'Basic YWxpY2U6eA==' } });
      expect(r.status).toBe(401);
      expect(r.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
      expect(r.body).toEqual({ error: 'Authorization header is not "Bearer <token>"' });
    });

    it('checks the token before the body', async () => {
      const r = await harness().call('POST', '/v1/reservations', { token: null, raw: '{oops' });
      expect(r.status).toBe(401);
    });

    it('503 when the JWKS cannot be had at all', async () => {
      const h = harness();
      h.auth.down = 'http://10.100.0.11:4593/api/oidc/jwks: ECONNREFUSED';
      const r = await h.call('GET', '/v1/balance');
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ error: 'jwks unavailable: http://10.100.0.11:4593/api/oidc/jwks: ECONNREFUSED' });
    });
  });

  describe('identity from the directory', () => {
    it('403 for a caller with no directory entry', async () => {
      const r = await harness().call('GET', '/v1/balance', { token: 'tok-mallory' });
      expect(r.status).toBe(403);
      expect(r.body).toEqual({ error: 'no directory entry with uid "mallory"' });
      expect(r.caller).toBe('mallory');
    });

    it('403 with a reason for a caller without ultracloudAccount', async () => {
      const h = harness();
      for (const [method, path, body] of [
        ['GET', '/v1/balance', undefined],
        ['POST', '/v1/reservations', { amount: 1 }],
      ] as const) {
        const r = await h.call(method, path, { token: 'tok-svc-platform', body });
        expect(r.status).toBe(403);
        expect(r.body).toEqual({ error: 'svc-platform has no ultracloudAccount in the directory' });
      }
    });

    it('503 when the directory is unreachable', async () => {
      const h = harness();
      h.directory.down = 'ldap://10.100.0.11:389: connect ETIMEDOUT';
      const r = await h.call('GET', '/v1/balance');
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ error: 'directory unavailable: ldap://10.100.0.11:389: connect ETIMEDOUT' });
      expect(r.error).toBe('directory unavailable: ldap://10.100.0.11:389: connect ETIMEDOUT');
    });

    it('reads the directory on every request: a new quota applies at once', async () => {
      const h = harness();
      await h.call('PUT', '/v1/accounts/acct-bob/balance', { body: { balance: 1000 } });
      expect((await h.call('POST', '/v1/reservations', { token: 'tok-bob', body: { amount: 40 } })).status).toBe(201);
      expect((await h.call('POST', '/v1/reservations', { token: 'tok-bob', body: { amount: 20 } })).status).toBe(403);
      h.directory.set('bob', { account: 'acct-bob', quota: 60, operator: false });
      expect((await h.call('POST', '/v1/reservations', { token: 'tok-bob', body: { amount: 20 } })).status).toBe(201);
      expect((await h.call('GET', '/v1/balance', { token: 'tok-bob' })).body).toMatchObject({ quota: 60, reserved: 60 });
    });
  });

  describe('GET /v1/balance', () => {
    it("returns the caller's account state with the directory quota", async () => {
      const h = harness();
      h.ledger.accounts.set('acct-bob', { balance: 30, reserved: 5 });
      const r = await h.call('GET', '/v1/balance', { token: 'tok-bob' });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ account: 'acct-bob', balance: 30, reserved: 5, available: 25, quota: 50 });
      expect(r.caller).toBe('bob');
    });

    it('an account never set has balance 0', async () => {
      const r = await harness().call('GET', '/v1/balance');
      expect(r.body).toEqual({ account: 'acct-alice', balance: 0, reserved: 0, available: 0, quota: 100 });
    });

    it('quota is null when the directory has none', async () => {
      const h = harness();
      h.directory.set('carol', { account: 'acct-carol', quota: null, operator: false });
      expect((await h.call('GET', '/v1/balance', { token: 'tok-carol' })).body).toMatchObject({ quota: null });
    });

    it('503 when flaredb does not answer', async () => {
      const h = harness();
      h.ledger.down = 'Command timed out';
      const r = await h.call('GET', '/v1/balance');
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ error: 'ledger unavailable: Command timed out' });
    });
  });

  describe('PUT /v1/accounts/:account/balance', () => {
    it('lets an operator set a balance and keeps reserved', async () => {
      const h = harness();
      h.ledger.accounts.set('acct-bob', { balance: 10, reserved: 4 });
      const r = await h.call('PUT', '/v1/accounts/acct-bob/balance', { body: { balance: 25 } });
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ account: 'acct-bob', balance: 25, reserved: 4, available: 21 });
      expect(h.logs).toContain('balance of acct-bob set to 25 by alice');
    });

    it('403 for non-operators, nothing changes', async () => {
      const h = harness();
      const r = await h.call('PUT', '/v1/accounts/acct-bob/balance', { token: 'tok-bob', body: { balance: 1000 } });
      expect(r.status).toBe(403);
      expect(r.body).toEqual({ error: 'only operators may set a balance (bob is not in cn=operators)' });
      expect(h.ledger.accounts.has('acct-bob')).toBe(false);
    });

    it('400 for bad balances and account ids', async () => {
      const h = harness();
      const cases: [string, unknown, string][] = [
        ['/v1/accounts/acct-bob/balance', { balance: -1 }, 'balance: must be a non-negative integer, got -1'],
        ['/v1/accounts/acct-bob/balance', { balance: 2.5 }, 'balance: must be a non-negative integer, got 2.5'],
        ['/v1/accounts/acct-bob/balance', { balance: '10' }, 'balance: must be a non-negative integer, got string'],
        ['/v1/accounts/acct-bob/balance', { amount: 10 }, 'balance: required (a non-negative integer)'],
        ['/v1/accounts/a%20b/balance', { balance: 1 }, expect.stringMatching(/^account: /) as unknown as string],
      ];
      for (const [path, body, msg] of cases) {
        const r = await h.call('PUT', path, { body });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body).toEqual({ error: msg });
      }
      const bad = await h.call('PUT', '/v1/accounts/acct-bob/balance', { raw: '{"balance": 1,}' });
      expect(bad.status).toBe(400);
      expect(bad.body).toEqual({ error: expect.stringMatching(/^malformed JSON: /) });
      const enc = await h.call('PUT', '/v1/accounts/%E0%A4%A/balance', { body: { balance: 1 } });
      expect(enc.status).toBe(400);
    });

    it('GET: the account holder or an operator may read an account', async () => {
      const h = harness();
      h.ledger.accounts.set('acct-bob', { balance: 7, reserved: 0 });
      expect((await h.call('GET', '/v1/accounts/acct-bob/balance', { token: 'tok-bob' })).body).toEqual({
        account: 'acct-bob',
        balance: 7,
        reserved: 0,
        available: 7,
      });
      expect((await h.call('GET', '/v1/accounts/acct-bob/balance')).status).toBe(200);
      expect((await h.call('GET', '/v1/accounts/acct-alice/balance', { token: 'tok-bob' })).status).toBe(403);
    });
  });

  describe('reservations', () => {
    async function funded(balance: number) {
      const h = harness();
      const r = await h.call('PUT', '/v1/accounts/acct-alice/balance', { body: { balance } });
      expect(r.status).toBe(200);
      return h;
    }

    it('201 with id, account, amount, state', async () => {
      const h = await funded(50);
      const r = await h.call('POST', '/v1/reservations', { body: { amount: 20 } });
      expect(r.status).toBe(201);
      expect(r.body).toEqual({ id: '00000000-0000-4000-8000-000000000001', account: 'acct-alice', amount: 20, state: 'reserved', used: 0 });
      expect((await h.call('GET', '/v1/balance')).body).toEqual({
        account: 'acct-alice',
        balance: 50,
        reserved: 20,
        available: 30,
        quota: 100,
      });
      expect(h.ledger.reservations.get('00000000-0000-4000-8000-000000000001')).toMatchObject({ user: 'alice', created: 1_700_000_000_000 });
    });

    it('201 with the client\'s own id (an idempotency key); GET finds it', async () => {
      const h = await funded(50);
      const r = await h.call('POST', '/v1/reservations', { body: { amount: 20, id: 'job-42-try-1' } });
      expect(r.status).toBe(201);
      expect(r.body).toEqual({ id: 'job-42-try-1', account: 'acct-alice', amount: 20, state: 'reserved', used: 0 });
      expect((await h.call('GET', '/v1/reservations/job-42-try-1')).body).toEqual(r.body);
      expect(h.ledger.reservations.get('job-42-try-1')).toMatchObject({ user: 'alice', created: 1_700_000_000_000 });
      expect((await h.call('POST', '/v1/reservations/job-42-try-1/commit')).body).toMatchObject({ balance: 30, reserved: 0 });
    });

    it('409 when a reservation with that id exists (any account, any state); nothing changes', async () => {
      const h = await funded(50);
      expect((await h.call('POST', '/v1/reservations', { body: { amount: 20, id: 'k1' } })).status).toBe(201);
      const before = { accounts: structuredClone([...h.ledger.accounts]), reservations: structuredClone([...h.ledger.reservations]) };
      for (const [token, body] of [
        ['tok-alice', { amount: 20, id: 'k1' }], // the same request again
        ['tok-alice', { amount: 1, id: 'k1' }],
        ['tok-alice', { amount: 500, id: 'k1' }], // would overdraw: the id is checked first
        ['tok-bob', { amount: 1, id: 'k1' }], // another account
      ] as const) {
        const r = await h.call('POST', '/v1/reservations', { token, body });
        expect(r.status, JSON.stringify([token, body])).toBe(409);
        expect(r.body).toEqual({ error: 'reservation k1 already exists' });
      }
      expect({ accounts: [...h.ledger.accounts], reservations: [...h.ledger.reservations] }).toEqual(before);
      expect((await h.call('GET', '/v1/balance')).body).toMatchObject({ balance: 50, reserved: 20 });
      await h.call('POST', '/v1/reservations/k1/rollback');
      expect((await h.call('POST', '/v1/reservations', { body: { amount: 1, id: 'k1' } })).status).toBe(409);
      expect((await h.call('GET', '/v1/balance')).body).toMatchObject({ balance: 50, reserved: 0 });
    });

    it('400 for a bad id, before anything changes', async () => {
      const h = await funded(50);
      for (const id of ['', 'a b', 'x'.repeat(65), 'a/b', 'ü', 7, null, true, ['k1'], { k: 1 }]) {
        const r = await h.call('POST', '/v1/reservations', { body: { amount: 1, id } });
        expect(r.status, JSON.stringify(id)).toBe(400);
        expect(r.body).toEqual({ error: expect.stringMatching(/^id: must be 1-64 letters, digits or '-', got /) });
      }
      expect((await h.call('POST', '/v1/reservations', { body: { amount: 1, id: 7 } })).body).toEqual({
        error: "id: must be 1-64 letters, digits or '-', got number",
      });
      expect((await h.call('POST', '/v1/reservations', { body: { amount: 1, id: 'a b' } })).body).toEqual({
        error: `id: must be 1-64 letters, digits or '-', got "a b"`,
      });
      expect(h.ledger.reservations.size).toBe(0);
      expect((await h.call('POST', '/v1/reservations', { body: { amount: 1, id: 'x'.repeat(64) } })).status).toBe(201);
    });

    it('409 on overdraw, nothing changes', async () => {
      const h = await funded(10);
      expect((await h.call('POST', '/v1/reservations', { body: { amount: 6 } })).status).toBe(201);
      const r = await h.call('POST', '/v1/reservations', { body: { amount: 5 } });
      expect(r.status).toBe(409);
      expect(r.body).toEqual({ error: 'insufficient credit: amount 5 > available 4 (balance 10, reserved 6)' });
      expect(h.ledger.accounts.get('acct-alice')).toEqual({ balance: 10, reserved: 6 });
      expect(h.ledger.reservations.size).toBe(1);
    });

    it('409 for any amount on an account never funded', async () => {
      const r = await harness().call('POST', '/v1/reservations', { token: 'tok-bob', body: { amount: 1 } });
      expect(r.status).toBe(409);
    });

    it('403 when reserved + amount exceeds the quota, nothing changes', async () => {
      const h = await funded(1000);
      expect((await h.call('POST', '/v1/reservations', { body: { amount: 90 } })).status).toBe(201);
      const r = await h.call('POST', '/v1/reservations', { body: { amount: 11 } });
      expect(r.status).toBe(403);
      expect(r.body).toEqual({ error: 'quota exceeded: reserved 90 + amount 11 > quota 100' });
      expect(h.ledger.accounts.get('acct-alice')).toEqual({ balance: 1000, reserved: 90 });
      expect((await h.call('POST', '/v1/reservations', { body: { amount: 10 } })).status).toBe(201);
    });

    it('checks overdraw before quota', async () => {
      const h = await funded(5);
      const r = await h.call('POST', '/v1/reservations', { body: { amount: 500 } });
      expect(r.status).toBe(409);
    });

    it('403 when the caller has no ultracloudQuota', async () => {
      const h = harness();
      h.directory.set('carol', { account: 'acct-carol', quota: null, operator: false });
      const r = await h.call('POST', '/v1/reservations', { token: 'tok-carol', body: { amount: 1 } });
      expect(r.status).toBe(403);
      expect(r.body).toEqual({ error: 'carol has no ultracloudQuota in the directory' });
    });

    it('400 for bad amounts and bodies', async () => {
      const h = await funded(10);
      for (const body of [{}, { amount: 0 }, { amount: -1 }, { amount: 1.5 }, { amount: '1' }, { amount: true }]) {
        const r = await h.call('POST', '/v1/reservations', { body });
        expect(r.status, JSON.stringify(body)).toBe(400);
        expect(r.body).toEqual({ error: expect.stringMatching(/^amount: /) });
      }
      const r = await h.call('POST', '/v1/reservations', { raw: '{"amount": 1' });
      expect(r.status).toBe(400);
      expect(r.body).toEqual({ error: expect.stringMatching(/^malformed JSON: \S/) });
      expect(h.ledger.reservations.size).toBe(0);
    });

    it('20 concurrent reservations of 1 against a balance of 10: exactly 10 succeed', async () => {
      const h = await funded(10);
      const results = await Promise.all(Array.from({ length: 20 }, () => h.call('POST', '/v1/reservations', { body: { amount: 1 } })));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(10);
      expect(statuses.filter((s) => s === 409)).toHaveLength(10);
      expect(h.ledger.accounts.get('acct-alice')).toEqual({ balance: 10, reserved: 10 });
      expect(new Set(results.filter((r) => r.status === 201).map((r) => (r.body as { id: string }).id)).size).toBe(10);
    });

    it('commit: the amount leaves balance and reserved', async () => {
      const h = await funded(100);
      const { id } = (await h.call('POST', '/v1/reservations', { body: { amount: 30 } })).body as { id: string };
      const r = await h.call('POST', `/v1/reservations/${id}/commit`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ account: 'acct-alice', balance: 70, reserved: 0, available: 70 });
      expect((await h.call('GET', `/v1/reservations/${id}`)).body).toEqual({ id, account: 'acct-alice', amount: 30, state: 'committed', used: 0 });
    });

    it('rollback: the amount leaves reserved only', async () => {
      const h = await funded(100);
      const { id } = (await h.call('POST', '/v1/reservations', { body: { amount: 30 } })).body as { id: string };
      const r = await h.call('POST', `/v1/reservations/${id}/rollback`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ account: 'acct-alice', balance: 100, reserved: 0, available: 100 });
      expect((await h.call('GET', `/v1/reservations/${id}`)).body).toMatchObject({ state: 'rolled_back' });
    });

    it('409 when already committed or rolled back, nothing changes', async () => {
      const h = await funded(100);
      const a = ((await h.call('POST', '/v1/reservations', { body: { amount: 10 } })).body as { id: string }).id;
      const b = ((await h.call('POST', '/v1/reservations', { body: { amount: 20 } })).body as { id: string }).id;
      await h.call('POST', `/v1/reservations/${a}/commit`);
      await h.call('POST', `/v1/reservations/${b}/rollback`);
      const cases: [string, string, string][] = [
        [a, 'commit', 'committed'],
        [a, 'rollback', 'committed'],
        [b, 'commit', 'rolled back'],
        [b, 'rollback', 'rolled back'],
      ];
      for (const [id, action, word] of cases) {
        const r = await h.call('POST', `/v1/reservations/${id}/${action}`);
        expect(r.status).toBe(409);
        expect(r.body).toEqual({ error: `reservation ${id} is already ${word}` });
      }
      expect(h.ledger.accounts.get('acct-alice')).toEqual({ balance: 90, reserved: 0 });
    });

    it('concurrent commit and rollback of one reservation: exactly one wins', async () => {
      const h = await funded(100);
      const { id } = (await h.call('POST', '/v1/reservations', { body: { amount: 10 } })).body as { id: string };
      const rs = await Promise.all([
        h.call('POST', `/v1/reservations/${id}/commit`),
        h.call('POST', `/v1/reservations/${id}/rollback`),
        h.call('POST', `/v1/reservations/${id}/commit`),
      ]);
      expect(rs.map((r) => r.status).sort()).toEqual([200, 409, 409]);
      const { reserved } = h.ledger.accounts.get('acct-alice')!;
      expect(reserved).toBe(0);
    });

    it('404 for unknown or impossible ids', async () => {
      const h = harness();
      for (const id of ['5f0c1f9e-0000-4000-8000-000000000000', 'no%2Fsuch', 'x'.repeat(65)]) {
        for (const [method, suffix] of [
          ['GET', ''],
          ['POST', '/commit'],
          ['POST', '/rollback'],
        ]) {
          const r = await h.call(method!, `/v1/reservations/${id}${suffix}`);
          expect(r.status, `${method} ${id}${suffix}`).toBe(404);
          expect(r.body).toEqual({ error: expect.stringMatching(/^no reservation /) });
        }
      }
    });

    it("403 for someone else's reservation, unless operator", async () => {
      const h = harness();
      h.ledger.accounts.set('acct-bob', { balance: 100, reserved: 0 });
      const { id } = (await h.call('POST', '/v1/reservations', { token: 'tok-bob', body: { amount: 10 } })).body as { id: string };
      h.directory.set('eve', { account: 'acct-eve', quota: 100, operator: false });
      for (const [method, suffix] of [
        ['GET', ''],
        ['POST', '/commit'],
        ['POST', '/rollback'],
      ]) {
        const r = await h.call(method!, `/v1/reservations/${id}${suffix}`, { token: 'tok-eve' });
        expect(r.status).toBe(403);
        expect(r.body).toEqual({ error: `reservation ${id} belongs to another account` });
      }
      expect(h.ledger.accounts.get('acct-bob')).toEqual({ balance: 100, reserved: 10 });
      // alice is an operator
      expect((await h.call('GET', `/v1/reservations/${id}`)).status).toBe(200);
      const r = await h.call('POST', `/v1/reservations/${id}/commit`);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ account: 'acct-bob', balance: 90, reserved: 0, available: 90 });
    });

    it('another user of the same account may settle it', async () => {
      const h = harness();
      h.ledger.accounts.set('acct-bob', { balance: 100, reserved: 0 });
      h.directory.set('bob2', { account: 'acct-bob', quota: 100, operator: false });
      const { id } = (await h.call('POST', '/v1/reservations', { token: 'tok-bob', body: { amount: 10 } })).body as { id: string };
      expect((await h.call('POST', `/v1/reservations/${id}/rollback`, { token: 'tok-bob2' })).status).toBe(200);
    });

    it('503 when flaredb fails during a reservation', async () => {
      const h = await funded(100);
      h.ledger.down = 'Command timed out';
      const r = await h.call('POST', '/v1/reservations', { body: { amount: 1 } });
      expect(r.status).toBe(503);
      expect(r.body).toEqual({ error: 'ledger unavailable: Command timed out' });
    });
  });
});
