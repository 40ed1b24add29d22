/**
 * The bank workload (services/workloads/credit-bank.mjs) run for real, as
 * Node on this host, against creditservice's own HTTP app on 127.0.0.1 with
 * the reference ledger (MemoryLedger) and the in-memory IAM fakes: its
 * requests are ones the service takes (client ids, remote-write bodies),
 * its end-state read covers every reservation, and the checker passes it.
 * Then two broken ledgers: one that acknowledges commits it does not make,
 * one that counts every draw twice; the checker must catch each.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { type BankEvent, type BankFinals, checkBank } from '../../harness/consistency/bank.js';
import { CREDIT_BANK_SCRIPT } from '../../harness/consistency/bank-workload.js';
import { parseWorkloadOutput } from '../../harness/consistency/workload.js';
import { createApp } from '../../services/creditservice/src/http.js';
import type { MeterOutcome, SettleAction, SettleOutcome } from '../../services/creditservice/src/ledger.js';
import { MemoryLedger } from '../../services/creditservice/src/memory-ledger.js';
import { createServer, listen } from '../../services/creditservice/src/server.js';
import { FakeAuth, FakeDirectory, FakeNightlight } from '../../services/creditservice/src/testing.js';

const run = promisify(execFile);
const ACCOUNTS = ['acct-alice', 'acct-bob'];
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** creditservice on 127.0.0.1 with `ledger`; the bank workload against it for `seconds`, then its end state, checked. */
async function bankAgainst(ledger: MemoryLedger, seconds = 3) {
  const directory = new FakeDirectory();
  const nightlight = new FakeNightlight();
  const server = createServer(createApp({ ledger, auth: new FakeAuth(), directory, nightlight, health: async () => ({ redis: 'ok', iam: 'ok' }) }), () => {});
  await listen(server, { host: '127.0.0.1', port: 0 });
  close = () => new Promise((r) => server.close(() => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bank-'));
  const tokenFile = path.join(dir, 'tokens.json');
  fs.writeFileSync(tokenFile, JSON.stringify([{ account: 'acct-alice', token: 'tok-alice' }, { account: 'acct-bob', token: 'tok-bob' }]));
  const initial: Record<string, { balance: number; reserved: number }> = {};
  for (const a of ACCOUNTS) initial[a] = await ledger.setBalance(a, 1000);

  const cfg = { url, tokenFile, clients: 4, timeLimitS: seconds, opLimit: 2000, opTimeoutMs: 2000, maxAmount: 8, maxOpen: 4, prefix: 'bank-t', seed: 7 };
  const { stdout } = await run('node', [CREDIT_BANK_SCRIPT, JSON.stringify(cfg)], { maxBuffer: 64 << 20 });
  const events = parseWorkloadOutput(stdout).events as BankEvent[];
  const ids = [...new Set(events.filter((e) => e.type === 'invoke' && e.f === 'reserve').map((e) => (e.value as { id: string }).id))];
  const read = await run('node', [CREDIT_BANK_SCRIPT, JSON.stringify({ finals: true, url, tokenFile, ids, opTimeoutMs: 2000 })], { maxBuffer: 64 << 20 });
  const finals = JSON.parse(read.stdout) as BankFinals;
  fs.rmSync(dir, { recursive: true });
  const quotas = { 'acct-alice': 100, 'acct-bob': 50 };
  return { events, ids, finals, nightlight, check: checkBank(events, finals, { initial: Object.fromEntries(ACCOUNTS.map((a) => [a, { balance: initial[a]!.balance, reserved: initial[a]!.reserved }])), quotas }) };
}

describe('the bank workload against creditservice on loopback', () => {
  it('reserves, draws, settles and reads under its own ids; the end state covers them all; every invariant holds', async () => {
    const r = await bankAgainst(new MemoryLedger());
    expect([...r.check.lost, ...r.check.impossible, ...r.check.unconserved, ...r.check.badReads]).toEqual([]);
    for (const [k, n] of Object.entries(r.check.acknowledged)) expect(n, `acknowledged ${k}s`).toBeGreaterThan(0);
    expect(Object.keys(r.finals.reservations).sort()).toEqual([...r.ids].sort());
    // Every acknowledged draw reached NightLight, and only those (a write is one body).
    expect(r.nightlight.received.length).toBe(r.check.acknowledged.draw);
  }, 30_000);

  it('a ledger that acknowledges commits it never makes: the checker finds the lost commits', async () => {
    class ForgetsCommits extends MemoryLedger {
      override async settle(id: string, action: SettleAction, now: number): Promise<SettleOutcome> {
        if (action !== 'commit') return super.settle(id, action, now);
        const r = await this.getReservation(id);
        if (!r || r.state !== 'reserved') return super.settle(id, action, now);
        return { kind: 'ok', state: await this.getAccount(r.account), reservationState: 'committed' };
      }
    }
    const r = await bankAgainst(new ForgetsCommits());
    expect(r.check.lost.filter((l) => /its commit was acknowledged/.test(l)).length).toBeGreaterThan(0);
  }, 30_000);

  it('a ledger that counts every draw twice: the checker finds draws counted twice', async () => {
    class CountsTwice extends MemoryLedger {
      override async meter(id: string, account: string, cost: number): Promise<MeterOutcome> {
        const first = await super.meter(id, account, cost);
        if (first.kind === 'ok') await super.meter(id, account, cost);
        return first;
      }
    }
    const r = await bankAgainst(new CountsTwice());
    expect(r.check.impossible.filter((l) => /each once/.test(l)).length).toBeGreaterThan(0);
  }, 30_000);
});
