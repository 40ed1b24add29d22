/**
 * chainfire under faults, judged by its whole history (issue 28): clients
 * on the gateway node (outside the quorum) read, write and compare-and-set
 * a few registers through every member while the nemesis partitions the
 * leader from the majority, freezes a follower's server and kills another's;
 * the linearizability checker (harness/consistency) then judges every
 * operation, not one write and one read. The history, verdict and timeline
 * are saved in the run folder (faults/<name>/) and attached.
 *
 * The second test proves the checker bites on this cluster: serializable
 * reads (a member's local state, no quorum) on a partitioned follower are
 * stale, and the history must be found not linearizable, with its window.
 */
import { describe } from 'vitest';
import { timing } from '../../fixtures/cluster.js';
import { annotateWithFile, chainfireWhole, registerRun, test } from '../../fixtures/consistency.js';
import { QUICK_TIME_LIMIT_S, faultPlan, planOptions } from '../../fixtures/fault-plan.js';
import { budget } from '../../harness/budget.js';
import { pairOperations } from '../../harness/consistency/history.js';
import { checkLinearizable } from '../../harness/consistency/linearizable.js';
import { registerModel } from '../../harness/consistency/register.js';
import { sleep } from '../../harness/proc.js';

const CF = timing?.chainfire;
/** `cluster faults --time-limit S --nemesis ...` (the environment); none in `make test`. */
const PLAN_OPTIONS = planOptions(process.env);
/** After every member is healthy again with one leader, the clients run this long more: what they do then must succeed. */
const SETTLED_TAIL_S = 10;

