/**
 * The ledger on flaredb: Redis 7 behind Sentinel (ioredis). Commands wait in
 * ioredis' offline queue while the primary changes, but each one fails
 * after the command timeout (10 s by default): a request then gets 503
 * instead of hanging.
 *
 * Failovers, any number of them: ioredis asks the sentinels for the primary
 * on every reconnect; watchFailovers() drops a connection to a primary that
 * Sentinel replaced (one that hangs rather than closes); and RedisLedger
 * starts a fresh client should ioredis ever give up on one (status `end`).
 *
 * Replication is asynchronous, so a change the primary applied can vanish
 * in a failover: every change is followed by WAIT on the same connection,
 * and is acknowledged only once enough replicas have it (503 otherwise).
 */
import { randomUUID } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Config, HostPort } from './config.js';
import { UnavailableError, reasonOf } from './errors.js';
import type { AccountState, Ledger, MeterOutcome, Reservation, ReserveOutcome, ReserveRequest, SettleAction, SettleOutcome } from './ledger.js';
import {
  METER_LUA,
  RESERVE_LUA,
  UNMETER_LUA,
  SET_BALANCE_LUA,
  SETTLE_LUA,
  accountKey,
  parseAccountHash,
  parseMeterReply,
  parseReservationHash,
  parseReserveReply,
  parseSetBalanceReply,
  parseSettleReply,
  reservationKey,
} from './lua.js';

type Script = (...args: (string | number)[]) => Promise<unknown>;
interface ScriptedRedis {
  creditReserve: Script;
  creditSettle: Script;
  creditSetBalance: Script;
  creditMeter: Script;
  creditUnmeter: Script;
}

/** ioredis options for the Sentinel-managed primary. */
export function redisOptions(config: Config): RedisOptions {
  return {
    sentinels: config.redis.sentinels.map(({ host, port }) => ({ host, port })),
    name: config.redis.masterName,
    role: 'master',
    password: config.redis.password,
    // Sentinels need no password (no sentinelPassword).
    // ioredis asks one sentinel per reconnect and moves on to the next one
    // each time; past the last one it reports "All sentinels are
    // unreachable" (even when they all answered) and waits this long: start
    // over at once the first time, then every 0.5-2 s, forever.
    sentinelRetryStrategy: (times: number) => Math.min((times - 1) * 500, 2000),
    // Reconnect to the (possibly new) primary every 0.2-2 s, forever.
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
    // An old primary that came back as a replica answers writes with READONLY:
    // reconnect (through the sentinels) and resend the command.
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
    // Not ioredis' own detector: on +switch-master it disconnects even while
    // ioredis is asking the sentinels for the primary (reconnecting after the
    // old one went away); that connect then fails with "Connection is
    // closed." and ioredis never tries again (ioredis 5.11,
    // SentinelConnector/index.js:82, Redis.js:137-142). watchFailovers()
    // does the same job without that race.
    failoverDetector: false,
    enableOfflineQueue: true,
    // A command sent but not answered when the connection dropped may have
    // been applied: resending it could apply a settle or a draw twice (or
    // answer 409 for a commit that did happen). It fails instead, and the
    // request answers 503: outcome unknown. (Commands never sent wait in the
    // offline queue; READONLY refusals, which applied nothing, are resent.)
    autoResendUnfulfilledCommands: false,
    commandTimeout: config.redisCommandTimeoutMs,
    connectTimeout: 5000,
    sentinelCommandTimeout: 5000,
    maxRetriesPerRequest: null, // bounded by commandTimeout instead
  };
}

/**
 * A log for ioredis' 'error' events: while flaredb is away ioredis reports
 * every retry (every 0.5-2 s), so each distinct message is logged at most
 * every 30 s. `reset()` forgets them (called once connected).
 */
function errorLog(prefix: string, log: (line: string) => void): { error: (err: unknown) => void; reset: () => void } {
  const lastLogged = new Map<string, number>();
  return {
    error: (err: unknown) => {
      const reason = reasonOf(err);
      const now = Date.now();
      if (now - (lastLogged.get(reason) ?? -Infinity) < 30_000) return;
      lastLogged.set(reason, now);
      log(`${prefix}${reason}`);
    },
    reset: () => lastLogged.clear(),
  };
}

export function createRedis(config: Config, log: (line: string) => void): Redis {
  const redis = new Redis(redisOptions(config));
  const errors = errorLog('redis: ', log);
  redis.on('error', errors.error);
  redis.on('ready', () => {
    errors.reset();
    const s = redis.stream as { remoteAddress?: string; remotePort?: number } | undefined;
    log(`redis: connected to primary ${s?.remoteAddress ?? '?'}:${s?.remotePort ?? '?'} (master ${config.redis.masterName})`);
  });
  return redis;
}

