/**
 * The counter on FlareDB: Redis 7 behind Sentinel, through ioredis.
 *
 * What creditservice learned about ioredis + Sentinel on this cluster
 * (services/creditservice/src/redis-ledger.ts), reused here without
 * importing from it:
 * - ioredis asks the sentinels for the primary on every reconnect; retry
 *   the sentinels and the primary forever (0.2-2 s apart), never give up;
 * - ioredis' own failoverDetector races its reconnect and can leave the
 *   client for good ("Connection is closed."): it is off, and
 *   watchFailovers() below follows +switch-master on every sentinel and
 *   drops an established connection to a replaced primary (one that hangs
 *   rather than closes);
 * - should a client still reach status `end`, a fresh one replaces it;
 * - an old primary that came back as a replica answers writes with
 *   READONLY: reconnect through the sentinels.
 *
 * Different from creditservice, for the visit's all-or-nothing rule: no
 * offline queue and no resending. A command is written on a live
 * connection to the primary during its request or never: while there is
 * none, the request waits for one up to READY_WAIT_MS and then fails, and
 * a command in flight when the connection drops fails at once
 * (maxRetriesPerRequest 0, autoResendUnfulfilledCommands false). So a
 * compare-and-set is never replayed on another connection after its
 * request gave up, and the CAS and its WAIT always travel on one
 * connection (one pipeline), so WAIT counts the replicas that have the CAS.
 */
import { Redis, type RedisOptions } from 'ioredis';
import type { CommitResult, CounterStore } from './app.js';
import type { Config, HostPort } from './config.js';
import { BackendError, CommitError, reasonOf, withTimeout } from './errors.js';
import { parseCounterFields, type CounterState } from './state.js';

/** Every Redis command's deadline. */
export const COMMAND_TIMEOUT_MS = 5000;
/** WAIT's timeout for a replica to acknowledge a visit (inside COMMAND_TIMEOUT_MS). */
export const WAIT_MS = 3000;
/** How long a request waits for a connection to the primary before it fails. */
export const READY_WAIT_MS = 5000;

/**
 * The compare-and-set of a visit. KEYS[1] the hash; ARGV: expected counter,
 * new counter, snapshot key, time. Returns {1, new} when applied, else
 * {0, current counter, current lastSnapshot}. A missing counter is 0.
 */
export const CAS_LUA = `local cur = redis.call('HGET', KEYS[1], 'counter')
if not cur then cur = '0' end
if cur ~= ARGV[1] then
  return {0, cur, redis.call('HGET', KEYS[1], 'lastSnapshot') or ''}
end
redis.call('HSET', KEYS[1], 'counter', ARGV[2], 'lastSnapshot', ARGV[3], 'updatedAt', ARGV[4])
return {1, ARGV[2]}`;

export function redisOptions(config: Config['flaredb']): RedisOptions {
  return {
    sentinels: config.sentinels.map(({ host, port }) => ({ host, port })),
    name: config.masterName,
    role: 'master',
    password: config.password,
    sentinelRetryStrategy: (times: number) => Math.min((times - 1) * 500, 2000),
    retryStrategy: (times: number) => Math.min(times * 200, 2000),
    // READONLY (an old primary, now a replica): reconnect, do not resend.
    reconnectOnError: (err: Error) => (err.message.startsWith('READONLY') ? 1 : false),
    failoverDetector: false,
    enableOfflineQueue: false,
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: 5000,
    sentinelCommandTimeout: 5000,
    // A primary that vanished without closing (power off) is noticed by the
    // sentinels' +switch-master, or by keepalive after 10 s of silence.
    keepAlive: 10_000,
  };
}

/** The new primary in a +switch-master message for `masterName` ("<name> <old ip> <old port> <new ip> <new port>"), else null. */
export function switchMasterTarget(message: string, masterName: string): HostPort | null {
  const f = message.trim().split(/\s+/);
  if (f.length !== 5 || f[0] !== masterName || !/^\d+$/.test(f[4]!)) return null;
  return { host: f[3]!, port: Number(f[4]) };
}

