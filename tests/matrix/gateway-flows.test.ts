/**
 * gateway-flows (apigateway + iam + creditservice + nightlight): a tenant
 * with an IAM token, through the API gateway only (the host's forwarded
 * gateway port; never NightLight's own port), reserves credits, pushes
 * samples by Prometheus remote write, queries them back by PromQL, commits
 * the reservation and sees the balance change. A remote write through the
 * gateway is metered: creditservice draws one credit per sample on the
 * reservation named in X-Ultracloud-Reservation and only then hands the
 * body to NightLight (services/creditservice/README.md, "Metered remote
 * write"); with the credit exhausted the write is refused (402, JSON
 * reason) and nothing of it is ingested. Without a token, or with one
 * signed by another key, the gateway answers 401.
 *
 * The tenant is bob (seeded in IAM: acct-bob, quota 50); alice, an
 * operator, sets his balance. Balance and quota are set relative to what
 * the account has reserved already, so a run killed before its cleanup
 * (an open reservation left behind) does not break the next; a failed
 * run's reservation is rolled back and balance and quota are restored by
 * afterAll.
 */
import crypto from 'node:crypto';
import got, { type Got } from 'got';
import { SignJWT, decodeJwt, decodeProtectedHeader, generateKeyPair } from 'jose';
import { pushTimeseries } from 'prometheus-remote-write';
import { afterAll, describe } from 'vitest';
import { type TestCluster, clusterInfo, test } from '../../fixtures/cluster.js';
import { stepState } from '../../fixtures/scenario.js';
import { budget } from '../../harness/budget.js';
import { waitFor } from '../../harness/remote/wait.js';
import type { CreditAccount } from '../../stacks/contracts.js';

const GATEWAY = clusterInfo.nodes.find((n) => n.kind === 'gateway')!;
const IAM_NODE = 'node01';
const gatewayUrl = `http://127.0.0.1:${GATEWAY.forwards.apigateway}`;
const TENANT = 'bob';
const OPERATOR = 'alice';
/** bob's ultracloudQuota as iam's setup seeds it; restored after the scenario. */
const TENANT_SEED_QUOTA = 50;
/** Credits the tenant reserves for its writes (one per sample). */
const RESERVE = 5;
/** The tenant's available credit during the scenario. */
const CREDIT = 100;
const METRIC = 'ultracloud_matrix_metered';

/**
 * Deadlines, measured on the 2-core TCG host with all six nodes up (five
 * runs; the whole file 14-19 s wall):
 * - a sample remote-written through the gateway is queryable by PromQL
 *   within QUERYABLE_S (measured: at the first poll, 0.0-0.1 s);
 * - one gateway request (token check by Apache, creditservice's directory
 *   lookup and ledger step, Prometheus) answers within REQUEST_S (measured:
 *   each step of 1-3 requests 0.3-0.8 s; the first step, two tokens from
 *   node01 plus an ldapmodify, 2.7-3.3 s).
 */
const QUERYABLE_S = 60;
const REQUEST_S = 30;

const http: Got = got.extend({ throwHttpErrors: false, retry: { limit: 0 }, timeout: { request: REQUEST_S * 1000 } });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/**
 * What the gateway answered, for a failure message that names the part:
 * JSON errors as they are, Apache's own error pages by their title (a 502
 * or 503 page means the gateway got no answer from the part behind it).
 */
function said(part: 'creditservice' | 'nightlight' | 'creditservice (metered write)', what: string, status: number, body: string): string {
  const title = /<title>([^<]*)<\/title>/i.exec(body)?.[1];
  const text = title
    ? `Apache's error page "${title}"${status === 502 || status === 503 ? ` (the gateway got no answer from ${part})` : ''}`
    : body.replace(/\s+/g, ' ').trim().slice(0, 300);
  return `${part} through the gateway, ${what}: ${status} ${text}`;
}


