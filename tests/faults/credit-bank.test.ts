/**
 * creditservice's ledger as a bank under faults (issue 28): clients on the
 * gateway node, as alice and bob, reserve credits, draw on their
 * reservations with metered remote writes, commit and roll back, and read,
 * while flaredb's primary is frozen, cut off and killed. The history is
 * judged against the end state (harness/consistency/bank.ts): the totals
 * conserved, no acknowledged reservation, settlement or draw lost, no draw
 * counted twice, no read below zero or above the quota. What makes that
 * hold is in services/creditservice/README.md: a change is acknowledged
 * only once a replica has it (WAIT), and every reservation id is the
 * client's, so an unknown outcome is looked up at the end.
 */
import { describe } from 'vitest';
import { timing } from '../../fixtures/cluster.js';
import { test } from '../../fixtures/consistency.js';
import { creditBankRun } from '../../fixtures/credit-bank.js';
import { flaredbFailovers, flaredbWhole } from '../../fixtures/flaredb.js';
import { budget } from '../../harness/budget.js';

const FDB = timing?.flaredb;
/** After the set is whole again the clients run this long more: what they do then must succeed. */
const SETTLED_TAIL_S = 15;
/** Three faults, each on a whole set and held until Sentinel has failed over; the set whole again; the tail. */
const RUN_S = 3 * ((FDB?.rejoinS ?? 120) + (FDB?.failoverS ?? 120) + 7) + (FDB?.rejoinS ?? 120) + SETTLED_TAIL_S;

describe('creditservice ledger under faults', () => {
  test(
    'a bank of reservations, draws and settlements through a frozen, a cut-off and a killed flaredb primary: totals conserved, nothing acknowledged lost, nothing counted twice',
    { timeout: budget(RUN_S, 60, 180) },
    async ({ cluster, nemesis, annotate, expect }) => {
      const run = await creditBankRun(cluster, nemesis, {
        name: 'credit-bank',
        // Four open reservations of up to 8 credits for each of three clients per account: more than the quota's 40,
        // so reservations contend for it.
        workload: { clients: 6, timeLimitS: RUN_S, opLimit: 20_000, opTimeoutMs: 12_000, maxAmount: 8, maxOpen: 4 },
        balance: 100_000,
        quotaAbove: 40,
        schedule: flaredbFailovers(cluster),
        settle: { until: async () => void (await flaredbWhole(cluster)), tailS: SETTLED_TAIL_S },
      });
      const c = run.check;
      const accounts = Object.entries(c.accounts).map(([a, s]) => `${a} ${s.initial.balance} -> ${s.final.balance} (${s.committed} committed, ${s.open} open)`);
      await annotate(`${run.line}; unknown: ${c.unknown.reserve} reserves, ${c.unknown.draw} draws, ${c.unknown.settle} settles; ${accounts.join('; ')}`, 'verdict', { path: run.files.verdict, contentType: 'application/json' });
      await annotate('history: operations per client, faults shaded', 'chart', { path: run.files.timeline, contentType: 'image/svg+xml' });

      expect(c.lost, 'acknowledged reservations, settlements or draws the end state does not have').toEqual([]);
      expect(c.impossible, 'end states no operation could have produced').toEqual([]);
      expect(c.unconserved, 'accounts whose totals do not add up').toEqual([]);
      expect(c.badReads, 'reads below zero or above the quota').toEqual([]);
      expect(run.longestMs, `the longest operation, invoke to end (ms); ${run.line}`).toBeLessThanOrEqual(run.boundMs);
      // The run exercised what it judges: every kind acknowledged, the faults reached the clients, and once the set
      // was whole again reservations, draws and settlements succeeded.
      for (const [k, n] of Object.entries(c.acknowledged)) expect(n, `acknowledged ${k}s`).toBeGreaterThan(0);
      const ends = run.output.events.filter((e) => e.type !== 'invoke');
      expect(ends.filter((e) => e.type !== 'ok' && e.time >= run.windows[0]!.from).length, 'operations that failed or went unknown during the faults').toBeGreaterThan(0);
      const okAfter = ends.filter((e) => e.type === 'ok' && e.time > run.settledAt!);
      for (const f of ['reserve', 'draw', 'settle']) expect(okAfter.some((e) => e.f === f), `a ${f} acknowledged in the ${SETTLED_TAIL_S} s after the set was whole again`).toBe(true);
    },
  );
});
