/**
 * flaredb keys and the Lua scripts that change them. Each script is one
 * atomic step on the primary: its checks and its writes see no other
 * client in between. Amounts travel as the decimal strings the HTTP layer
 * validated (integers 0..10^15), so the scripts never format a number
 * themselves; HINCRBY does the arithmetic on Redis' 64-bit integers.
 *
 * The rules mirror ledger.ts (decideReserve) and MemoryLedger, which the
 * unit tests exercise; the replies are parsed by the functions below.
 */
import {
  type AccountState,
  type MeterOutcome,
  type Reservation,
  type ReservationState,
  type ReserveOutcome,
  type SettleOutcome,
  newReservation,
} from './ledger.js';

export const KEY_PREFIX = 'credit:';
/** Hash: balance, reserved (integers; a missing field reads as 0). */
export const accountKey = (account: string): string => `${KEY_PREFIX}account:${account}`;
/** Hash: id, account, amount, state, user, created, call, [settled], [used]. */
export const reservationKey = (id: string): string => `${KEY_PREFIX}reservation:${id}`;

/**
 * KEYS[1] account hash, KEYS[2] reservation hash.
 * ARGV amount, quota, id, account, user, now (ms), call (a random token of
 * this ledger call, stored as the reservation's `call`).
 * Reply: {'exists'} | {status, balance, reserved} with status ok | overdraw
 * | quota; balance and reserved are the values after the step.
 *
 * The id is checked first: ids may be the client's own (an idempotency
 * key), so one that exists is refused ('exists', nothing changes). Unless
 * its `call` is this call's: then it is the same command once more (ioredis
 * resends a command whose reply a failover cut off), answered 'ok'. It
 * writes `call` again, unchanged, so that this connection's WAIT covers the
 * reservation too.
 */
export const RESERVE_LUA = `
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('HGET', KEYS[2], 'call') ~= ARGV[7] then
    return {'exists'}
  end
  redis.call('HSET', KEYS[2], 'call', ARGV[7])
  local a = redis.call('HMGET', KEYS[1], 'balance', 'reserved')
  return {'ok', tonumber(a[1] or '0'), tonumber(a[2] or '0')}
end
local amount = tonumber(ARGV[1])
local quota = tonumber(ARGV[2])
local balance = tonumber(redis.call('HGET', KEYS[1], 'balance') or '0')
local reserved = tonumber(redis.call('HGET', KEYS[1], 'reserved') or '0')
if amount > balance - reserved then
  return {'overdraw', balance, reserved}
end
if reserved + amount > quota then
  return {'quota', balance, reserved}
end
reserved = redis.call('HINCRBY', KEYS[1], 'reserved', ARGV[1])
redis.call('HSET', KEYS[2], 'id', ARGV[3], 'account', ARGV[4], 'amount', ARGV[1],
  'state', 'reserved', 'user', ARGV[5], 'created', ARGV[6], 'call', ARGV[7])
return {'ok', balance, reserved}
`;

/**
 * KEYS[1] reservation hash, KEYS[2] its account's hash.
 * ARGV action (commit | rollback), now (ms), account (must match the reservation's).
 * Reply: {'not_found'} | {'settled', state} | {'ok', newState, balance, reserved}.
 */
export const SETTLE_LUA = `
local r = redis.call('HMGET', KEYS[1], 'state', 'amount', 'account')
if not r[1] or r[3] ~= ARGV[3] then
  return {'not_found'}
end
if r[1] ~= 'reserved' then
  return {'settled', r[1]}
end
local newstate = 'rolled_back'
if ARGV[1] == 'commit' then
  redis.call('HINCRBY', KEYS[2], 'balance', '-' .. r[2])
  newstate = 'committed'
end
redis.call('HINCRBY', KEYS[2], 'reserved', '-' .. r[2])
redis.call('HSET', KEYS[1], 'state', newstate, 'settled', ARGV[2])
local a = redis.call('HMGET', KEYS[2], 'balance', 'reserved')
return {'ok', newstate, tonumber(a[1] or '0'), tonumber(a[2] or '0')}
`;

/**
 * KEYS[1] account hash. ARGV balance.
 * Reply: {balance, reserved}.
 */
export const SET_BALANCE_LUA = `
redis.call('HSET', KEYS[1], 'balance', ARGV[1])
local reserved = redis.call('HGET', KEYS[1], 'reserved')
return {tonumber(ARGV[1]), tonumber(reserved or '0')}
`;

/**
 * KEYS[1] reservation hash. ARGV cost, account (must match the reservation's).
 * Reply: {'not_found'} | {'settled', state} | {'exhausted', amount, used} | {'ok', amount, used}
 * (used after the step). Only from state reserved, and only while
 * used + cost <= amount.
 */
export const METER_LUA = `
local r = redis.call('HMGET', KEYS[1], 'state', 'amount', 'account', 'used')
if not r[1] or r[3] ~= ARGV[2] then
  return {'not_found'}
end
if r[1] ~= 'reserved' then
  return {'settled', r[1]}
end
local amount = tonumber(r[2])
local used = tonumber(r[4] or '0')
if used + tonumber(ARGV[1]) > amount then
  return {'exhausted', amount, used}
end
used = redis.call('HINCRBY', KEYS[1], 'used', ARGV[1])
return {'ok', amount, used}
`;

