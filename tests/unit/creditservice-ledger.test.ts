import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MAX_AMOUNT, decideReserve, type Ledger } from '../../services/creditservice/src/ledger.js';
import {
  METER_LUA,
  RESERVE_LUA,
  UNMETER_LUA,
  parseMeterReply,
  ReplyError,
  SET_BALANCE_LUA,
  SETTLE_LUA,
  accountKey,
  parseAccountHash,
  parseReservationHash,
  parseReserveReply,
  parseSetBalanceReply,
  parseSettleReply,
  reservationKey,
} from '../../services/creditservice/src/lua.js';
import { MemoryLedger } from '../../services/creditservice/src/memory-ledger.js';
import { RedisLedger, redisOptions, type ReplicationWait } from '../../services/creditservice/src/redis-ledger.js';
import { UnavailableError } from '../../services/creditservice/src/errors.js';
import { rejection } from '../../services/creditservice/src/testing.js';
import { loadConfig } from '../../services/creditservice/src/config.js';
import { LocalRedis, check, findBinary, missingPackageError, once } from './helpers/local-redis.js';

const req = { id: 'r1', account: 'acct-a', amount: 5, user: 'alice', now: 1000 };

describe('creditservice reservation rule', () => {
  it('overdraw when amount > balance - reserved, then quota when reserved + amount > quota', () => {
    const table: [number, number, number, number, string][] = [
      // balance, reserved, amount, quota -> decision
      [10, 0, 10, 100, 'ok'],
      [10, 0, 11, 100, 'overdraw'],
      [10, 4, 6, 100, 'ok'],
      [10, 4, 7, 100, 'overdraw'],
      [1000, 90, 10, 100, 'ok'],
      [1000, 90, 11, 100, 'quota'],
      [1000, 0, 1, 0, 'quota'],
      [5, 0, 500, 100, 'overdraw'], // both: overdraw wins
      [0, 0, 1, 100, 'overdraw'],
      [3, 5, 1, 100, 'overdraw'], // balance set below reserved
      [MAX_AMOUNT, 0, MAX_AMOUNT, MAX_AMOUNT, 'ok'],
    ];
    for (const [balance, reserved, amount, quota, want] of table) {
      expect(decideReserve(balance, reserved, amount, quota), JSON.stringify({ balance, reserved, amount, quota })).toBe(want);
    }
  });
});

