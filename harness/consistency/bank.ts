/**
 * The bank checker (issue 28): creditservice's ledger judged by a recorded
 * history (services/workloads/credit-bank.mjs) and the end state read once
 * the run is over. Jepsen's bank conserves a total across transfers; this
 * ledger's version of it, per account:
 *
 *   balance_end  = balance_start  - sum of the committed reservations' amounts
 *   reserved_end = reserved_start + sum of the still-reserved ones' amounts
 *
 * Every reservation id is the client's own, so each one's fate is read at
 * the end, whatever its POST answered. Beyond the totals:
 * - an acknowledged reservation, commit, rollback or draw is present at the
 *   end (a lost one is the ledger losing money or state);
 * - a refused reservation does not exist, and a reservation is committed or
 *   rolled back only if someone asked for it;
 * - a reservation's `used` is its acknowledged draws plus some of its
 *   unknown ones (each counted at most once), and never above its amount;
 * - no read ever shows a negative balance, a negative `available` or a
 *   reserved sum above the account's quota.
 *
 * Pure: no cluster; unit-tested on hand-written histories.
 */
import type { HistoryEvent } from './history.js';

export type ReservationState = 'reserved' | 'committed' | 'rolled_back';

export interface BankEvent extends HistoryEvent {
  account: string;
  status?: number;
}

export interface FinalReservation {
  id: string;
  account: string;
  amount: number;
  state: ReservationState;
  used?: number;
}

export interface AccountView {
  balance: number;
  reserved: number;
}

export interface BankFinals {
  /** Every reservation id the run invoked: null when the service says it does not exist (404). */
  reservations: Record<string, FinalReservation | null>;
  accounts: Record<string, AccountView>;
}

export interface BankSetup {
  /** Each account as the harness set it just before the run. */
  initial: Record<string, AccountView>;
  /** Each account's quota (ultracloudQuota) during the run, as the harness set it. */
  quotas: Record<string, number>;
}

export interface BankCheck {
  /** Acknowledged reservations, commits, rollbacks or draws the end state does not have. */
  lost: string[];
  /** End states no operation could have produced: a refused reservation that exists, a settle nobody asked for, a draw counted twice. */
  impossible: string[];
  /** Accounts whose totals do not add up. */
  unconserved: string[];
  /** Reads (of an account, a reservation, or a settle's answer) showing a state the ledger must never be in. */
  badReads: string[];
  /** Acknowledged operations, by kind. */
  acknowledged: { reserve: number; draw: number; commit: number; rollback: number };
  /** Operations whose outcome is unknown, by kind. */
  unknown: { reserve: number; draw: number; settle: number };
  /** Per account: start, end, and what the history accounts for. */
  accounts: Record<string, { initial: AccountView; final: AccountView; committed: number; open: number }>;
}

interface Outcome {
  invoke: BankEvent;
  end?: BankEvent;
}

/** Each operation: its invoke and its end (none when the run stopped with it open: unknown). */
function operations(events: BankEvent[]): Outcome[] {
  const open = new Map<number, Outcome>();
  const out: Outcome[] = [];
  for (const e of events) {
    if (e.type === 'invoke') {
      const o = { invoke: e };
      open.set(e.process, o);
      out.push(o);
    } else {
      const o = open.get(e.process);
      if (!o) throw new Error(`a ${e.type} ${e.f} of process ${e.process} at ${e.time} ms without an invoke`);
      o.end = e;
      open.delete(e.process);
    }
  }
  return out;
}

const kind = (o: Outcome): 'ok' | 'fail' | 'info' => (o.end ? (o.end.type as 'ok' | 'fail' | 'info') : 'info');
const arg = <T>(o: Outcome) => o.invoke.value as T;

/** Whether `target` is a sum of some of `parts` (each used at most once). */
export function subsetSum(parts: number[], target: number): boolean {
  if (target < 0) return false;
  let reach = new Set([0]);
  for (const p of parts) reach = new Set([...reach, ...[...reach].map((r) => r + p).filter((r) => r <= target)]);
  return reach.has(target);
}

