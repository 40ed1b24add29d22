/**
 * creditservice through real flaredb failovers: a primary, two replicas and
 * three Sentinels (Debian's redis-server and redis-sentinel) on 127.0.0.1,
 * the service's own client (createRedis, RedisLedger, watchFailovers) and
 * its HTTP app. The primary is stopped four times in a row: twice plainly
 * (as `systemctl stop redis-server` does), once while every Sentinel is
 * away, once frozen (SIGSTOP: it keeps its connections but never answers).
 * After each, /healthz and a reservation must work again on the new
 * primary, and the client must never have been given up (status `end`).
 *
 * The binaries come from the redis-server and redis-sentinel packages, which
 * `make deps` installs with their services off; where one is missing the
 * case fails, naming the package.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/creditservice/src/config.js';
import { createApp, type App, type AppResponse } from '../../services/creditservice/src/http.js';
import { RedisLedger, createRedis, watchFailovers } from '../../services/creditservice/src/redis-ledger.js';
import { checkHealth } from '../../services/creditservice/src/service.js';
import { FakeAuth, FakeDirectory, FakeNightlight } from '../../services/creditservice/src/testing.js';
import { JwksCache } from '../../services/creditservice/src/token.js';
import { check, findBinary, freePorts, missingPackageError, once, sleep, waitUntil } from './helpers/local-redis.js';

const PASSWORD = 'cafe0123';
const MASTER = 'flaredb';

/** Primary, two replicas, three Sentinels on 127.0.0.1 in a temp dir. */
class LocalFlaredb {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'creditservice-sentinel-'));
  readonly procs = new Map<number, ChildProcess>();
  constructor(
    readonly bins: { server: string; sentinel: string },
    readonly redisPorts: number[],
    readonly sentinelPorts: number[],
  ) {}

  private conf(kind: 'redis' | 'sentinel', port: number): string {
    return path.join(this.dir, `${kind}-${port}.conf`);
  }

  log(kind: 'redis' | 'sentinel', port: number): string {
    return path.join(this.dir, `${kind}-${port}.log`);
  }

  /** The last lines of a server's log, for a failure message. */
  tail(kind: 'redis' | 'sentinel', port: number, lines = 15): string {
    try {
      return readFileSync(this.log(kind, port), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch (err) {
      return String(err);
    }
  }

  writeRedisConf(port: number, replicaOf: number | null): void {
    writeFileSync(
      this.conf('redis', port),
      [
        'bind 127.0.0.1',
        `port ${port}`,
        'daemonize no',
        'save ""',
        'appendonly no',
        `dir ${this.dir}`,
        `dbfilename dump-${port}.rdb`,
        `logfile ${this.log('redis', port)}`,
        `requirepass ${PASSWORD}`,
        `masterauth ${PASSWORD}`,
        // A replica that (re)joins is sent the data at once, not after 5 s.
        'repl-diskless-sync-delay 0',
        replicaOf === null ? '' : `replicaof 127.0.0.1 ${replicaOf}`,
        '',
      ].join('\n'),
    );
  }

  readonly stderr = new Map<number, string>();

  private run(port: number, bin: string, conf: string): void {
    // stderr kept for failure messages: what Redis says before its log file is open.
    const proc = spawn(bin, [conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.stderr.set(port, '');
    proc.stderr!.on('data', (d: Buffer) => this.stderr.set(port, (this.stderr.get(port)! + d.toString()).slice(-2000)));
    this.procs.set(port, proc);
  }

  startRedis(port: number): void {
    this.run(port, this.bins.server, this.conf('redis', port));
  }

  startSentinel(port: number, fresh: boolean): void {
    if (fresh) {
      writeFileSync(
        this.conf('sentinel', port),
        [
          'bind 127.0.0.1',
          `port ${port}`,
          'daemonize no',
          `dir ${this.dir}`,
          `logfile ${this.log('sentinel', port)}`,
          'sentinel resolve-hostnames no',
          `sentinel monitor ${MASTER} 127.0.0.1 ${this.redisPorts[0]} 2`,
          `sentinel auth-pass ${MASTER} ${PASSWORD}`,
          // The cluster uses 8 s / 20 s (sized for TCG); short here.
          `sentinel down-after-milliseconds ${MASTER} 1000`,
          `sentinel failover-timeout ${MASTER} 3000`,
          `sentinel parallel-syncs ${MASTER} 1`,
          '',
        ].join('\n'),
      );
    }
    // Restarted from the config file it rewrote: it keeps what it learned.
    this.run(port, this.bins.sentinel, this.conf('sentinel', port));
  }

  async start(): Promise<void> {
    const [p0, p1, p2] = this.redisPorts as [number, number, number];
    this.writeRedisConf(p0, null);
    this.writeRedisConf(p1, p0);
    this.writeRedisConf(p2, p0);
    for (const p of this.redisPorts) this.startRedis(p);
    for (const p of [p1, p2]) await this.waitReplica(p, p0);
    for (const p of this.sentinelPorts) this.startSentinel(p, true);
    // Ready for a failover: every Sentinel knows both replicas and the other two Sentinels.
    for (const p of this.sentinelPorts) {
      await waitUntil(`sentinel ${p} to know the replicas and the other sentinels`, 30_000, async () => {
        const info = (await once(p, undefined, 'sentinel', 'master', MASTER)) as string[];
        const field = (k: string) => info[info.indexOf(k) + 1];
        check(field('num-slaves') === '2' && field('num-other-sentinels') === '2', `num-slaves ${field('num-slaves')}, num-other-sentinels ${field('num-other-sentinels')}`);
      });
    }
  }

  /** Until `port` is a replica, in sync, of `primary` (by default the one the sentinels name). */
  async waitReplica(port: number, primaryPort?: number): Promise<void> {
    try {
      await waitUntil(`127.0.0.1:${port} to replicate from the primary`, 60_000, async () => {
        const primary = primaryPort ?? (await this.primary());
        const info = String(await once(port, PASSWORD, 'info', 'replication'));
        const role = /role:(\w+)/.exec(info)?.[1];
        const from = /master_port:(\d+)/.exec(info)?.[1];
        const link = /master_link_status:(\w+)/.exec(info)?.[1];
        check(role === 'slave' && from === String(primary) && link === 'up', `role ${role}, master_port ${from}, link ${link}; the primary is ${primary}`);
      });
    } catch (err) {
      const proc = this.procs.get(port)!;
      const state = proc.exitCode !== null || proc.signalCode !== null ? `exited (${proc.exitCode ?? proc.signalCode})` : 'running';
      throw new Error(`${(err as Error).message}\n--- process ${proc.pid} ${state}, stderr: ${this.stderr.get(port)}\n--- its log:\n${this.tail('redis', port)}`);
    }
  }

  /** The primary as the first Sentinel that answers sees it. */
  async primary(): Promise<number> {
    for (const p of this.sentinelPorts) {
      try {
        const addr = (await once(p, undefined, 'sentinel', 'get-master-addr-by-name', MASTER)) as [string, string];
        return Number(addr[1]);
      } catch {
        // next one
      }
    }
    throw new Error('no sentinel answered');
  }

  /** Sends `signal` to the process on `port`; resolves once it exited (not for SIGSTOP). */
  signal(port: number, signal: NodeJS.Signals): Promise<void> {
    const proc = this.procs.get(port)!;
    if (signal === 'SIGSTOP') {
      proc.kill(signal);
      return Promise.resolve();
    }
    const exited = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    return exited;
  }

  stop(): void {
    for (const proc of this.procs.values()) proc.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}

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
    const ledger = new RedisLedger(() => createRedis(config, log), log);
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