describe('creditservice Lua scripts', () => {
  it('keys live under credit:', () => {
    expect(accountKey('acct-alice')).toBe('credit:account:acct-alice');
    expect(reservationKey('abc')).toBe('credit:reservation:abc');
  });

  it('reserve: checks overdraw, then quota, before it writes anything', () => {
    const overdraw = RESERVE_LUA.indexOf('if amount > balance - reserved then');
    const quota = RESERVE_LUA.indexOf('if reserved + amount > quota then');
    const firstWrite = RESERVE_LUA.indexOf("redis.call('HINCRBY'");
    expect(overdraw).toBeGreaterThan(0);
    expect(quota).toBeGreaterThan(overdraw);
    expect(firstWrite).toBeGreaterThan(quota);
    expect(RESERVE_LUA).toContain("return {'overdraw', balance, reserved}");
    expect(RESERVE_LUA).toContain("return {'quota', balance, reserved}");
    // the id first, before anything else: one that exists is refused unless
    // it is this very call resent (its `call` token), which writes nothing new
    expect(RESERVE_LUA.trim().startsWith("if redis.call('EXISTS', KEYS[2]) == 1 then")).toBe(true);
    const exists = RESERVE_LUA.indexOf("return {'exists'}");
    expect(exists).toBeGreaterThan(RESERVE_LUA.indexOf("if redis.call('HGET', KEYS[2], 'call') ~= ARGV[7] then"));
    expect(exists).toBeLessThan(overdraw);
    expect(RESERVE_LUA.slice(0, overdraw)).not.toContain('HINCRBY');
    expect(RESERVE_LUA).toMatch(/redis\.call\('HSET', KEYS\[2\], 'id', [^)]*'call', ARGV\[7\]\)/);
  });

  it('settle: only from state reserved; commit also takes the amount off the balance', () => {
    const guard = SETTLE_LUA.indexOf("if r[1] ~= 'reserved' then");
    expect(guard).toBeGreaterThan(0);
    expect(SETTLE_LUA.indexOf("'HINCRBY', KEYS[2], 'balance'")).toBeGreaterThan(guard);
    expect(SETTLE_LUA).toMatch(/if ARGV\[1\] == 'commit' then\s+redis\.call\('HINCRBY', KEYS\[2\], 'balance', '-' \.\. r\[2\]\)/);
    expect(SETTLE_LUA).toContain("redis.call('HINCRBY', KEYS[2], 'reserved', '-' .. r[2])");
    expect(SETTLE_LUA).toContain("return {'not_found'}");
  });

  it('meter: only from state reserved, and only while used + cost <= amount, before it writes', () => {
    const guard = METER_LUA.indexOf("if r[1] ~= 'reserved' then");
    const rule = METER_LUA.indexOf('if used + tonumber(ARGV[1]) > amount then');
    const write = METER_LUA.indexOf("redis.call('HINCRBY'");
    expect(guard).toBeGreaterThan(0);
    expect(rule).toBeGreaterThan(guard);
    expect(write).toBeGreaterThan(rule);
    expect(UNMETER_LUA).toContain("redis.call('HSET', KEYS[1], 'used', '0')");
  });

  it('parses meter replies', () => {
    expect(parseMeterReply(['ok', 5, 3])).toEqual({ kind: 'ok', amount: 5, used: 3 });
    expect(parseMeterReply(['exhausted', 5, 4])).toEqual({ kind: 'exhausted', amount: 5, used: 4 });
    expect(parseMeterReply(['not_found'])).toEqual({ kind: 'not_found' });
    expect(parseMeterReply(['settled', 'rolled_back'])).toEqual({ kind: 'settled', reservationState: 'rolled_back' });
    expect(() => parseMeterReply(['ok', 5])).toThrow(ReplyError);
    expect(() => parseMeterReply('ok')).toThrow(ReplyError);
    expect(parseReservationHash({ id: 'r', account: 'a', amount: '5', state: 'reserved', used: '2' })).toMatchObject({ used: 2 });
  });

  it('scripts never turn a number into a string themselves (amounts come as ARGV strings)', () => {
    for (const lua of [RESERVE_LUA, SETTLE_LUA, SET_BALANCE_LUA, METER_LUA, UNMETER_LUA]) {
      expect(lua).not.toMatch(/tostring|string\.format/);
    }
  });

  it('parses reserve replies', () => {
    expect(parseReserveReply(['ok', 10, 5], req)).toEqual({
      kind: 'ok',
      state: { account: 'acct-a', balance: 10, reserved: 5 },
      reservation: { id: 'r1', account: 'acct-a', amount: 5, state: 'reserved', user: 'alice', created: 1000 },
    });
    expect(parseReserveReply(['overdraw', 4, 0], req)).toEqual({ kind: 'overdraw', state: { account: 'acct-a', balance: 4, reserved: 0 } });
    expect(parseReserveReply([Buffer.from('quota'), '100', '98'], req)).toEqual({
      kind: 'quota',
      state: { account: 'acct-a', balance: 100, reserved: 98 },
    });
    expect(parseReserveReply(['exists'], req)).toEqual({ kind: 'exists' });
    expect(parseReserveReply([Buffer.from('exists')], req)).toEqual({ kind: 'exists' });
    expect(() => parseReserveReply(['exists', 1, 1], req)).toThrow(ReplyError);
    expect(() => parseReserveReply(['what', 1, 1], req)).toThrow(ReplyError);
    expect(() => parseReserveReply(['ok', 1], req)).toThrow(ReplyError);
    expect(() => parseReserveReply(['ok', 'x', 1], req)).toThrow(ReplyError);
    expect(() => parseReserveReply(null, req)).toThrow(ReplyError);
  });

  it('parses settle replies', () => {
    expect(parseSettleReply(['not_found'], 'a')).toEqual({ kind: 'not_found' });
    expect(parseSettleReply(['settled', 'committed'], 'a')).toEqual({ kind: 'settled', reservationState: 'committed' });
    expect(parseSettleReply(['ok', 'rolled_back', 10, 0], 'a')).toEqual({
      kind: 'ok',
      reservationState: 'rolled_back',
      state: { account: 'a', balance: 10, reserved: 0 },
    });
    expect(() => parseSettleReply(['settled', 'gone'], 'a')).toThrow(/unknown reservation state/);
    expect(() => parseSettleReply(['ok', 'committed', 1], 'a')).toThrow(ReplyError);
    expect(() => parseSettleReply('OK', 'a')).toThrow(ReplyError);
  });

  it('parses set-balance replies and hashes', () => {
    expect(parseSetBalanceReply([25, 4], 'a')).toEqual({ account: 'a', balance: 25, reserved: 4 });
    expect(() => parseSetBalanceReply([25], 'a')).toThrow(ReplyError);
    expect(parseAccountHash({}, 'a')).toEqual({ account: 'a', balance: 0, reserved: 0 });
    expect(parseAccountHash({ balance: '-3', reserved: '7' }, 'a')).toEqual({ account: 'a', balance: -3, reserved: 7 });
    expect(parseReservationHash({})).toBeNull();
    expect(
      parseReservationHash({ id: 'r', account: 'a', amount: '3', state: 'committed', user: 'bob', created: '1', settled: '2' }),
    ).toEqual({ id: 'r', account: 'a', amount: 3, state: 'committed', user: 'bob', created: 1, settled: 2 });
    expect(() => parseReservationHash({ id: 'r', account: 'a', amount: 'x', state: 'reserved' })).toThrow(ReplyError);
  });
});