/** An established connection (connect/ready, still writable) to somewhere other than `to`: drop it. */
export function mustReconnect(
  client: { status: string; stream?: { remoteAddress?: string; remotePort?: number; writable?: boolean } | undefined },
  to: HostPort,
): boolean {
  if (client.status !== 'ready' && client.status !== 'connect') return false;
  const s = client.stream;
  if (s?.writable === false) return false;
  return s?.remoteAddress !== to.host || s?.remotePort !== to.port;
}

/** The CAS reply: applied, or the counter and lastSnapshot that were there instead. */
export function parseCasReply(reply: unknown): { applied: true } | { applied: false; current: number; lastSnapshot: string } {
  if (!Array.isArray(reply) || (reply[0] !== 0 && reply[0] !== 1)) throw new Error(`unexpected compare-and-set reply ${JSON.stringify(reply)}`);
  if (reply[0] === 1) return { applied: true };
  const current = Number(reply[1]);
  if (!Number.isSafeInteger(current)) throw new Error(`the hash's counter holds ${JSON.stringify(reply[1])}`);
  return { applied: false, current, lastSnapshot: String(reply[2] ?? '') };
}

/** Each distinct message at most every 30 s: ioredis reports every retry while FlareDB is away. */
function rateLimited(log: (line: string) => void): { error: (prefix: string, err: unknown) => void; reset: () => void } {
  const last = new Map<string, number>();
  return {
    error(prefix, err) {
      const line = `${prefix}${reasonOf(err)}`;
      const now = Date.now();
      if (now - (last.get(line) ?? -Infinity) < 30_000) return;
      last.set(line, now);
      log(line);
    },
    reset: () => last.clear(),
  };
}

export class FlareDbStore implements CounterStore {
  private current!: Redis;
  private closed = false;
  private lastError = 'not connected yet';
  private readonly errors: ReturnType<typeof rateLimited>;
  private readonly subscribers: Redis[] = [];

  constructor(
    private readonly config: Config['flaredb'],
    private readonly key: string,
    private readonly log: (line: string) => void,
  ) {
    this.errors = rateLimited(log);
    this.use(new Redis(redisOptions(config)));
    this.watchFailovers();
  }

  private use(redis: Redis): void {
    this.current = redis;
    redis.on('error', (err: unknown) => {
      this.lastError = reasonOf(err);
      this.errors.error('flaredb: ', err);
    });
    redis.on('ready', () => {
      this.errors.reset();
      const s = redis.stream as { remoteAddress?: string; remotePort?: number } | undefined;
      this.log(`flaredb: connected to primary ${s?.remoteAddress ?? '?'}:${s?.remotePort ?? '?'} (master ${this.config.masterName})`);
    });
    redis.once('end', () => {
      if (this.closed || this.current !== redis) return;
      this.log('flaredb: the client closed for good (ioredis status end); starting a new one');
      this.use(new Redis(redisOptions(this.config)));
    });
  }

  /** Follows +switch-master on every sentinel; see the file comment. */
  private watchFailovers(): void {
    for (const sentinel of this.config.sentinels) {
      const sub = new Redis({
        host: sentinel.host,
        port: sentinel.port,
        retryStrategy: (times: number) => Math.min(times * 500, 2000),
        maxRetriesPerRequest: null,
        connectTimeout: 5000,
        keepAlive: 10_000,
      });
      sub.on('error', (err: unknown) => this.errors.error(`flaredb: sentinel ${sentinel.host}:${sentinel.port}: `, err));
      sub.on('message', (channel: string, message: string) => {
        const to = channel === '+switch-master' ? switchMasterTarget(message, this.config.masterName) : null;
        if (to === null) return;
        this.log(`flaredb: sentinel ${sentinel.host}:${sentinel.port} says ${this.config.masterName} moved to ${to.host}:${to.port}`);
        if (!mustReconnect(this.current, to)) return;
        this.log('flaredb: dropping the connection to the old primary');
        this.current.disconnect(true);
      });
      sub.subscribe('+switch-master').catch((err: unknown) => this.errors.error('flaredb: subscribe: ', err));
      this.subscribers.push(sub);
    }
  }