export function checkBank(events: BankEvent[], finals: BankFinals, setup: BankSetup): BankCheck {
  const ops = operations(events);
  const lost: string[] = [];
  const impossible: string[] = [];
  const badReads: string[] = [];
  const acknowledged = { reserve: 0, draw: 0, commit: 0, rollback: 0 };
  const unknown = { reserve: 0, draw: 0, settle: 0 };
  const byId = new Map<string, Outcome[]>();
  for (const o of ops) {
    const id = (o.invoke.value as { id?: string } | undefined)?.id;
    if (id !== undefined && o.invoke.f !== 'read-reservation') byId.set(id, [...(byId.get(id) ?? []), o]);
  }

  for (const o of ops.filter((x) => x.invoke.f === 'reserve')) {
    const { id, amount } = arg<{ id: string; amount: number }>(o);
    const k = kind(o);
    if (k === 'ok') acknowledged.reserve++;
    if (k === 'info') unknown.reserve++;
    if (!(id in finals.reservations)) throw new Error(`the end state was not read for reservation ${id}`);
    const final = finals.reservations[id];
    const related = byId.get(id) ?? [];
    const settles = related.filter((x) => x.invoke.f === 'settle');
    const draws = related.filter((x) => x.invoke.f === 'draw');
    const when = (x: Outcome) => `${Math.round(x.end?.time ?? x.invoke.time)} ms`;
    if (final === null) {
      if (k === 'ok') lost.push(`reservation ${id} (${amount}) acknowledged at ${when(o)} does not exist at the end`);
      for (const s of settles.filter((x) => kind(x) === 'ok')) lost.push(`reservation ${id}: its ${arg<{ action: string }>(s).action} was acknowledged at ${when(s)}, and the reservation does not exist at the end`);
      for (const d of draws.filter((x) => kind(x) === 'ok')) lost.push(`reservation ${id}: a draw of ${arg<{ cost: number }>(d).cost} was acknowledged at ${when(d)}, and the reservation does not exist at the end`);
      continue;
    }
    if (k === 'fail') impossible.push(`reservation ${id} was refused (${o.end?.error}) and exists at the end`);
    if (final.amount !== amount || final.account !== o.invoke.account) impossible.push(`reservation ${id} was asked for ${amount} on ${o.invoke.account} and is ${final.amount} on ${final.account}`);

    // Its state: an acknowledged settle decides it; otherwise one of the unknown ones may have.
    const asked = (action: string, k2: 'ok' | 'info') => settles.filter((s) => arg<{ action: string }>(s).action === action && kind(s) === k2);
    const okCommit = asked('commit', 'ok');
    const okRollback = asked('rollback', 'ok');
    acknowledged.commit += okCommit.length;
    acknowledged.rollback += okRollback.length;
    unknown.settle += settles.filter((s) => kind(s) === 'info').length;
    if (okCommit.length + okRollback.length > 1) impossible.push(`reservation ${id} was settled ${okCommit.length + okRollback.length} times with an acknowledgement (${[...okCommit, ...okRollback].map((s) => `${arg<{ action: string }>(s).action} at ${when(s)}`).join(', ')})`);
    const acked = okCommit.length ? 'committed' : okRollback.length ? 'rolled_back' : undefined;
    if (acked && final.state !== acked) lost.push(`reservation ${id}: ${acked === 'committed' ? 'its commit' : 'its rollback'} was acknowledged at ${when([...okCommit, ...okRollback][0]!)}, and it is ${final.state} at the end`);
    if (final.state === 'committed' && !okCommit.length && !asked('commit', 'info').length) impossible.push(`reservation ${id} is committed and no commit was acknowledged or left unknown`);
    if (final.state === 'rolled_back' && !okRollback.length && !asked('rollback', 'info').length) impossible.push(`reservation ${id} is rolled back and no rollback was acknowledged or left unknown`);

    // Its use: every acknowledged draw, some of the unknown ones, each once.
    const used = final.used ?? 0;
    const okDraws = draws.filter((d) => kind(d) === 'ok').map((d) => arg<{ cost: number }>(d).cost);
    const unknownDraws = draws.filter((d) => kind(d) === 'info').map((d) => arg<{ cost: number }>(d).cost);
    acknowledged.draw += okDraws.length;
    unknown.draw += unknownDraws.length;
    const ackedUse = okDraws.reduce((a, b) => a + b, 0);
    if (used > final.amount) impossible.push(`reservation ${id} used ${used} of ${final.amount}`);
    if (used < ackedUse) lost.push(`reservation ${id} used ${used} at the end, less than its acknowledged draws (${okDraws.join(' + ')} = ${ackedUse})`);
    else if (!subsetSum(unknownDraws, used - ackedUse)) impossible.push(`reservation ${id} used ${used}: not its acknowledged draws (${ackedUse}) plus some of its unknown ones (${unknownDraws.join(', ') || 'none'}), each once`);
  }

  // The totals, per account: every reservation of the run is known, so they are exact.
  const accounts: BankCheck['accounts'] = {};
  const unconserved: string[] = [];
  for (const [account, initial] of Object.entries(setup.initial)) {
    const final = finals.accounts[account];
    if (!final) throw new Error(`the end state was not read for account ${account}`);
    const mine = Object.values(finals.reservations).filter((r): r is FinalReservation => r !== null && r.account === account);
    const committed = mine.filter((r) => r.state === 'committed').reduce((a, r) => a + r.amount, 0);
    const open = mine.filter((r) => r.state === 'reserved').reduce((a, r) => a + r.amount, 0);
    accounts[account] = { initial, final: { balance: final.balance, reserved: final.reserved }, committed, open };
    if (final.balance !== initial.balance - committed) unconserved.push(`${account}: balance ${final.balance} at the end; ${initial.balance} at the start less ${committed} committed is ${initial.balance - committed}`);
    if (final.reserved !== initial.reserved + open) unconserved.push(`${account}: reserved ${final.reserved} at the end; ${initial.reserved} at the start plus ${open} still reserved is ${initial.reserved + open}`);
  }

  // Reads: an account's state (a read, or what a settle answered) and a reservation's.
  for (const o of ops) {
    if (kind(o) !== 'ok' || !o.end) continue;
    const at = `${o.invoke.f} at ${Math.round(o.end.time)} ms`;
    const v = o.end.value as Partial<AccountView & FinalReservation> | undefined;
    if (o.invoke.f === 'read' || o.invoke.f === 'settle') {
      const quota = setup.quotas[o.invoke.account];
      const { balance, reserved } = v as AccountView;
      if (balance < 0 || reserved < 0) badReads.push(`${o.invoke.account}: ${at} shows balance ${balance}, reserved ${reserved}`);
      else if (balance - reserved < 0) badReads.push(`${o.invoke.account}: ${at} shows ${balance - reserved} available (balance ${balance}, reserved ${reserved})`);
      if (quota !== undefined && reserved > quota) badReads.push(`${o.invoke.account}: ${at} shows reserved ${reserved} above the quota ${quota}`);
    }
    if (o.invoke.f === 'read-reservation' && v && (v.used ?? 0) > (v.amount ?? 0)) badReads.push(`reservation ${v.id}: ${at} shows used ${v.used} of ${v.amount}`);
  }
  return { lost, impossible, unconserved, badReads, acknowledged, unknown, accounts };
}