/**
 * The ledger contract: MemoryLedger, and RedisLedger (the Lua scripts on a
 * real Redis 7). RedisLedger runs on the Redis CREDIT_TEST_REDIS_URL names,
 * e.g. CREDIT_TEST_REDIS_URL=redis://:secret@127.0.0.1:6379/15 (keys credit:*
 * with random account and reservation ids; nothing is flushed), or else on
 * a throwaway local redis-server (helpers/local-redis.ts: 127.0.0.1, a free
 * port, a temp dir, no persistence), stopped after the suite. Where the
 * redis-server package is missing (`make deps` installs it) the case fails.
 */
function ledgerContract(
  name: string,
  make: () => Ledger | Promise<Ledger>,
  cleanup: () => Promise<void> = async () => {},
  /** RedisLedger only: another ledger on the same Redis, with its own WAIT setting. */
  another?: (wait: ReplicationWait) => RedisLedger,
) {
  describe(`creditservice ledger contract: ${name}`, () => {
    let l: Ledger;
    let a: string;
    const id = () => randomUUID();
    beforeAll(async () => {
      l = await make();
    }, 30_000);
    beforeEach(() => {
      a = `acct-test-${randomUUID().slice(0, 8)}`;
    });
    afterAll(cleanup);

    it('an account never set reads 0/0', async () => {
      await l.ping();
      expect(await l.getAccount(a)).toEqual({ account: a, balance: 0, reserved: 0 });
      expect(await l.getReservation(id())).toBeNull();
    });

    it('reserve, commit, rollback move balance and reserved', async () => {
      const [r1, r2] = [id(), id()];
      expect(await l.setBalance(a, 100)).toEqual({ account: a, balance: 100, reserved: 0 });
      const o1 = await l.reserve({ ...req, id: r1, account: a, amount: 30, quota: 100 });
      expect(o1).toEqual({
        kind: 'ok',
        state: { account: a, balance: 100, reserved: 30 },
        reservation: { id: r1, account: a, amount: 30, state: 'reserved', user: 'alice', created: 1000 },
      });
      expect(await l.reserve({ ...req, id: r2, account: a, amount: 20, quota: 100 })).toMatchObject({ state: { account: a, balance: 100, reserved: 50 } });
      expect(await l.getReservation(r2)).toEqual({ id: r2, account: a, amount: 20, state: 'reserved', user: 'alice', created: 1000 });
      expect(await l.settle(r1, 'commit', 2000)).toEqual({ kind: 'ok', reservationState: 'committed', state: { account: a, balance: 70, reserved: 20 } });
      expect(await l.settle(r2, 'rollback', 2000)).toEqual({ kind: 'ok', reservationState: 'rolled_back', state: { account: a, balance: 70, reserved: 0 } });
      expect(await l.settle(r2, 'commit', 3000)).toEqual({ kind: 'settled', reservationState: 'rolled_back' });
      expect(await l.settle(r1, 'rollback', 3000)).toEqual({ kind: 'settled', reservationState: 'committed' });
      expect(await l.settle(id(), 'commit', 3000)).toEqual({ kind: 'not_found' });
      expect(await l.getReservation(r1)).toEqual({ id: r1, account: a, amount: 30, state: 'committed', user: 'alice', created: 1000, settled: 2000 });
      expect(await l.getAccount(a)).toEqual({ account: a, balance: 70, reserved: 0 });
    });

    it('refusals change nothing: overdraw first, then quota', async () => {
      await l.setBalance(a, 10);
      const r = id();
      expect(await l.reserve({ ...req, id: r, account: a, amount: 11, quota: 100 })).toEqual({ kind: 'overdraw', state: { account: a, balance: 10, reserved: 0 } });
      expect(await l.reserve({ ...req, id: r, account: a, amount: 11, quota: 5 })).toMatchObject({ kind: 'overdraw' });
      expect(await l.reserve({ ...req, id: r, account: a, amount: 5, quota: 4 })).toEqual({ kind: 'quota', state: { account: a, balance: 10, reserved: 0 } });
      expect(await l.getAccount(a)).toEqual({ account: a, balance: 10, reserved: 0 });
      expect(await l.getReservation(r)).toBeNull();
      expect((await l.reserve({ ...req, id: r, account: a, amount: 4, quota: 4 })).kind).toBe('ok');
      expect((await l.reserve({ ...req, id: id(), account: a, amount: 1, quota: 4 })).kind).toBe('quota');
    });

    it('an id that exists is refused, for any account and before the rules; nothing changes', async () => {
      await l.setBalance(a, 10);
      const other = `acct-test-${randomUUID().slice(0, 8)}`;
      await l.setBalance(other, 10);
      const r = id();
      expect((await l.reserve({ ...req, id: r, account: a, amount: 4, quota: 100 })).kind).toBe('ok');
      // the same request again (a client's retry), another account, one the rules would refuse
      expect(await l.reserve({ ...req, id: r, account: a, amount: 4, quota: 100 })).toEqual({ kind: 'exists' });
      expect(await l.reserve({ ...req, id: r, account: other, amount: 1, quota: 100 })).toEqual({ kind: 'exists' });
      expect(await l.reserve({ ...req, id: r, account: a, amount: 11, quota: 100 })).toEqual({ kind: 'exists' });
      expect(await l.getAccount(a)).toEqual({ account: a, balance: 10, reserved: 4 });
      expect(await l.getAccount(other)).toEqual({ account: other, balance: 10, reserved: 0 });
      expect(await l.getReservation(r)).toEqual({ id: r, account: a, amount: 4, state: 'reserved', user: 'alice', created: 1000 });
      // a settled one still exists
      await l.settle(r, 'rollback', 2000);
      expect(await l.reserve({ ...req, id: r, account: a, amount: 4, quota: 100 })).toEqual({ kind: 'exists' });
      expect(await l.getAccount(a)).toEqual({ account: a, balance: 10, reserved: 0 });
    });

    it('setting a balance keeps reserved; a commit may then go below zero', async () => {
      await l.setBalance(a, 10);
      const r = id();
      await l.reserve({ ...req, id: r, account: a, amount: 4, quota: 100 });
      expect(await l.setBalance(a, 2)).toEqual({ account: a, balance: 2, reserved: 4 });
      expect((await l.reserve({ ...req, id: id(), account: a, amount: 1, quota: 100 })).kind).toBe('overdraw');
      expect(await l.settle(r, 'commit', 5)).toMatchObject({ state: { balance: -2, reserved: 0 } });
    });

    it('20 concurrent reservations of 1 against 10: exactly 10', async () => {
      await l.setBalance(a, 10);
      const outs = await Promise.all(Array.from({ length: 20 }, () => l.reserve({ ...req, id: id(), account: a, amount: 1, quota: 100 })));
      expect(outs.filter((o) => o.kind === 'ok')).toHaveLength(10);
      expect(outs.filter((o) => o.kind === 'overdraw')).toHaveLength(10);
      expect(await l.getAccount(a)).toEqual({ account: a, balance: 10, reserved: 10 });
    });

    it('concurrent settles of one reservation: exactly one', async () => {
      await l.setBalance(a, 10);
      const r = id();
      await l.reserve({ ...req, id: r, account: a, amount: 3, quota: 100 });
      const outs = await Promise.all([l.settle(r, 'commit', 1), l.settle(r, 'rollback', 1), l.settle(r, 'commit', 1), l.settle(r, 'rollback', 1)]);
      expect(outs.filter((o) => o.kind === 'ok')).toHaveLength(1);
      const after = await l.getAccount(a);
      expect(after.reserved).toBe(0);
      expect([7, 10]).toContain(after.balance);
    });

    it('metering draws on a reserved reservation up to its amount, atomically; unmeter gives back', async () => {
      await l.setBalance(a, 100);
      const r = id();
      await l.reserve({ ...req, id: r, account: a, amount: 5, quota: 100 });
      expect(await l.meter(r, a, 3)).toEqual({ kind: 'ok', amount: 5, used: 3 });
      expect(await l.meter(r, a, 3)).toEqual({ kind: 'exhausted', amount: 5, used: 3 });
      expect(await l.meter(r, 'acct-other', 1)).toEqual({ kind: 'not_found' });
      expect(await l.meter(id(), a, 1)).toEqual({ kind: 'not_found' });
      expect(await l.unmeter(r, 2)).toBe(1);
      expect(await l.unmeter(r, 7)).toBe(0);
      expect(await l.unmeter(id(), 1)).toBe(0);
      expect(await l.meter(r, a, 5)).toEqual({ kind: 'ok', amount: 5, used: 5 });
      expect((await l.getReservation(r))?.used).toBe(5);
      // metering leaves the account alone; a commit takes the reserved amount
      expect(await l.getAccount(a)).toEqual({ account: a, balance: 100, reserved: 5 });
      expect(await l.settle(r, 'commit', 9)).toMatchObject({ state: { balance: 95, reserved: 0 } });
      expect(await l.meter(r, a, 1)).toEqual({ kind: 'settled', reservationState: 'committed' });
      const r2 = id();
      await l.reserve({ ...req, id: r2, account: a, amount: 10, quota: 100 });
      const outs = await Promise.all(Array.from({ length: 15 }, () => l.meter(r2, a, 1)));
      expect(outs.filter((o) => o.kind === 'ok')).toHaveLength(10);
      expect((await l.getReservation(r2))?.used).toBe(10);
    });

    it('amounts up to 10^15 stay exact', async () => {
      await l.setBalance(a, MAX_AMOUNT);
      const r = id();
      expect(await l.reserve({ ...req, id: r, account: a, amount: MAX_AMOUNT - 1, quota: MAX_AMOUNT })).toMatchObject({
        state: { account: a, balance: MAX_AMOUNT, reserved: MAX_AMOUNT - 1 },
      });
      expect(await l.settle(r, 'commit', 1)).toMatchObject({ state: { balance: 1, reserved: 0 } });
    });

    if (another) {
      it('Redis: a resent reserve (the same call token) answers ok again and changes nothing; another call with that id is refused', async () => {
        const redis = (l as RedisLedger).client as unknown as Record<string, (...args: string[]) => Promise<unknown>>;
        await l.setBalance(a, 10);
        const r = id();
        const call = (token: string) => redis.creditReserve!(accountKey(a), reservationKey(r), '4', '100', r, a, 'alice', '1000', token);
        expect(await call('t1')).toEqual(['ok', 10, 4]);
        expect(await call('t1')).toEqual(['ok', 10, 4]);
        expect(await call('t2')).toEqual(['exists']);
        expect(await l.getAccount(a)).toEqual({ account: a, balance: 10, reserved: 4 });
      });

      it('Redis: WAIT: a change no replica has is refused "not replicated" (503) though applied; refusals need no WAIT', async () => {
        // This Redis has no replica: WAIT 1 counts 0.
        const w = another({ replicas: 1, timeoutMs: 50 });
        try {
          const notReplicated = 'ledger unavailable: not replicated: WAIT counted 0 of 1 replicas within 50 ms; the change may or may not survive a failover';
          const e = await rejection(w.setBalance(a, 10));
          expect(e).toBeInstanceOf(UnavailableError);
          expect(e.message).toBe(notReplicated);
          // outcome unknown, not undone: the primary has it
          expect(await w.getAccount(a)).toEqual({ account: a, balance: 10, reserved: 0 });
          const r = id();
          expect((await rejection(w.reserve({ ...req, id: r, account: a, amount: 4, quota: 100 }))).message).toBe(notReplicated);
          expect(await w.getReservation(r)).toMatchObject({ id: r, state: 'reserved', amount: 4 });
          expect((await rejection(w.meter(r, a, 1))).message).toBe(notReplicated);
          expect((await rejection(w.unmeter(r, 1))).message).toBe(notReplicated);
          expect((await rejection(w.settle(r, 'commit', 2))).message).toBe(notReplicated);
          // refusals changed nothing and answer as usual
          expect(await w.reserve({ ...req, id: r, account: a, amount: 1, quota: 100 })).toEqual({ kind: 'exists' });
          expect(await w.reserve({ ...req, id: id(), account: a, amount: 11, quota: 100 })).toMatchObject({ kind: 'overdraw' });
          expect(await w.settle(r, 'rollback', 3)).toEqual({ kind: 'settled', reservationState: 'committed' });
          expect(await w.meter(r, a, 1)).toEqual({ kind: 'settled', reservationState: 'committed' });
          // WAIT 0 replicas (the default of this constructor): no WAIT at all
          expect(await l.setBalance(a, 7)).toEqual({ account: a, balance: 7, reserved: 0 });
        } finally {
          w.close();
        }
      });
    }
  });
}

