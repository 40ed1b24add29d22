/**
 * creditservice through real flaredb failovers: a primary, two replicas and
 * three Sentinels (Debian's redis-server and redis-sentinel) on 127.0.0.1,
 * the service's own client (createRedis, RedisLedger, watchFailovers) and
 * its HTTP app. The primary is stopped four times in a row: twice plainly
 * (as `systemctl stop redis-server` does), once while every Sentinel is
 * away, once frozen (SIGSTOP: it keeps its connections but never answers).
 * After each, /healthz and a reservation must work again on the new
 * primary, and the client must never have been given up (status `end`).
 * Before that, both replicas are frozen: a reservation the primary applied
 * but no replica acknowledged (WAIT) answers 503, and 201 once they thaw.
 *
 * The binaries come from the redis-server and redis-sentinel packages, which
 * `make deps` installs with their services off; where one is missing the
 * case fails, naming the package.
 */
import { generateKeyPairSync } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/creditservice/src/config.js';
import { createApp, type App, type AppResponse } from '../../services/creditservice/src/http.js';
import { RedisLedger, createRedis, watchFailovers } from '../../services/creditservice/src/redis-ledger.js';
import { checkHealth } from '../../services/creditservice/src/service.js';
import { FakeAuth, FakeDirectory, FakeNightlight } from '../../services/creditservice/src/testing.js';
import { JwksCache } from '../../services/creditservice/src/token.js';
import { LocalFlaredb, MASTER, PASSWORD } from './helpers/local-flaredb.js';
import { check, findBinary, freePorts, missingPackageError, once, sleep, waitUntil } from './helpers/local-redis.js';

const bins = { server: findBinary('redis-server'), sentinel: findBinary('redis-sentinel') };