/** What watchFailovers looks at and does on the ledger's client (an ioredis Redis). */
export interface WatchedClient {
  readonly status: string;
  readonly stream?: { remoteAddress?: string; remotePort?: number; writable?: boolean } | undefined;
  disconnect(reconnect?: boolean): void;
}

/** A subscriber on one sentinel (an ioredis Redis). */
export interface SentinelSubscriber {
  subscribe(channel: string): Promise<unknown>;
  on(event: 'message', listener: (channel: string, message: string) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  disconnect(): void;
}

export const SWITCH_MASTER = '+switch-master';

/** The new primary in a +switch-master message for `masterName` ("<name> <old ip> <old port> <new ip> <new port>"), else null. */
export function switchMasterTarget(message: string, masterName: string): HostPort | null {
  const f = message.trim().split(/\s+/);
  if (f.length !== 5 || f[0] !== masterName || !/^\d+$/.test(f[4]!)) return null;
  return { host: f[3]!, port: Number(f[4]) };
}

/**
 * After a switch to `to`: must the client drop its connection? Only an
 * established one (connect/ready) to another address: a client that is
 * (re)connecting asks the sentinels anyway, and interrupting it then is
 * what makes ioredis give up. A connection already being closed (not
 * writable: the next sentinel's message about the same switch) is left alone.
 */
export function mustReconnect(client: WatchedClient, to: HostPort): boolean {
  if (client.status !== 'ready' && client.status !== 'connect') return false;
  const s = client.stream;
  if (s?.writable === false) return false;
  return s?.remoteAddress !== to.host || s?.remotePort !== to.port;
}

function sentinelSubscriber(sentinel: HostPort): SentinelSubscriber {
  return new Redis({
    host: sentinel.host,
    port: sentinel.port,
    // Forever, every 0.5-2 s; subscribed again on every reconnect.
    retryStrategy: (times: number) => Math.min(times * 500, 2000),
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
    // Nothing is ever written on a subscriber's connection, so a sentinel
    // node that rebooted would go unnoticed for hours: keepalive probes
    // notice it after 10 s of silence.
    keepAlive: 10_000,
  });
}

/**
 * Follows Sentinel's +switch-master on every sentinel and makes the
 * ledger's current client reconnect (through the sentinels) when it is
 * still connected to the old primary. A stopped primary closes its
 * connections by itself; a hung or powered-off one does not, and without
 * this the client would wait on it until TCP gives up.
 */
export function watchFailovers(
  config: Config,
  current: () => WatchedClient,
  log: (line: string) => void,
  subscriber: (sentinel: HostPort) => SentinelSubscriber = sentinelSubscriber,
): { close: () => void } {
  const errors = errorLog('sentinel subscriber: ', log);
  const subs = config.redis.sentinels.map((sentinel) => {
    const sub = subscriber(sentinel);
    sub.on('error', errors.error);
    sub.on('message', (channel, message) => {
      const to = channel === SWITCH_MASTER ? switchMasterTarget(message, config.redis.masterName) : null;
      const client = current();
      if (to === null || !mustReconnect(client, to)) return;
      log(`redis: sentinel ${sentinel.host}:${sentinel.port} switched ${config.redis.masterName} to ${to.host}:${to.port}: reconnecting`);
      client.disconnect(true);
    });
    // Queued until the sentinel answers; ioredis subscribes again after a reconnect.
    sub.subscribe(SWITCH_MASTER).catch(errors.error);
    return sub;
  });
  return { close: () => subs.forEach((s) => s.disconnect()) };
}

/** How many replicas must have a change before it is acknowledged, and how long WAIT may take. */
export interface ReplicationWait {
  replicas: number;
  timeoutMs: number;
}

/** No WAIT: for a Redis without replicas (the tests' single server). */
export const NO_WAIT: ReplicationWait = { replicas: 0, timeoutMs: 1000 };

/**
 * The ledger's client: a fresh one from `connect()`, with the Lua commands
 * defined. ioredis gives up on a client for good once it reaches status
 * `end` (every command then fails "Connection is closed."), whatever the
 * cause; unless close() was called, RedisLedger then starts a new one.
 */
export class RedisLedger implements Ledger {
  private current!: Redis;
  private closed = false;
  /** Connections made so far (all clients): a WAIT must run on the connection that made the change. */
  private connections = 0;

  constructor(
    private readonly connect: () => Redis,
    private readonly log: (line: string) => void = () => {},
    private readonly wait: ReplicationWait = NO_WAIT,
  ) {
    this.use(connect());
  }

  /** The client in use now. */
  get client(): Redis {
    return this.current;
  }

