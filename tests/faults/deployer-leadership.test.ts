/**
 * The deployer's leadership under faults (issue 28), judged by the whole
 * history: chainfire's own record of every leader key (a term, from its
 * creation to the deletion its lease's end causes) and every write under
 * the leader's keys, against each deployer's journal of what it did as
 * leader, with its term, lease and the revision it committed at. The
 * nemesis freezes the leader past its lease, then cuts the next leader off
 * from chainfire past its lease, each while a drain or an undrain needs a
 * leader to act; the history must show one leader acting at a time and no
 * write by a leader whose term (lease) had ended
 * (harness/consistency/leadership.ts).
 */
import fs from 'node:fs';
import { describe } from 'vitest';
import { type TestCluster, timing } from '../../fixtures/cluster.js';
import { annotateWithFile, faultsDir, test } from '../../fixtures/consistency.js';
import { balanced, describeView, settled } from '../../fixtures/rollout.js';
import { budget } from '../../harness/budget.js';
import { checkLeadership } from '../../harness/consistency/leadership.js';
import type { DeployerView } from '../../stacks/contracts.js';

const DP = timing?.deployer;
const CF = timing?.chainfire;
/** Each takeover: the old leader's lease running out (after a new chainfire leader, when the cut-off node led chainfire too), a campaign, the change reconciled. */
const TAKEOVER_S = (DP?.leaseS ?? 30) + (DP?.handoverS ?? 60) + (DP?.settleS ?? 60);