  /** The client, once it is connected to the primary (waits up to READY_WAIT_MS). */
  private async ready(what: string): Promise<Redis> {
    const redis = this.current;
    if (redis.status === 'ready') return redis;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        redis.off('ready', onReady);
        reject(
          new BackendError(
            'flaredb',
            `${what}: no connection to the primary of "${this.config.masterName}" within ${READY_WAIT_MS / 1000} s (sentinels ${this.config.sentinels.map((s) => `${s.host}:${s.port}`).join(', ')}; last error: ${this.lastError})`,
          ),
        );
      }, READY_WAIT_MS);
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      redis.once('ready', onReady);
    });
    return redis;
  }

  async read(): Promise<CounterState> {
    const what = `reading ${this.key}`;
    const redis = await this.ready(what);
    let fields: (string | null)[];
    try {
      fields = await withTimeout(redis.hmget(this.key, 'counter', 'lastSnapshot'), COMMAND_TIMEOUT_MS + 1000, () => new Error('timed out'));
    } catch (err) {
      throw new BackendError('flaredb', `${what}: ${reasonOf(err)}`);
    }
    try {
      return parseCounterFields(fields[0] ?? null, fields[1] ?? null);
    } catch (err) {
      throw new BackendError('flaredb', `${what}: ${reasonOf(err)}`, 500);
    }
  }

  async commit(expected: number, next: number, key: string, at: string): Promise<CommitResult> {
    const what = `setting ${this.key} counter ${expected} -> ${next}`;
    const redis = await this.ready(what).catch((err: unknown) => {
      throw new CommitError(reasonOf(err).replace(/^flaredb: /, ''), 'no');
    });
    // One pipeline: the CAS and the WAIT for its replica go out together on this connection.
    let results: [Error | null, unknown][] | null;
    try {
      results = await withTimeout(
        redis.pipeline().eval(CAS_LUA, 1, this.key, String(expected), String(next), key, at).wait(1, WAIT_MS).exec(),
        COMMAND_TIMEOUT_MS + 1000,
        () => new Error('timed out'),
      );
    } catch (err) {
      throw new CommitError(`${what}: ${reasonOf(err)} (the update may or may not have applied)`, 'unknown');
    }
    if (!results || results.length !== 2) throw new CommitError(`${what}: no reply (the update may or may not have applied)`, 'unknown');
    const [[casErr, casReply], [waitErr, waitReply]] = results as [[Error | null, unknown], [Error | null, unknown]];
    if (casErr) {
      // An error reply from Redis (READONLY, NOSCRIPT, OOM, ...): the script wrote nothing.
      const answered = casErr.name === 'ReplyError';
      throw new CommitError(
        `${what}: ${reasonOf(casErr)}${answered ? '' : ' (the update may or may not have applied)'}`,
        answered ? 'no' : 'unknown',
      );
    }
    let cas: ReturnType<typeof parseCasReply>;
    try {
      cas = parseCasReply(casReply);
    } catch (err) {
      throw new CommitError(`${what}: ${reasonOf(err)}`, 'unknown');
    }
    if (!cas.applied) {
      // Our own key there can only mean our CAS ran before (it never should: nothing is resent).
      if (cas.lastSnapshot === key) return { kind: 'committed', replicas: 0 };
      return { kind: 'lost', current: cas.current };
    }
    if (waitErr) {
      this.log(`flaredb: WAIT after counter ${next}: ${reasonOf(waitErr)}`);
      return { kind: 'committed', replicas: 0 };
    }
    const replicas = Number(waitReply);
    return { kind: 'committed', replicas: Number.isSafeInteger(replicas) ? replicas : 0 };
  }

  /** Closes every connection (shutdown). */
  close(): void {
    this.closed = true;
    this.current.disconnect();
    for (const s of this.subscribers) s.disconnect();
  }
}