describe('creditservice through real Sentinel failovers', () => {
  if (bins.server === null || bins.sentinel === null) {
    // A missing binary is a broken `make deps`, not a reason to pass.
    const missing = [bins.server === null && 'redis-server', bins.sentinel === null && 'redis-sentinel'].filter(Boolean).join(' and ');
    it('rides through repeated failovers on local redis-server and redis-sentinel', () => {
      throw missingPackageError(missing);
    });
    return;
  }

  let flaredb: LocalFlaredb | undefined;
  const closers: (() => void)[] = [];
  afterAll(() => {
    for (const close of closers) close();
    flaredb?.stop();
  });

  it('rides through repeated failovers on local redis-server and redis-sentinel', { timeout: 300_000 }, async () => {
    const ports = await freePorts(6);
    flaredb = new LocalFlaredb({ server: bins.server!, sentinel: bins.sentinel! }, ports.slice(0, 3), ports.slice(3));
    await flaredb.start();

    const config = loadConfig(
      { CREDIT_REDIS_SENTINELS: flaredb.sentinelPorts.map((p) => `127.0.0.1:${p}`).join(','), CREDIT_REDIS_TIMEOUT_MS: '2000' },
      () => PASSWORD,
    );
    const logs: string[] = [];
    const log = (line: string) => logs.push(line);
    const ledger = new RedisLedger(() => createRedis(config, log), log, config.redisWait);
    closers.push(() => ledger.close());
    const failovers = watchFailovers(config, () => ledger.client, log);
    closers.push(() => failovers.close());
    const firstClient = ledger.client;

    const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
    const jwks = new JwksCache(['http://iam.invalid/jwks'], async () => ({ keys: [{ ...jwk, kid: 'k1', alg: 'ES256', use: 'sig' }] }));
    const directory = new FakeDirectory();
    const app: App = createApp({ ledger, auth: new FakeAuth(), directory, nightlight: new FakeNightlight(), health: () => checkHealth(ledger, jwks, directory), log });
    const call = (method: string, url: string, body?: unknown): Promise<AppResponse> =>
      app({ method, url, headers: { authorization: 'Bearer tok-alice' }, body: Buffer.from(body === undefined ? '' : JSON.stringify(body)) });

    const served = async (what: string) => {
      await waitUntil(`${what}: /healthz 200`, 30_000, async () => {
        const res = await call('GET', '/healthz');
        check(res.status === 200, `${res.status} ${JSON.stringify(res.body)}`);
      });
      const r = await waitUntil(`${what}: a reservation`, 30_000, async () => {
        const res = await call('POST', '/v1/reservations', { amount: 1 });
        check(res.status === 201, `${res.status} ${JSON.stringify(res.body)}`);
        return res;
      });
      expect((r.body as { account: string }).account).toBe('acct-alice');
    };

    expect((await call('PUT', '/v1/accounts/acct-alice/balance', { balance: 100 })).status).toBe(200);
    await served('before any failover');

    // Acknowledged means replicated (CREDIT_REDIS_WAIT_REPLICAS 1, the
    // default): with both replicas frozen the primary still applies a
    // reservation, but WAIT counts no replica, so the answer is 503.
    const primary = await flaredb.primary();
    const replicas = flaredb.redisPorts.filter((p) => p !== primary);
    expect(config.redisWait).toEqual({ replicas: 1, timeoutMs: 1000 });
    for (const p of replicas) await flaredb.signal(p, 'SIGSTOP');
    const frozen = await call('POST', '/v1/reservations', { amount: 1, id: 'replicas-frozen' });
    expect(frozen.status, JSON.stringify(frozen.body)).toBe(503);
    expect(frozen.body).toEqual({
      error: 'ledger unavailable: not replicated: WAIT counted 0 of 1 replicas within 1000 ms; the change may or may not survive a failover',
    });
    // The outcome was unknown; the client's own id finds it (the primary has it), and is not reserved twice.
    expect((await call('GET', '/v1/reservations/replicas-frozen')).body).toMatchObject({ id: 'replicas-frozen', state: 'reserved' });
    expect((await call('POST', '/v1/reservations', { amount: 1, id: 'replicas-frozen' })).status).toBe(409);
    for (const p of replicas) flaredb.procs.get(p)!.kill('SIGCONT'); // (signal() would wait for an exit)
    const thawed = await call('POST', '/v1/reservations', { amount: 1, id: 'replicas-thawed' });
    expect(thawed.status, JSON.stringify(thawed.body)).toBe(201);
    expect((await call('POST', '/v1/reservations/replicas-frozen/rollback')).status).toBe(200);
    // The sentinels see both replicas well again before the first failover needs one.
    for (const s of flaredb.sentinelPorts) {
      await waitUntil(`sentinel ${s} to see both replicas up again`, 30_000, async () => {
        const list = (await once(s, undefined, 'sentinel', 'replicas', MASTER)) as string[][];
        const flags = list.map((r) => r[r.indexOf('flags') + 1]);
        check(flags.length === 2 && flags.every((f) => f === 'slave'), `flags ${flags.join(', ')}`);
      });
    }

    const faults: { name: string; apply: (primary: number) => Promise<void> }[] = [
      { name: 'primary stopped', apply: (p) => flaredb!.signal(p, 'SIGTERM') },
      { name: 'primary stopped again', apply: (p) => flaredb!.signal(p, 'SIGTERM') },
      {
        name: 'primary stopped while every sentinel is away',
        apply: async (p) => {
          await Promise.all(flaredb!.sentinelPorts.map((s) => flaredb!.signal(s, 'SIGKILL')));
          await flaredb!.signal(p, 'SIGTERM');
          await sleep(1000);
          for (const s of flaredb!.sentinelPorts) flaredb!.startSentinel(s, false);
        },
      },
      // Its connections stay open and silent: only watchFailovers moves the client.
      { name: 'primary frozen', apply: (p) => flaredb!.signal(p, 'SIGSTOP') },
    ];
    const figures: string[] = [];
    for (const fault of faults) {
      const old = await flaredb.primary();
      await fault.apply(old);
      const promoted = await waitUntil(`${fault.name}: a new primary`, 60_000, async () => {
        const p = await flaredb!.primary();
        check(p !== old, `the sentinels still name ${old}`);
        return p;
      });
      const promotedAt = Date.now();
      await served(fault.name);
      figures.push(`${fault.name}: ${old} -> ${promoted}, served ${Date.now() - promotedAt} ms after the sentinels named it`);

      // The old primary comes back as a replica of the new one (written into
      // its config: the test is about the client, not Sentinel's conversion).
      await flaredb.signal(old, 'SIGKILL');
      flaredb.writeRedisConf(old, promoted);
      flaredb.startRedis(old);
      await flaredb.waitReplica(old);
    }
    console.log(figures.join('\n'));

    const journal = `service log:\n${logs.join('\n')}`;
    // Never given up on: the first client rode through all four.
    expect(logs.filter((l) => l.includes('closed for good')), journal).toEqual([]);
    expect(ledger.client === firstClient, journal).toBe(true);
    // The frozen primary was left by watchFailovers' doing.
    expect(logs.some((l) => /switched flaredb to 127\.0\.0\.1:\d+: reconnecting/.test(l)), journal).toBe(true);
    const balance = await call('GET', '/v1/balance');
    expect(balance.status).toBe(200);
  });
});