/** The tenant through the gateway: creditservice under /creditservice/, NightLight under /nightlight/. */
const gateway = {
  async balance(token: string): Promise<CreditAccount> {
    const r = await http.get(`${gatewayUrl}/creditservice/v1/balance`, { headers: bearer(token) });
    if (r.statusCode !== 200) throw new Error(said('creditservice', 'GET /v1/balance', r.statusCode, r.body));
    return JSON.parse(r.body) as CreditAccount;
  },
  async setBalance(operatorToken: string, account: string, balance: number): Promise<void> {
    const r = await http.put(`${gatewayUrl}/creditservice/v1/accounts/${account}/balance`, { headers: bearer(operatorToken), json: { balance } });
    if (r.statusCode !== 200) throw new Error(said('creditservice', `PUT the balance of ${account}`, r.statusCode, r.body));
  },
  reserve: (token: string, amount: number) => http.post(`${gatewayUrl}/creditservice/v1/reservations`, { headers: bearer(token), json: { amount } }),
  reservation: (token: string, id: string) => http.get(`${gatewayUrl}/creditservice/v1/reservations/${id}`, { headers: bearer(token) }),
  settle: (token: string, id: string, how: 'commit' | 'rollback') => http.post(`${gatewayUrl}/creditservice/v1/reservations/${id}/${how}`, { headers: bearer(token) }),
  /** Prometheus remote write (snappy protobuf, by the prometheus-remote-write client) to the gateway's NightLight route. */
  async remoteWrite(token: string | undefined, reservation: string | undefined, run: string, part: string, values: number[]) {
    const now = Date.now();
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (reservation !== undefined) headers['x-ultracloud-reservation'] = reservation;
    // The client returns only status and text: send it with a fetch that keeps the headers too.
    let answerHeaders: Headers | undefined;
    const fetchKeepingHeaders = async (url: string, init: RequestInit) => {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_S * 1000) });
      answerHeaders = res.headers;
      return res;
    };
    const r = (await pushTimeseries(
      { labels: { __name__: METRIC, run, part }, samples: values.map((value, i) => ({ value, timestamp: now - (values.length - 1 - i) * 1000 })) },
      { url: `${gatewayUrl}/nightlight/api/v1/write`, headers, fetch: fetchKeepingHeaders as never },
    )) as { status: number; errorMessage?: string };
    const body = r.errorMessage ?? '';
    const what = `remote write of ${values.length} samples (${part})`;
    return { status: r.status, body, headers: answerHeaders, lastTimestamp: now, said: said('creditservice (metered write)', what, r.status, body) };
  },
  /** A PromQL instant query through the gateway at `atMs`; the result vector. */
  async query(token: string, promql: string, atMs: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]> {
    const r = await http.get(`${gatewayUrl}/nightlight/api/v1/query`, { searchParams: { query: promql, time: (atMs / 1000).toFixed(3) }, headers: bearer(token) });
    if (r.statusCode !== 200) throw new Error(said('nightlight', `PromQL ${promql}`, r.statusCode, r.body));
    return JSON.parse(r.body).data.result;
  },
};

const errorOf = (body: string): string => {
  try {
    return String((JSON.parse(body) as { error?: unknown }).error ?? '');
  } catch {
    return `(not JSON) ${body.slice(0, 200)}`;
  }
};