  private use(redis: Redis): void {
    redis.defineCommand('creditReserve', { numberOfKeys: 2, lua: RESERVE_LUA });
    redis.defineCommand('creditSettle', { numberOfKeys: 2, lua: SETTLE_LUA });
    redis.defineCommand('creditSetBalance', { numberOfKeys: 1, lua: SET_BALANCE_LUA });
    redis.defineCommand('creditMeter', { numberOfKeys: 1, lua: METER_LUA });
    redis.defineCommand('creditUnmeter', { numberOfKeys: 1, lua: UNMETER_LUA });
    this.current = redis;
    redis.on('connect', () => this.connections++);
    redis.once('end', () => {
      if (this.closed || this.current !== redis) return;
      this.log('redis: the client closed for good (ioredis status end); starting a new one');
      this.use(this.connect());
    });
  }

  /** Stops the client for good (shutdown). */
  close(): void {
    this.closed = true;
    this.current.disconnect();
  }

  private get scripts(): ScriptedRedis {
    return this.current as unknown as ScriptedRedis;
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new UnavailableError('ledger', reasonOf(err));
    }
  }

  /**
   * After a change: WAIT for the replicas, on the connection that made it.
   * WAIT counts the replicas that have everything this connection wrote so
   * far, which includes the change. A connection made in between (a
   * reconnect, a new client) has written nothing, so its WAIT would count
   * every replica at once: that is "not replicated" too.
   * `connection` is this.connections as the change's reply arrived.
   */
  private async replicated(connection: number): Promise<void> {
    const { replicas, timeoutMs } = this.wait;
    if (replicas === 0) return;
    const counted = await this.run(() => this.current.wait(replicas, timeoutMs));
    const unknown = 'the change may or may not survive a failover';
    if (this.connections !== connection) {
      throw new UnavailableError('ledger', `not replicated: the connection to flaredb changed before WAIT answered; ${unknown}`);
    }
    if (counted < replicas) {
      throw new UnavailableError('ledger', `not replicated: WAIT counted ${counted} of ${replicas} replicas within ${timeoutMs} ms; ${unknown}`);
    }
  }

  async ping(): Promise<void> {
    await this.run(() => this.current.ping());
  }

  async getAccount(account: string): Promise<AccountState> {
    const h = await this.run(() => this.current.hgetall(accountKey(account)));
    return parseAccountHash(h, account);
  }

  async setBalance(account: string, balance: number): Promise<AccountState> {
    const reply = await this.run(() => this.scripts.creditSetBalance(accountKey(account), String(balance)));
    const connection = this.connections;
    const state = parseSetBalanceReply(reply, account);
    await this.replicated(connection);
    return state;
  }

  async reserve(req: ReserveRequest): Promise<ReserveOutcome> {
    const reply = await this.run(() =>
      this.scripts.creditReserve(
        accountKey(req.account),
        reservationKey(req.id),
        String(req.amount),
        String(req.quota),
        req.id,
        req.account,
        req.user,
        String(req.now),
        // Tells a resend of this very command (ok) from another request with the same id (exists).
        randomUUID(),
      ),
    );
    const connection = this.connections;
    const out = parseReserveReply(reply, req);
    // Refusals changed nothing: no WAIT.
    if (out.kind === 'ok') await this.replicated(connection);
    return out;
  }

  async getReservation(id: string): Promise<Reservation | null> {
    const h = await this.run(() => this.current.hgetall(reservationKey(id)));
    return parseReservationHash(h);
  }

  async settle(id: string, action: SettleAction, now: number): Promise<SettleOutcome> {
    // A reservation's account never changes, so reading it first is safe;
    // the script checks it again and does the rest atomically.
    const account = await this.run(() => this.current.hget(reservationKey(id), 'account'));
    if (account === null) return { kind: 'not_found' };
    const reply = await this.run(() =>
      this.scripts.creditSettle(reservationKey(id), accountKey(account), action, String(now), account),
    );
    const connection = this.connections;
    const out = parseSettleReply(reply, account);
    if (out.kind === 'ok') await this.replicated(connection);
    return out;
  }

  async meter(id: string, account: string, cost: number): Promise<MeterOutcome> {
    const reply = await this.run(() => this.scripts.creditMeter(reservationKey(id), String(cost), account));
    const connection = this.connections;
    const out = parseMeterReply(reply);
    if (out.kind === 'ok') await this.replicated(connection);
    return out;
  }

  async unmeter(id: string, cost: number): Promise<number> {
    const reply = await this.run(() => this.scripts.creditUnmeter(reservationKey(id), String(cost)));
    const connection = this.connections;
    const n = Number(reply);
    if (!Number.isSafeInteger(n)) throw new UnavailableError('ledger', `unmeter: unexpected reply ${JSON.stringify(reply)}`);
    await this.replicated(connection);
    return n;
  }
}
