/**
 * The ledger on flaredb: Redis 7 behind Sentinel (ioredis). Commands wait in
 * ioredis' offline queue while the primary changes, but each one fails
 * after the command timeout (10 s by default): a request then gets 503
 * instead of hanging.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from './config.js';
import { UnavailableError, reasonOf } from './errors.js';
import type { AccountState, Ledger, Reservation, ReserveOutcome, ReserveRequest, SettleAction, SettleOutcome } from './ledger.js';
import {
  RESERVE_LUA,
  SET_BALANCE_LUA,
  SETTLE_LUA,
  accountKey,
  parseAccountHash,
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
}

/** ioredis options for the Sentinel-managed primary. */
export function redisOptions(config: Config): RedisOptions {
  return {
    sentinels: config.redis.sentinels.map(({ host, port }) => ({ host, port })),
    name: config.redis.masterName,
    role: 'master',
    password: config.redis.password,
    // Sentinels need no password (no sentinelPassword).
    // Ask the sentinels again every 0.5-2 s while none answers, forever.
    sentinelRetryStrategy: (times: number) => Math.min(times * 500, 2000),
    // Reconnect to the (possibly new) primary every 0.2-2 s, forever.
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
    // An old primary that came back as a replica answers writes with READONLY:
    // reconnect (through the sentinels) and resend the command.
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 2 : false),
    // Subscribe to +switch-master on the sentinels: move at once on a failover.
    failoverDetector: true,
    enableOfflineQueue: true,
    commandTimeout: config.redisCommandTimeoutMs,
    connectTimeout: 5000,
    sentinelCommandTimeout: 5000,
    maxRetriesPerRequest: null, // bounded by commandTimeout instead
  };
}

export function createRedis(config: Config, log: (line: string) => void): Redis {
  const redis = new Redis(redisOptions(config));
  // While flaredb is away ioredis reports every retry (every 0.5-2 s): log
  // each distinct message at most every 30 s.
  const lastLogged = new Map<string, number>();
  redis.on('error', (err: unknown) => {
    const reason = reasonOf(err);
    const now = Date.now();
    if (now - (lastLogged.get(reason) ?? -Infinity) < 30_000) return;
    lastLogged.set(reason, now);
    log(`redis: ${reason}`);
  });
  redis.on('ready', () => {
    lastLogged.clear();
    const s = redis.stream as { remoteAddress?: string; remotePort?: number } | undefined;
    log(`redis: connected to primary ${s?.remoteAddress ?? '?'}:${s?.remotePort ?? '?'} (master ${config.redis.masterName})`);
  });
  return redis;
}

export class RedisLedger implements Ledger {
  private readonly scripts: ScriptedRedis;

  constructor(private readonly redis: Redis) {
    redis.defineCommand('creditReserve', { numberOfKeys: 2, lua: RESERVE_LUA });
    redis.defineCommand('creditSettle', { numberOfKeys: 2, lua: SETTLE_LUA });
    redis.defineCommand('creditSetBalance', { numberOfKeys: 1, lua: SET_BALANCE_LUA });
    this.scripts = redis as unknown as ScriptedRedis;
  }

  private async run<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new UnavailableError('ledger', reasonOf(err));
    }
  }

  async ping(): Promise<void> {
    await this.run(() => this.redis.ping());
  }

  async getAccount(account: string): Promise<AccountState> {
    const h = await this.run(() => this.redis.hgetall(accountKey(account)));
    return parseAccountHash(h, account);
  }

  async setBalance(account: string, balance: number): Promise<AccountState> {
    const reply = await this.run(() => this.scripts.creditSetBalance(accountKey(account), String(balance)));
    return parseSetBalanceReply(reply, account);
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
      ),
    );
    return parseReserveReply(reply, req);
  }

  async getReservation(id: string): Promise<Reservation | null> {
    const h = await this.run(() => this.redis.hgetall(reservationKey(id)));
    return parseReservationHash(h);
  }

  async settle(id: string, action: SettleAction, now: number): Promise<SettleOutcome> {
    // A reservation's account never changes, so reading it first is safe;
    // the script checks it again and does the rest atomically.
    const account = await this.run(() => this.redis.hget(reservationKey(id), 'account'));
    if (account === null) return { kind: 'not_found' };
    const reply = await this.run(() =>
      this.scripts.creditSettle(reservationKey(id), accountKey(account), action, String(now), account),
    );
    return parseSettleReply(reply, account);
  }
}