/**
 * KEYS[1] reservation hash. ARGV cost. Gives back a draw whose write failed,
 * never below 0. Reply: used after the step (0 for a missing reservation).
 */
export const UNMETER_LUA = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
local used = tonumber(redis.call('HGET', KEYS[1], 'used') or '0')
if used < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'used', '0')
  return 0
end
return redis.call('HINCRBY', KEYS[1], 'used', '-' .. ARGV[1])
`;

/** Thrown when a script's reply is not what the script returns: a bug or a foreign key. */
export class ReplyError extends Error {
  override name = 'ReplyError';
}

function int(v: unknown, what: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isSafeInteger(n)) throw new ReplyError(`${what}: not an integer: ${JSON.stringify(v)}`);
  return n;
}

function str(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

const STATES: readonly ReservationState[] = ['reserved', 'committed', 'rolled_back'];
function reservationState(v: unknown): ReservationState {
  const s = str(v);
  if (!(STATES as readonly string[]).includes(s)) throw new ReplyError(`unknown reservation state ${JSON.stringify(s)}`);
  return s as ReservationState;
}

export function parseReserveReply(
  reply: unknown,
  req: { id: string; account: string; amount: number; user: string; now: number },
): ReserveOutcome {
  if (Array.isArray(reply) && reply.length === 1 && str(reply[0]) === 'exists') return { kind: 'exists' };
  if (!Array.isArray(reply) || reply.length !== 3) throw new ReplyError(`reserve: unexpected reply ${JSON.stringify(reply)}`);
  const status = str(reply[0]);
  const state: AccountState = {
    account: req.account,
    balance: int(reply[1], 'reserve balance'),
    reserved: int(reply[2], 'reserve reserved'),
  };
  switch (status) {
    case 'ok':
      return {
        kind: 'ok',
        state,
        reservation: newReservation(req),
      };
    case 'overdraw':
      return { kind: 'overdraw', state };
    case 'quota':
      return { kind: 'quota', state };
    default:
      throw new ReplyError(`reserve: unknown status ${JSON.stringify(status)}`);
  }
}

export function parseSettleReply(reply: unknown, account: string): SettleOutcome {
  if (!Array.isArray(reply) || reply.length < 1) throw new ReplyError(`settle: unexpected reply ${JSON.stringify(reply)}`);
  const status = str(reply[0]);
  if (status === 'not_found' && reply.length === 1) return { kind: 'not_found' };
  if (status === 'settled' && reply.length === 2) return { kind: 'settled', reservationState: reservationState(reply[1]) };
  if (status === 'ok' && reply.length === 4) {
    return {
      kind: 'ok',
      reservationState: reservationState(reply[1]),
      state: { account, balance: int(reply[2], 'settle balance'), reserved: int(reply[3], 'settle reserved') },
    };
  }
  throw new ReplyError(`settle: unexpected reply ${JSON.stringify(reply)}`);
}

export function parseMeterReply(reply: unknown): MeterOutcome {
  if (!Array.isArray(reply) || reply.length < 1) throw new ReplyError(`meter: unexpected reply ${JSON.stringify(reply)}`);
  const status = str(reply[0]);
  if (status === 'not_found' && reply.length === 1) return { kind: 'not_found' };
  if (status === 'settled' && reply.length === 2) return { kind: 'settled', reservationState: reservationState(reply[1]) };
  if ((status === 'ok' || status === 'exhausted') && reply.length === 3) {
    return { kind: status, amount: int(reply[1], 'meter amount'), used: int(reply[2], 'meter used') };
  }
  throw new ReplyError(`meter: unexpected reply ${JSON.stringify(reply)}`);
}

export function parseSetBalanceReply(reply: unknown, account: string): AccountState {
  if (!Array.isArray(reply) || reply.length !== 2) throw new ReplyError(`set balance: unexpected reply ${JSON.stringify(reply)}`);
  return { account, balance: int(reply[0], 'balance'), reserved: int(reply[1], 'reserved') };
}

/** An account hash as HGETALL returns it ({} when the key does not exist). */
export function parseAccountHash(h: Record<string, string>, account: string): AccountState {
  return {
    account,
    balance: h.balance === undefined ? 0 : int(h.balance, 'balance'),
    reserved: h.reserved === undefined ? 0 : int(h.reserved, 'reserved'),
  };
}

/** A reservation hash as HGETALL returns it; null when the key does not exist. */
export function parseReservationHash(h: Record<string, string>): Reservation | null {
  if (h.id === undefined && h.state === undefined) return null;
  const r: Reservation = {
    id: str(h.id),
    account: str(h.account),
    amount: int(h.amount, 'amount'),
    state: reservationState(h.state),
    user: h.user ?? '',
    created: h.created === undefined ? 0 : int(h.created, 'created'),
  };
  if (h.settled !== undefined) r.settled = int(h.settled, 'settled');
  if (h.used !== undefined) r.used = int(h.used, 'used');
  return r;
}
