/**
 * The reference ledger: the rules of the Lua scripts (lua.ts) on plain maps.
 * Every method does its checks and its update in one synchronous step, so
 * concurrent requests see the same atomicity as on Redis. Used by the unit
 * tests; not part of the bundle.
 */
import { UnavailableError } from './errors.js';
import {
  decideMeter,
  decideReserve,
  type MeterOutcome,
  stateAfterSettle,
  type AccountState,
  type Ledger,
  type Reservation,
  type ReserveOutcome,
  type ReserveRequest,
  type SettleAction,
  type SettleOutcome,
  newReservation,
} from './ledger.js';

export class MemoryLedger implements Ledger {
  readonly accounts = new Map<string, { balance: number; reserved: number }>();
  readonly reservations = new Map<string, Reservation>();
  /** Set to make every call fail as if flaredb were down. */
  down: string | null = null;

  private check(): void {
    if (this.down !== null) throw new UnavailableError('ledger', this.down);
  }

  private state(account: string): AccountState {
    const a = this.accounts.get(account) ?? { balance: 0, reserved: 0 };
    return { account, balance: a.balance, reserved: a.reserved };
  }

  private async tick(): Promise<void> {
    // A real store answers later: let other requests interleave before the atomic step.
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.check();
  }

  async ping(): Promise<void> {
    await this.tick();
  }

  async getAccount(account: string): Promise<AccountState> {
    await this.tick();
    return this.state(account);
  }

  async setBalance(account: string, balance: number): Promise<AccountState> {
    await this.tick();
    const a = this.accounts.get(account) ?? { balance: 0, reserved: 0 };
    this.accounts.set(account, { balance, reserved: a.reserved });
    return this.state(account);
  }

  async reserve(req: ReserveRequest): Promise<ReserveOutcome> {
    await this.tick();
    // Ids may be the client's own: one that exists (any account) is refused.
    // (No resends here, so no `call` token as in the Lua script.)
    if (this.reservations.has(req.id)) return { kind: 'exists' };
    const { balance, reserved } = this.state(req.account);
    const decision = decideReserve(balance, reserved, req.amount, req.quota);
    if (decision !== 'ok') return { kind: decision, state: this.state(req.account) };
    this.accounts.set(req.account, { balance, reserved: reserved + req.amount });
    const reservation = newReservation(req);
    this.reservations.set(req.id, reservation);
    return { kind: 'ok', reservation: { ...reservation }, state: this.state(req.account) };
  }

  async getReservation(id: string): Promise<Reservation | null> {
    await this.tick();
    const r = this.reservations.get(id);
    return r ? { ...r } : null;
  }

  async settle(id: string, action: SettleAction, now: number): Promise<SettleOutcome> {
    await this.tick();
    const r = this.reservations.get(id);
    if (!r) return { kind: 'not_found' };
    if (r.state !== 'reserved') return { kind: 'settled', reservationState: r.state };
    const { balance, reserved } = this.state(r.account);
    this.accounts.set(r.account, {
      balance: action === 'commit' ? balance - r.amount : balance,
      reserved: reserved - r.amount,
    });
    r.state = stateAfterSettle(action);
    r.settled = now;
    return { kind: 'ok', reservationState: r.state, state: this.state(r.account) };
  }

  async meter(id: string, account: string, cost: number): Promise<MeterOutcome> {
    await this.tick();
    const r = this.reservations.get(id);
    if (!r || r.account !== account) return { kind: 'not_found' };
    if (r.state !== 'reserved') return { kind: 'settled', reservationState: r.state };
    const used = r.used ?? 0;
    if (decideMeter(r.amount, used, cost) === 'exhausted') return { kind: 'exhausted', amount: r.amount, used };
    r.used = used + cost;
    return { kind: 'ok', amount: r.amount, used: r.used };
  }

  async unmeter(id: string, cost: number): Promise<number> {
    await this.tick();
    const r = this.reservations.get(id);
    if (!r) return 0;
    r.used = Math.max(0, (r.used ?? 0) - cost);
    return r.used;
  }
}
