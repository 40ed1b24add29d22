/**
 * Gateway node06: the API gateway (Apache + mod_auth_openidc), NightLight
 * (Prometheus) and creditservice, checked from the host through the
 * forwarded ports (not through SSH) where the spec says "from the host".
 * creditservice must use IAM for real: identities from IAM tokens, account
 * and quota from the directory, state in flaredb.
 */
import crypto from 'node:crypto';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import got, { type Got } from 'got';
import { pushTimeseries } from 'prometheus-remote-write';
import { describe } from 'vitest';
import { clusterInfo, test } from '../../fixtures/cluster.js';
import { budget } from '../../harness/budget.js';
import { waitFor } from '../../harness/remote/wait.js';
import type { CreditAccount } from '../../stacks/contracts.js';

const GATEWAY = clusterInfo.nodes.find((n) => n.kind === 'gateway')!;
const IAM_NODE = 'node01';
const apiUrl = `http://127.0.0.1:${GATEWAY.forwards.apigateway}`;
const nightlightUrl = `http://127.0.0.1:${GATEWAY.forwards.nightlight}`;
const http: Got = got.extend({ throwHttpErrors: false, retry: { limit: 0 }, timeout: { request: 30_000 } });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
/** creditservice's reason in an error answer (`{"error": ...}`); what came instead when the body is not that. */
const errorOf = (body: string): string => {
  try {
    return String((JSON.parse(body) as { error?: unknown }).error ?? `(no error field) ${body.slice(0, 200)}`);
  } catch {
    return `(not JSON) ${body.slice(0, 200)}`;
  }
};
/** A remote-written sample is queryable within this (measured: about 1 s). */
const QUERYABLE_S = 60;