ledgerContract('MemoryLedger', () => new MemoryLedger());

const redisUrl = process.env.CREDIT_TEST_REDIS_URL;
if (redisUrl) {
  let ledger: RedisLedger;
  ledgerContract(
    'RedisLedger on ' + redisUrl.replace(/\/\/[^@]*@/, '//'),
    () => (ledger = new RedisLedger(() => new Redis(redisUrl, { commandTimeout: 5000 }))),
    async () => {
      ledger.close();
    },
    (wait) => new RedisLedger(() => new Redis(redisUrl, { commandTimeout: 5000 }), undefined, wait),
  );
} else {
  const server = findBinary('redis-server');
  if (server === null) {
    describe('creditservice ledger contract: RedisLedger', () => {
      // A missing binary is a broken `make deps`, not a reason to skip.
      it('runs the Lua scripts on a real Redis 7', () => {
        throw missingPackageError('redis-server');
      });
    });
  } else {
    const local = new LocalRedis(server);
    let ledger: RedisLedger | undefined;
    ledgerContract(
      'RedisLedger on a local redis-server',
      async () => {
        await local.start();
        const version = String(await once(local.port, undefined, 'info', 'server')).match(/redis_version:(\d+)/)?.[1];
        check(Number(version) >= 7, `${server} is Redis ${version}: the Lua scripts need Redis 7`);
        return (ledger = new RedisLedger(() => new Redis(local.url, { commandTimeout: 5000 })));
      },
      async () => {
        ledger?.close();
        await local.stop();
      },
      (wait) => new RedisLedger(() => new Redis(local.url, { commandTimeout: 5000 }), undefined, wait),
    );
  }
}