describe('chainfire registers under faults', () => {
  test(
    'linearizable through a partitioned leader, a frozen follower and a killed follower, and every member healthy after',
    { timeout: budget(PLAN_OPTIONS.timeLimitS ?? QUICK_TIME_LIMIT_S, 160, CF?.rejoinS ?? 120, CF?.newLeaderS ?? 90, SETTLED_TAIL_S, 600) },
    async ({ cluster, nemesis, annotate, expect }) => {
      const control = cluster.nodesOfKind('control');
      const leader = await cluster.ops.chainfire.leader(control.map((n) => cluster.node(n)));
      const followers = control.filter((n) => n !== leader);
      // The partitions cut Raft between members (its peer port) and nothing else on the nodes.
      const { unit, ports } = cluster.ops.chainfire;
      // The quick plan, or `cluster faults --time-limit S --nemesis ...` (fixtures/fault-plan.ts).
      const plan = faultPlan(leader, [followers[0], followers[1]], PLAN_OPTIONS);
      // The clients run through the schedule and until chainfire is whole again (elections after a heal can take
      // several rounds of the 20-40 s timeout here), then SETTLED_TAIL_S more; the time limit only bounds that.
      const timeLimitS = plan.timeLimitS + (CF?.rejoinS ?? 120) + (CF?.newLeaderS ?? 90) + SETTLED_TAIL_S;
      const run = await registerRun(cluster, nemesis, {
        name: 'leader-partition',
        clientNode: cluster.nodesOfKind('gateway')[0],
        members: control,
        workload: { clients: 6, keys: 8, timeLimitS, opLimit: 4000 * Math.ceil(timeLimitS / QUICK_TIME_LIMIT_S), opTimeoutMs: 5000, serializable: false },
        async schedule(n) {
          for (const step of plan.steps) {
            await sleep(step.gapS * 1000);
            if (step.nemesis === 'partition') await n.partition([[step.target], control.filter((m) => m !== step.target)], { ports: [ports.peer] });
            else if (step.nemesis === 'pause') await n.pauseUnit(step.target, unit);
            else await n.crashUnit(step.target, unit);
            await sleep(step.holdS * 1000);
            await n.heal();
          }
        },
        // No member is left behind: each is healthy and the members agree on a leader again.
        settle: {
          tailS: SETTLED_TAIL_S,
          until: () => chainfireWhole(cluster, control),
        },
      });
      await annotateWithFile(annotate, run.line, 'verdict', run.files.verdict, 'application/json');
      await annotate('history: operations per client, nemesis windows shaded', 'chart', { path: run.files.timeline, contentType: 'image/svg+xml' });
      expect(run.check.verdict, `${run.line}; see ${run.files.timeline}`).toBe('linearizable');
      // The client's own timeout ends every operation (a request left running would hide what happened when):
      // 5 s, plus however late the starved client node ran that timer (the workload measures it).
      expect(run.longestMs, `the longest operation, invoke to end (ms); ${run.line}`).toBeLessThanOrEqual(run.boundMs);

      // The faults touched the clients: operations failed or went unknown inside the partition,
      // and once every member was healthy with one leader, the cluster served reads, writes and cas again.
      const partition = run.windows[0];
      const ends = run.output.events.filter((e) => e.type !== 'invoke');
      const hurt = ends.filter((e) => (e.type === 'fail' || e.type === 'info') && e.time >= partition.from && e.time <= partition.to + 6_000);
      expect(hurt.length, `no operation failed or timed out during ${partition.what}: the nemesis did not reach the clients`).toBeGreaterThan(0);
      const settledAt = run.settledAt!;
      const okAfter = ends.filter((e) => e.type === 'ok' && e.time > settledAt);
      expect(new Set(okAfter.map((e) => e.f)), `reads, writes and cas in the ${SETTLED_TAIL_S} s after chainfire was whole again (at ${Math.round(settledAt / 1000)} s of the run)`).toEqual(new Set(['read', 'write', 'cas']));
    },
  );

  test(
    'serializable reads on a partitioned follower are stale: the checker finds the history not linearizable and names the window',
    { timeout: budget(150, 600) },
    async ({ cluster, nemesis, annotate, expect }) => {
      const control = cluster.nodesOfKind('control');
      const leader = await cluster.ops.chainfire.leader(control.map((n) => cluster.node(n)));
      const [follower, other] = control.filter((n) => n !== leader);
      const { ports } = cluster.ops.chainfire;
      const run = await registerRun(cluster, nemesis, {
        name: 'stale-follower',
        clientNode: cluster.nodesOfKind('gateway')[0],
        // Clients 0 and 1 on the follower, 2 and 3 on the majority.
        members: [follower, leader, follower, other],
        // Serializable reads through the follower only: the majority's clients read with quorum, so a stale read can only be the follower's.
        workload: { clients: 4, keys: 4, timeLimitS: 30, opLimit: 3000, opTimeoutMs: 3000, serializable: [`${cluster.node(follower).spec.clusterIp}:${ports.client}`] },
        async schedule(n) {
          await sleep(5_000);
          // Shorter than the election timeout: the follower never campaigns, so healing disturbs nobody.
          await n.partition([[follower], [leader, other]], { ports: [ports.peer] });
          await sleep(15_000);
          await n.heal();
        },
      });
      await annotateWithFile(annotate, run.line, 'verdict', run.files.verdict, 'application/json');
      await annotate('history with the stale read outlined', 'chart', { path: run.files.timeline, contentType: 'image/svg+xml' });
      expect(run.check.verdict, run.line).toBe('not linearizable');
      expect(run.longestMs, `the longest operation, invoke to end (ms); ${run.line}`).toBeLessThanOrEqual(run.boundMs);
      // Only the follower's serializable reads broke it: without them the history is linearizable. (The operation
      // a violation names is where the search got stuck, not always the stale read: seen, a leader's quorum read.)
      const violations = run.check.keys.flatMap((k) => (k.violation ? [k.violation] : []));
      const followerEndpoint = `${cluster.node(follower).spec.clusterIp}:${ports.client}`;
      const endpointOf = new Map(run.output.events.filter((e) => e.type === 'invoke').map((e) => [e.process, e.endpoint]));
      const withoutFollowerReads = run.output.events.filter((e) => !(e.f === 'read' && endpointOf.get(e.process) === followerEndpoint));
      expect(withoutFollowerReads.length, 'the follower served reads').toBeLessThan(run.output.events.length);
      expect(checkLinearizable(registerModel, pairOperations(withoutFollowerReads), 60_000).verdict, 'the history without the follower\'s serializable reads').toBe('linearizable');
      // And the partition made one: a violation whose window lies in it.
      const partition = run.windows[0];
      const bad = violations.find((v) => v.window.to > partition.from && v.window.from < partition.to + 2_000) ?? violations[0];
      expect(bad!.window.to, `violation windows ${violations.map((v) => `${Math.round(v.window.from)}-${Math.round(v.window.to)}`).join(', ')} ms; the partition ${Math.round(partition.from)}-${Math.round(partition.to)}`).toBeGreaterThan(partition.from);
      expect(bad!.window.from).toBeLessThan(partition.to + 2_000);
    },
  );
});