describe.sequential('gateway-flows: apigateway + iam + creditservice + nightlight', () => {
  const run = crypto.randomBytes(4).toString('hex');
  const series = (part: string) => `${METRIC}{run="${run}",part="${part}"}`;
  let clusterRef: TestCluster | undefined;
  let tenant = '';
  let operator = '';
  // What a step hands to the steps after it, each named by the exact title
  // of the step that makes it: a step run without that one fails naming it.
  /** The tenant's account as the scenario found it: cleanup restores its balance. */
  const accountBefore = stepState<CreditAccount>('the tenant holds an IAM token; the operator gives its account credit and IAM a quota for one reservation');
  /** Balance right after the scenario's own setting (the commit takes RESERVE off it); the tokens, credit and quota are there. */
  const setUp = stepState<number>('the tenant holds an IAM token; the operator gives its account credit and IAM a quota for one reservation');
  const reserved = stepState<string>('the tenant reserves credits (201); the quota is then exhausted and a second reservation is refused (403)');
  /** The timestamp of the last sample of the paid write. */
  const paidWrite = stepState<number>('samples pushed by remote write through the gateway are paid from the reservation (204)');

  const tokens = async (cluster: TestCluster) => {
    const iamNode = cluster.node(IAM_NODE);
    tenant = await cluster.ops.iam.tokenFor(iamNode, TENANT);
    operator = await cluster.ops.iam.tokenFor(iamNode, OPERATOR);
  };

  afterAll(async () => {
    const cluster = clusterRef;
    if (!cluster) return;
    // Fresh tokens: the scenario's may have expired on a slow run.
    await tokens(cluster);
    const reservation = reserved.valueForCleanup;
    if (reservation) {
      const r = await gateway.settle(tenant, reservation, 'rollback');
      if (r.statusCode !== 200 && r.statusCode !== 409) throw new Error(said('creditservice', `rollback of ${reservation}`, r.statusCode, r.body));
    }
    await cluster.ops.iam.setQuota(cluster.node(IAM_NODE), TENANT, TENANT_SEED_QUOTA);
    const before = accountBefore.valueForCleanup;
    if (before) await gateway.setBalance(operator, before.account, before.balance);
  });

  test('the tenant holds an IAM token; the operator gives its account credit and IAM a quota for one reservation', { timeout: budget(REQUEST_S * 5) }, async ({ cluster, expect }) => {
    accountBefore.begin();
    setUp.begin();
    clusterRef = cluster;
    await tokens(cluster);
    const before = accountBefore.set(await gateway.balance(tenant));
    const setBalance = before.reserved + CREDIT;
    await gateway.setBalance(operator, before.account, setBalance);
    await cluster.ops.iam.setQuota(cluster.node(IAM_NODE), TENANT, before.reserved + RESERVE);
    setUp.set(setBalance);
    const set = await gateway.balance(tenant);
    expect(set).toMatchObject({ account: `acct-${TENANT}`, available: CREDIT, quota: before.reserved + RESERVE });
  });

  test('without a token the gateway refuses a remote write and a query with 401', { timeout: budget(REQUEST_S * 2) }, async ({ expect }) => {
    const w = await gateway.remoteWrite(undefined, undefined, run, 'no-token', [1]);
    expect(w.status, w.said).toBe(401);
    const q = await http.get(`${gatewayUrl}/nightlight/api/v1/query`, { searchParams: { query: 'vector(1)' } });
    expect(q.statusCode, 'PromQL query without a token').toBe(401);
  });

  test('with a token signed by another key the gateway refuses with 401', { timeout: budget(REQUEST_S * 3) }, async ({ expect, skip }) => {
    setUp.need(skip); // the tenant's token
    // Same header (kid, alg) and claims as the tenant's real token, signed with a key IAM never had.
    const { privateKey } = await generateKeyPair('ES256');
    const forged = await new SignJWT(decodeJwt(tenant)).setProtectedHeader(decodeProtectedHeader(tenant) as { alg: string }).sign(privateKey);
    const w = await gateway.remoteWrite(forged, undefined, run, 'forged', [1]);
    expect(w.status, `with a forged token: ${w.said}`).toBe(401);
    const b = await http.get(`${gatewayUrl}/creditservice/v1/balance`, { headers: bearer(forged) });
    expect(b.statusCode, said('creditservice', 'GET /v1/balance with a forged token', b.statusCode, b.body)).toBe(401);
  });

  test('the tenant reserves credits (201); the quota is then exhausted and a second reservation is refused (403)', { timeout: budget(REQUEST_S * 3) }, async ({ expect, skip }) => {
    reserved.begin();
    setUp.need(skip); // the token, the credit and the quota
    const r = await gateway.reserve(tenant, RESERVE);
    expect(r.statusCode, said('creditservice', `reserve ${RESERVE}`, r.statusCode, r.body)).toBe(201);
    const made = JSON.parse(r.body) as { id: string; amount: number; state: string; used: number };
    reserved.set(made.id);
    expect(made).toMatchObject({ amount: RESERVE, state: 'reserved', used: 0 });
    const more = await gateway.reserve(tenant, 1);
    expect(more.statusCode, said('creditservice', 'a second reservation over the quota', more.statusCode, more.body)).toBe(403);
    expect(errorOf(more.body)).toMatch(/^quota exceeded/);
    expect((await gateway.balance(tenant)).available).toBe(CREDIT - RESERVE);
  });

  test('samples pushed by remote write through the gateway are paid from the reservation (204)', { timeout: budget(REQUEST_S) }, async ({ expect, skip }) => {
    paidWrite.begin();
    const reservation = reserved.need(skip);
    const w = await gateway.remoteWrite(tenant, reservation, run, 'paid', [11, 12, 13]);
    expect(w.status, w.said).toBe(204);
    paidWrite.set(w.lastTimestamp);
    expect(w.headers?.get('x-ultracloud-samples'), 'samples metered').toBe('3');
    expect(w.headers?.get('x-ultracloud-reservation-left'), 'credit left on the reservation').toBe(String(RESERVE - 3));
  });

  test('PromQL through the gateway gives them back', { timeout: budget(QUERYABLE_S) }, async ({ expect, signal, skip }) => {
    const lastWriteMs = paidWrite.need(skip);
    const seen = await waitFor({ node: GATEWAY.name, what: `the 3 samples of ${series('paid')} queryable through the gateway`, timeoutMs: QUERYABLE_S * 1000, signal, intervalMs: 1000 }, async () => {
      const result = await gateway.query(tenant, `count_over_time(${series('paid')}[10m])`, lastWriteMs + 1000);
      return { ok: result[0]?.value[1] === '3', value: result, seen: JSON.stringify(result) };
    });
    expect(seen).toHaveLength(1);
    const last = await gateway.query(tenant, series('paid'), lastWriteMs + 1000);
    expect(last.map((s) => s.value[1]), 'latest sample').toEqual(['13']);
  });

  test('with the credit exhausted a write is refused with 402 and a JSON reason, and nothing of it is ingested', { timeout: budget(REQUEST_S * 4, QUERYABLE_S) }, async ({ expect, signal, skip }) => {
    paidWrite.need(skip); // 3 of the reservation's credits spent
    const reservation = reserved.need(skip);
    const over = await gateway.remoteWrite(tenant, reservation, run, 'refused', [21, 22, 23]);
    expect(over.status, `with ${RESERVE - 3} credits left: ${over.said}`).toBe(402);
    expect(errorOf(over.body)).toBe(`reservation ${reservation} is exhausted: the write costs 3 (1 per sample), ${RESERVE - 3} of ${RESERVE} left`);
    const unpaid = await gateway.remoteWrite(tenant, undefined, run, 'unpaid', [31]);
    expect(unpaid.status, `without a reservation: ${unpaid.said}`).toBe(402);
    expect(errorOf(unpaid.body)).toMatch(/needs a reservation/);
    // A write that fits, sent after the refused ones: once it is queryable,
    // anything sent before it would be too (remote write appends before it answers).
    const fits = await gateway.remoteWrite(tenant, reservation, run, 'marker', [41, 42]);
    expect(fits.status, `the last ${RESERVE - 3} credits buy it: ${fits.said}`).toBe(204);
    await waitFor({ node: GATEWAY.name, what: `${series('marker')} queryable through the gateway`, timeoutMs: QUERYABLE_S * 1000, signal, intervalMs: 1000 }, async () => {
      const result = await gateway.query(tenant, `count_over_time(${series('marker')}[10m])`, fits.lastTimestamp + 1000);
      return { ok: result[0]?.value[1] === '2', seen: JSON.stringify(result) };
    });
    const refused = await gateway.query(tenant, `count_over_time(${METRIC}{run="${run}",part=~"refused|unpaid|no-token|forged"}[10m])`, fits.lastTimestamp + 1000);
    expect(refused, 'samples of refused writes in NightLight').toEqual([]);
    const r = await gateway.reservation(tenant, reservation);
    expect(JSON.parse(r.body), 'the reservation after the writes').toMatchObject({ state: 'reserved', amount: RESERVE, used: RESERVE });
  });

  test('committing the reservation takes it off the balance; it buys no more writes (409)', { timeout: budget(REQUEST_S * 4) }, async ({ expect, skip }) => {
    const reservation = reserved.need(skip);
    const setBalance = setUp.need(skip);
    const c = await gateway.settle(tenant, reservation, 'commit');
    expect(c.statusCode, said('creditservice', 'commit', c.statusCode, c.body)).toBe(200);
    const after = await gateway.balance(tenant);
    expect(after.balance, 'balance after the commit').toBe(setBalance - RESERVE);
    expect(after.available).toBe(CREDIT - RESERVE);
    const late = await gateway.remoteWrite(tenant, reservation, run, 'late', [51]);
    expect(late.status, `on the committed reservation: ${late.said}`).toBe(409);
    expect(errorOf(late.body)).toMatch(/is already committed/);
    reserved.consume();
  });
});