describe('deployer leadership under faults', () => {
  test(
    'one deployer acts at a time and none after its lease ran out: through a frozen leader and a leader cut off from chainfire',
    // Seeded and balanced first (instances started: two passes); two takeovers, the second after an undrain retried until
    // chainfire's majority takes it (maybe after an election); chainfire on the cut-off node rejoining; reading the history (150 s at most).
    { timeout: budget((DP?.settleS ?? 60) * 2, TAKEOVER_S, (CF?.newLeaderS ?? 90) + (DP?.settleS ?? 60), (CF?.newLeaderS ?? 90) + TAKEOVER_S, CF?.rejoinS ?? 120, 150) },
    async ({ cluster, nemesis, annotate, expect, onTestFinished }) => {
      const { deployer, chainfire } = cluster.ops;
      const T = deployer.timing;
      const control = cluster.nodesOfKind('control');
      const [drained, other] = cluster.nodesOfKind('worker');
      /** The view through a control node other than `avoid` (whose deployer or chainfire member the nemesis holds). */
      const view = (avoid: string) => deployer.status(cluster.node(control.find((n) => n !== avoid)!));
      /** Waits, through faults, until a deployer other than `old` leads and `check` holds; no leader for a while is expected here. */
      const takeover = (what: string, old: string, timeoutS: number, check: (v: DeployerView) => { ok: boolean; seen: string }) =>
        cluster.eventually(what, timeoutS, async () => {
          const v = await view(old);
          const c = check(v);
          return { ok: v.leader !== null && v.leader !== old && c.ok, seen: c.seen, value: v };
        }, { intervalMs: 2000 });
      // The stack's services, for the leaders to place and move; the workers are left as found (no services, no drain),
      // even when the test fails.
      onTestFinished(() => resetForCleanup(cluster, control, drained));
      await deployer.seed(cluster.node(control[0]), await deployer.definitions(), true);
      const start = await cluster.eventually('the services seeded and balanced before the faults', T.settleS * 2, async () => {
        const v = await deployer.status(cluster.node(control[0]));
        const b = balanced(v);
        return { ok: b.ok && v.leader !== null, seen: b.seen, value: v };
      });
      const mark = await deployer.leadershipMark(cluster.node(control[0]));

      // 1. The leader frozen (SIGSTOP) past its lease while a drain waits for a leader: a standby takes over and moves
      //    the replicas; the frozen one wakes believing it leads.
      const frozen = start.leader!;
      await nemesis.pauseUnit(frozen, deployer.unit);
      await deployer.drain(cluster.node(control.find((n) => n !== frozen)!), drained);
      const afterFreeze = await takeover(`a deployer other than the frozen ${frozen} leads and ${drained} is drained`, frozen, TAKEOVER_S, (v) => settled(v, [other]));
      await nemesis.heal();

      // 2. The new leader cut off from chainfire's majority (client and peer ports) past its lease while an undrain waits.
      const cut = afterFreeze.leader!;
      const rest = control.filter((n) => n !== cut);
      await nemesis.partition([[cut], rest], { ports: [chainfire.ports.client, chainfire.ports.peer] });
      // The majority elects a chainfire leader first when the cut-off node led it (writes time out until then): an
      // operator's undrain is retried until chainfire takes it (it is idempotent; a timed-out one may have applied).
      await cluster.eventually(`the undrain of ${drained} through ${rest[0]} accepted by chainfire's majority`, chainfire.timing.newLeaderS + T.settleS, async () => {
        await deployer.undrain(cluster.node(rest[0]), drained);
        return { ok: true, seen: 'accepted' };
      }, { node: rest[0], intervalMs: 2000 });
      const afterCut = await takeover(`a deployer other than the cut-off ${cut} leads and the workers are balanced`, cut, chainfire.timing.newLeaderS + TAKEOVER_S, balanced);
      await nemesis.heal();
      await cluster.eventually(`chainfire on ${cut} healthy again`, chainfire.timing.rejoinS, async () => ({ ok: await chainfire.healthy(cluster.node(cut)), seen: 'endpoint health failing' }), { node: cut, intervalMs: 2000 });

      const history = await deployer.leadershipHistory(cluster.node(rest[0]), control.map((n) => cluster.node(n)), mark);
      const check = checkLeadership(history);
      const line = `deployer leadership: ${check.newTerms} new terms, ${check.actions} actions, ${check.writes} leader writes, ${check.fenced} fenced, ${check.unknown} unanswered, revisions ${history.from}-${history.to}; per term ${check.perTerm.join(', ')}: ${check.ok ? 'safe' : `${check.violations.length} violations`}`;
      const dir = faultsDir('deployer-leadership');
      fs.writeFileSync(`${dir}/history.json`, `${JSON.stringify({ nemesis: nemesis.windows, ...history }, null, 1)}\n`);
      fs.writeFileSync(`${dir}/verdict.json`, `${JSON.stringify(check, null, 1)}\n`);
      await annotateWithFile(annotate, line, 'verdict', `${dir}/verdict.json`, 'application/json');

      expect(check.violations, `${line}: ${check.violations.join('; ')}`).toEqual([]);
      // Not a vacuous history: both faults moved leadership, each new leader acted, and the last leader is the view's.
      const newTerms = history.terms.filter((t) => t.term > history.from);
      expect(newTerms.map((t) => t.holder), `${line}; view after the faults: ${describeView(afterCut)}`).toEqual(expect.arrayContaining([afterFreeze.leader, afterCut.leader]));
      // The term that moved the replicas off the drained worker, and the one that balanced them again (the last).
      const moved = [newTerms.find((t) => t.holder === afterFreeze.leader), newTerms.at(-1)];
      expect(moved[1]?.holder, line).toBe(afterCut.leader);
      for (const t of moved) expect(history.actions.filter((a) => a.term === t?.term).length, `writes by ${t?.holder} in its term ${t?.term}; ${line}`).toBeGreaterThan(0);
    },
  );
});

/**
 * Undrains `worker` and removes every service, through the first control
 * node where deployerctl works (nodes not bound to the test's signal: this
 * runs after a timeout too); failures are printed, not thrown, so the
 * test's own error stands.
 */
async function resetForCleanup(cluster: TestCluster, control: string[], worker: string): Promise<void> {
  const errors: string[] = [];
  for (const name of control) {
    const node = cluster.tryNode(name);
    if (!node) continue;
    try {
      await cluster.ops.deployer.undrain(node, worker);
      await cluster.ops.deployer.seed(node, [], true);
      return;
    } catch (e) {
      errors.push(`${name}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  process.stderr.write(`deployer leadership cleanup: could not undrain ${worker} and remove the services: ${errors.join('; ')}\n`);
}
