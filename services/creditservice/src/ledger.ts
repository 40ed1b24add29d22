/**
 * The ledger: accounts (balance, reserved) and reservations. The real one is
 * RedisLedger (flaredb, Lua scripts in lua.ts); MemoryLedger is the
 * reference implementation of the same rules, used by the HTTP tests.
 */

/** Largest balance or amount accepted: every sum stays an exact integer in Lua's doubles. */
export const MAX_AMOUNT = 1_000_000_000_000_000; // 10^15

export type ReservationState = 'reserved' | 'committed' | 'rolled_back';
export type SettleAction = 'commit' | 'rollback';

export interface AccountState {
  account: string;
  balance: number;
  reserved: number;
}

export interface Reservation {
  id: string;
  account: string;
  amount: number;
  state: ReservationState;
  /** preferred_username of the caller who made it. */
  user: string;
  /** ms since the epoch. */
  created: number;
  /** ms since the epoch, once committed or rolled back. */
  settled?: number;
  /** Credits metered writes drew on it so far (absent: none). */
  used?: number;
}

export interface ReserveRequest {
  id: string;
  account: string;
  amount: number;
  /** The caller's quota from the directory. */
  quota: number;
  user: string;
  now: number;
}

export type ReserveOutcome =
  | { kind: 'ok'; reservation: Reservation; state: AccountState }
  /** amount > balance - reserved: nothing changed. */
  | { kind: 'overdraw'; state: AccountState }
  /** reserved + amount > quota: nothing changed. */
  | { kind: 'quota'; state: AccountState }
  /** A reservation with this id exists already (any account): nothing changed. */
  | { kind: 'exists' };

export type SettleOutcome =
  | { kind: 'ok'; state: AccountState; reservationState: ReservationState }
  | { kind: 'not_found' }
  /** Already committed or rolled back: nothing changed. */
  | { kind: 'settled'; reservationState: ReservationState };

export type MeterOutcome =
  /** `used` is the reservation's use after this draw. */
  | { kind: 'ok'; amount: number; used: number }
  | { kind: 'not_found' }
  /** Committed or rolled back: nothing changed. */
  | { kind: 'settled'; reservationState: ReservationState }
  /** used + cost > amount: nothing changed. */
  | { kind: 'exhausted'; amount: number; used: number };

export interface Ledger {
  /** Resolves when the store answers; throws UnavailableError otherwise. */
  ping(): Promise<void>;
  /** An account that was never set reads as balance 0, reserved 0. */
  getAccount(account: string): Promise<AccountState>;
  /** Sets the balance; `reserved` is left as it is. */
  setBalance(account: string, balance: number): Promise<AccountState>;
  /** The id check, both rules and the update in one atomic step. */
  reserve(req: ReserveRequest): Promise<ReserveOutcome>;
  getReservation(id: string): Promise<Reservation | null>;
  /**
   * Commit (the amount leaves balance and reserved) or roll back (it leaves
   * reserved only), atomically, if the reservation is still `reserved`.
   */
  settle(id: string, action: SettleAction, now: number): Promise<SettleOutcome>;
  /**
   * A metered use: draws `cost` (>= 1) on reservation `id` of `account`,
   * atomically, if it is still `reserved` and `used + cost <= amount`.
   */
  meter(id: string, account: string, cost: number): Promise<MeterOutcome>;
  /** Gives back `cost` of a draw whose use failed (never below 0); the used credits after it. */
  unmeter(id: string, cost: number): Promise<number>;
}

/** The metering rule (the Lua script and MemoryLedger alike). */
export function decideMeter(amount: number, used: number, cost: number): 'ok' | 'exhausted' {
  return used + cost > amount ? 'exhausted' : 'ok';
}

export type ReserveDecision = 'ok' | 'overdraw' | 'quota';

/**
 * The reservation rule, in the order the Lua script applies it: overdraw
 * (409) is checked before quota (403).
 */
export function decideReserve(balance: number, reserved: number, amount: number, quota: number): ReserveDecision {
  if (amount > balance - reserved) return 'overdraw';
  if (reserved + amount > quota) return 'quota';
  return 'ok';
}

export function stateAfterSettle(action: SettleAction): ReservationState {
  return action === 'commit' ? 'committed' : 'rolled_back';
}

/** Account ids as used in paths and keys. */
export const ACCOUNT_RE = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$/;
/** Reservation ids: server-made UUIDs or the client's own (an idempotency key); anything else cannot exist. */
export const RESERVATION_ID_RE = /^[A-Za-z0-9-]{1,64}$/;

/** The reservation a successful `reserve` stores (the Lua script and the in-memory ledger alike). */
export function newReservation(req: Pick<ReserveRequest, 'id' | 'account' | 'amount' | 'user' | 'now'>): Reservation {
  return { id: req.id, account: req.account, amount: req.amount, state: 'reserved', user: req.user, created: req.now };
}