describe('creditservice Redis client options', () => {
  it('follows the Sentinel master with bounded command time', () => {
    const config = loadConfig({ CREDIT_REDIS_TIMEOUT_MS: '7000' }, () => 'cafe');
    const o = redisOptions(config);
    expect(o.sentinels).toEqual([
      { host: '10.100.0.11', port: 26379 },
      { host: '10.100.0.12', port: 26379 },
      { host: '10.100.0.13', port: 26379 },
    ]);
    expect(o.name).toBe('flaredb');
    expect(o.role).toBe('master');
    expect(o.password).toBe('cafe');
    expect(o.sentinelPassword).toBeUndefined();
    expect(o.enableOfflineQueue).toBe(true);
    // A command whose answer a dropped connection lost may have been applied: never sent again (503, outcome unknown).
    expect(o.autoResendUnfulfilledCommands).toBe(false);
    expect(o.commandTimeout).toBe(7000);
    // retries forever, at most every 2 s
    expect(o.retryStrategy!(1)).toBe(200);
    expect(o.retryStrategy!(1000)).toBe(2000);
    expect(o.sentinelRetryStrategy!(1)).toBe(0); // past the last sentinel: start over at once
    expect(o.sentinelRetryStrategy!(2)).toBe(500);
    expect(o.sentinelRetryStrategy!(1000)).toBe(2000);
    // ioredis' own failover detector can leave the client closed for good;
    // watchFailovers() does that job instead.
    expect(o.failoverDetector).toBe(false);
    expect(o.reconnectOnError!(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(o.reconnectOnError!(new Error('ERR unknown command'))).toBe(false);
  });
});