describe.sequential(GATEWAY.name, () => {
  test('apigateway, nightlight and creditservice units are active; creditservice is healthy and never restarted', async ({ cluster, expect }) => {
    const node = cluster.node(GATEWAY.name);
    const inactive = await node.inactiveUnits(cluster.expectedUnits(GATEWAY.name));
    expect(inactive, `${GATEWAY.name}: inactive units: ${inactive.map((u) => u.split('\n')[0]).join('; ')}`).toEqual([]);
    const health = await cluster.ops.creditservice.get(node, '/healthz');
    expect(health.status, `creditservice /healthz: ${health.body}`).toBe(200);
    expect(JSON.parse(health.body), 'creditservice /healthz').toMatchObject({ status: 'ok' });
    const restarts = await node.succeed('systemctl show -p NRestarts --value creditservice.service');
    expect(Number(restarts), 'creditservice restarts since boot').toBe(0);
  });

  test('from the host, the forwarded API gateway and NightLight URLs answer', async ({ expect }) => {
    const gw = await http.get(`${apiUrl}/healthz`);
    expect(gw.statusCode, `${apiUrl}/healthz`).toBe(200);
    const nl = await http.get(`${nightlightUrl}/-/ready`);
    expect(nl.statusCode, `${nightlightUrl}/-/ready: ${nl.body}`).toBe(200);
  });

  test('a request through the gateway without a token is refused with 401', async ({ expect }) => {
    for (const path of ['/nightlight/api/v1/query?query=up', '/creditservice/v1/balance']) {
      const r = await http.get(`${apiUrl}${path}`);
      expect(r.statusCode, `GET ${path} without a token`).toBe(401);
    }
  });

  test('with a token from iam the gateway reaches nightlight and creditservice', async ({ cluster, expect }) => {
    const token = await cluster.ops.iam.tokenFor(cluster.node(IAM_NODE), 'alice');
    const q = await http.get(`${apiUrl}/nightlight/api/v1/query`, { searchParams: { query: 'vector(1)' }, headers: bearer(token) });
    expect(q.statusCode, q.body).toBe(200);
    expect(JSON.parse(q.body).status).toBe('success');
    const b = await http.get(`${apiUrl}/creditservice/v1/balance`, { headers: bearer(token) });
    expect(b.statusCode, b.body).toBe(200);
    expect(JSON.parse(b.body)).toMatchObject({ account: 'acct-alice' });
  });

  test('samples pushed with Prometheus remote write come back from a PromQL query on the forwarded NightLight URL', { timeout: budget(QUERYABLE_S) }, async ({ expect, signal }) => {
    const run = crypto.randomBytes(4).toString('hex');
    const value = Math.floor(Math.random() * 1e6);
    // protobuf (protobufjs) + snappy (snappyjs) by the library; Node's own fetch sends it.
    const pushed = (await pushTimeseries(
      { labels: { __name__: 'ultracloud_smoke_pushed', run }, samples: [{ value, timestamp: Date.now() }] },
      { url: `${nightlightUrl}/api/v1/write`, timeout: 30_000, fetch: globalThis.fetch as never },
    )) as { status: number; errorMessage?: string };
    expect(pushed.status, `remote write answer: ${pushed.errorMessage ?? ''}`).toBe(204);
    const seen = await waitFor({ node: GATEWAY.name, what: `remote-written sample run=${run} queryable`, timeoutMs: QUERYABLE_S * 1000, signal, intervalMs: 1000 }, async () => {
      const r = await http.get(`${nightlightUrl}/api/v1/query`, { searchParams: { query: `ultracloud_smoke_pushed{run="${run}"}` } });
      const result = r.statusCode === 200 ? (JSON.parse(r.body).data?.result as { value: [number, string] }[]) : [];
      return { ok: result.length === 1, value: result[0]?.value[1], seen: `${r.statusCode} ${r.body.slice(0, 200)}` };
    });
    expect(Number(seen)).toBe(value);
  });

  describe.sequential('creditservice', () => {
    const cs = (path: string) => `${apiUrl}/creditservice${path}`;

    async function state(token: string): Promise<CreditAccount> {
      const r = await http.get(cs('/v1/balance'), { headers: bearer(token) });
      if (r.statusCode !== 200) throw new Error(`GET /v1/balance: ${r.statusCode} ${r.body}`);
      return JSON.parse(r.body) as CreditAccount;
    }
    async function setBalance(adminToken: string, account: string, balance: number): Promise<void> {
      const r = await http.put(cs(`/v1/accounts/${account}/balance`), { headers: bearer(adminToken), json: { balance } });
      if (r.statusCode !== 200) throw new Error(`PUT balance of ${account}: ${r.statusCode} ${r.body}`);
    }
    const reserve = (token: string, amount: number) => http.post(cs('/v1/reservations'), { headers: bearer(token), json: { amount } });
    const settle = (token: string, id: string, how: 'commit' | 'rollback') => http.post(cs(`/v1/reservations/${id}/${how}`), { headers: bearer(token) });

    test('a quota changed in the IAM directory changes what creditservice allows', async ({ cluster, expect }) => {
      const { iam } = cluster.ops;
      const iamNode = cluster.node(IAM_NODE);
      const alice = await iam.tokenFor(iamNode, 'alice');
      const before = await state(alice);
      await setBalance(alice, 'acct-alice', before.reserved + 1000);
      try {
        await iam.setQuota(iamNode, 'alice', before.reserved + 5);
        const refused = await reserve(alice, 10);
        expect(refused.statusCode, `reserve 10 over a quota of 5: ${refused.body}`).toBe(403);
        // The refusal is the quota's (services/creditservice postReservation), not any other 403
        // (no directory entry, no quota attribute, not an operator): its exact reason, from creditservice through the gateway.
        expect(errorOf(refused.body), 'the reason of the 403').toBe(`quota exceeded: reserved ${before.reserved} + amount 10 > quota ${before.reserved + 5}`);
        await iam.setQuota(iamNode, 'alice', before.reserved + 100);
        const allowed = await reserve(alice, 10);
        expect(allowed.statusCode, `reserve 10 under a quota of 100: ${allowed.body}`).toBe(201);
        const r = await settle(alice, JSON.parse(allowed.body).id, 'rollback');
        expect(r.statusCode, r.body).toBe(200);
      } finally {
        await iam.setQuota(iamNode, 'alice', 100);
      }
    });

    test('a token that IAM did not issue is refused, by the gateway and by creditservice itself', async ({ cluster, expect }) => {
      const real = await cluster.ops.iam.tokenFor(cluster.node(IAM_NODE), 'alice');
      // Same header (kid, alg) and claims, signed with a key IAM never had.
      const { privateKey } = await generateKeyPair('ES256');
      const forged = await new SignJWT(decodeJwt(real)).setProtectedHeader(decodeProtectedHeader(real) as { alg: string }).sign(privateKey);
      const viaGateway = await http.get(cs('/v1/balance'), { headers: bearer(forged) });
      expect(viaGateway.statusCode, `gateway: ${viaGateway.body.slice(0, 200)}`).toBe(401);
      const direct = await cluster.ops.creditservice.get(cluster.node(GATEWAY.name), '/v1/balance', forged);
      expect(direct.status, `creditservice itself: ${direct.body.slice(0, 200)}`).toBe(401);
    });

    test('malformed JSON is refused with 400 and a reason', async ({ cluster, expect }) => {
      const alice = await cluster.ops.iam.tokenFor(cluster.node(IAM_NODE), 'alice');
      const r = await http.post(cs('/v1/reservations'), { headers: { ...bearer(alice), 'content-type': 'application/json' }, body: '{"amount": 1,' });
      expect(r.statusCode, r.body).toBe(400);
      expect(JSON.parse(r.body).error).toMatch(/malformed JSON/);
    });

    test('an overdraw is refused with 409 and leaves the balance unchanged', async ({ cluster, expect }) => {
      const alice = await cluster.ops.iam.tokenFor(cluster.node(IAM_NODE), 'alice');
      const before = await state(alice);
      await setBalance(alice, 'acct-alice', before.reserved + 10);
      const set = await state(alice);
      const r = await reserve(alice, 11);
      expect(r.statusCode, r.body).toBe(409);
      expect(await state(alice)).toEqual(set);
    });

    test('20 concurrent reservations against a balance for 10: exactly 10 succeed', async ({ cluster, expect }) => {
      const iamNode = cluster.node(IAM_NODE);
      const [alice, bob] = [await cluster.ops.iam.tokenFor(iamNode, 'alice'), await cluster.ops.iam.tokenFor(iamNode, 'bob')];
      const before = await state(bob);
      await setBalance(alice, before.account, before.reserved + 10);
      const results = await Promise.all(Array.from({ length: 20 }, () => reserve(bob, 1)));
      const codes = results.map((r) => r.statusCode);
      const won = results.filter((r) => r.statusCode === 201).map((r) => JSON.parse(r.body).id as string);
      try {
        expect(codes.filter((c) => c === 201).length, `status codes: ${codes.join(' ')}`).toBe(10);
        expect(codes.filter((c) => c === 409).length, `status codes: ${codes.join(' ')}`).toBe(10);
        const after = await state(bob);
        expect(after.available).toBe(0);
        expect(after.reserved).toBe(before.reserved + 10);
      } finally {
        for (const id of won) await settle(bob, id, 'commit');
      }
      const settled = await state(bob);
      expect(settled.reserved, 'reservations committed').toBe(before.reserved);
      expect(settled.balance).toBe(before.reserved);
    });
  });
});
