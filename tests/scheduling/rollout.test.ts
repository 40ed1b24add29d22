/**
 * Deployer-seeded native scheduling (`cluster rollout-soak`): the service
 * definitions in stacks/reference/deployer/services.nix, evaluated on the
 * host with nix-instantiate, are seeded into the deployer; every service
 * runs at its replica count, healthy, spread over the workers. Then one
 * planned drain and one fail-stop worker loss, each degraded state held
 * HOLD_S and checked stable, and each way back to balanced. The services'
 * health is sampled every second on node06 throughout (the deployer's view
 * of the agents' health checks) and the whole timeline is saved next to the
 * JUnit report (rollout-timeline.json in the run folder). A planned drain and its undo
 * never leave a service without a healthy replica. A window is judged on
 * what it saw: it needs the samples its length implies (less a stated
 * allowance), a failed sample is unknown, never healthy, and a failed read
 * fails the step (fixtures/rollout-sampler.ts).
 *
 * Then the faults that must show: the agent on node04 stopped (not the
 * node) is a failed node; the leading deployer stopped hands over, every
 * deployer stopped stops reconciliation (and the wait says so at once);
 * replicas beyond what the nodes can host are reported, not capped.
 *
 * Steps build on each other; a failed run's leftovers (drains, stopped
 * units, a powered-off node05, the extra service) are undone before and after.
 */
import path from 'node:path';
import { afterAll, describe } from 'vitest';
import { type TestCluster, skipAfterFailedStep, test, timing } from '../../fixtures/cluster.js';
import { OPERATOR, balanced, cleanup, op, sampler, settled, status, waitView } from '../../fixtures/rollout.js';
import { RolloutTimeline } from '../../fixtures/rollout-sampler.js';
import { budget } from '../../harness/budget.js';
import type { DeployerServiceDef } from '../../stacks/contracts.js';
import { runDir } from '../../fixtures/run-dir.js';

const DRAINED = 'node04';
const LOST = 'node05';
/** Each degraded state is held this long and must stay as it is (the issue's soak). */
const HOLD_S = 30;
/** The extra service whose replicas exceed what the workers can host. */
const WIDE = 'rollout-wide';
/** What a failed run may have left besides drains, stopped units and a sampler (fixtures/rollout.ts: cleanup). */
const LEFTOVERS = { poweredOff: LOST, services: [WIDE] };
/**
 * Every phase, its events, samples, held windows and verdicts (fixtures/rollout-sampler.ts: how a window of samples is
 * judged: enough known samples for its length, a failed sample unknown, never healthy).
 */
const timeline = new RolloutTimeline(runDir('rollout-timeline.json'), { testFile: 'tests/scheduling/rollout.test.ts', holdS: HOLD_S });

/**
 * Deadlines (s), measured on the 2-core TCG host (README of the role):
 * - DP.settleS: a seed, drain or undrain to every service healthy where it
 *   belongs (measured 8-12 s for a drain).
 * - DP.failoverS: a dead worker's replicas healthy on the other: etcd's
 *   30 s minimum lease TTL, a pass, systemd-run and a first health check.
 * - DP.handoverS: a standby leading after the leader stopped (3 s campaign).
 * - BOOT_S: node05 powered on again to ready (about 70-100 s under TCG).
 */
const DP = timing.deployer;
const BOOT_S = 600;

describe.sequential('rollout: deployer-seeded native services on the workers', () => {
  skipAfterFailedStep();
  let ref: TestCluster | undefined;
  let defs: DeployerServiceDef[] = [];
  const names = () => defs.map((d) => d.name);
  const note = (what: string) => timeline.note(what);

  test('seeded from services.nix: every service at its replica count, healthy, spread over the workers', { timeout: budget(BOOT_S, DP.settleS * 2) }, async ({ cluster, expect }) => {
    ref = cluster;
    await cleanup(cluster, LEFTOVERS);
    const { deployer } = cluster.ops;
    defs = await deployer.definitions();
    expect(defs.length, 'services in services.nix').toBeGreaterThan(0);
    timeline.start('seed', `seed ${defs.map((d) => `${d.name}x${d.replicas}`).join(' ')}`);
    await deployer.seed(op(cluster), defs, true);
    const v = await waitView(cluster, 'every service placed, healthy and balanced over both workers', DP.settleS, balanced);
    expect(v.leader, 'a leading deployer').toMatch(/^node0[123]$/);
    // The replicas really serve: each HTTP instance answers with its own name, asked from the control plane.
    for (const d of defs.filter((x) => x.port !== undefined)) {
      for (const n of v.nodes) {
        for (const i of n.instances.filter((x) => x.instance.startsWith(`${d.name}-`))) {
          const replica = Number(i.instance.slice(d.name.length + 1));
          let page: string;
          try {
            page = await deployer.fetch(op(cluster), n.addr, d.port! + replica);
          } catch (e) {
            throw new Error(`${i.instance} on ${n.name} did not answer from ${OPERATOR} (the deployer counts it healthy): ${(e as Error).message}`);
          }
          expect(page, `${i.instance} on ${n.name}`).toBe(i.instance);
        }
      }
    }
    timeline.close();
  });

  test(`drain ${DRAINED}: its replicas run on ${LOST}, never zero healthy; held ${HOLD_S} s`, { timeout: budget(DP.settleS, HOLD_S, 60) }, async ({ cluster, expect, signal }) => {
    const { deployer } = cluster.ops;
    await timeline.begin(`drain ${DRAINED}`, sampler(cluster));
    note(`drain ${DRAINED}`);
    const t0 = Date.now();
    await deployer.drain(op(cluster), DRAINED);
    await waitView(cluster, `every replica off ${DRAINED}, healthy on ${LOST}`, DP.settleS, (v) => settled(v, [LOST]));
    const moved = (Date.now() - t0) / 1000;
    note(`moved in ${moved.toFixed(1)} s`);
    await timeline.hold(HOLD_S, signal, `hold ${HOLD_S} s on ${LOST}`);
    const after = settled(await status(cluster), [LOST]);
    const p = await timeline.end();
    const held = p.hold([LOST], names());
    const neverZero = p.neverZero(names());
    console.log(`drain: moved in ${moved.toFixed(1)} s; hold: ${held.reason}; ${p.summary(names())}`);
    expect(held.ok, `the ${HOLD_S} s hold: every sample has every service at its count on ${LOST} only: ${held.reason}`).toBe(true);
    expect(after.ok, after.seen).toBe(true);
    expect(neverZero.ok, `never zero healthy: ${neverZero.reason}`).toBe(true);
  });

  test(`undrain ${DRAINED}: balanced again, never zero healthy`, { timeout: budget(DP.settleS, 60) }, async ({ cluster, expect }) => {
    const { deployer } = cluster.ops;
    await timeline.begin(`undrain ${DRAINED}`, sampler(cluster));
    const t0 = Date.now();
    note(`undrain ${DRAINED}`);
    await deployer.undrain(op(cluster), DRAINED);
    await waitView(cluster, 'balanced over both workers', DP.settleS, balanced);
    note(`balanced in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // A few more samples after the move, then the record.
    await new Promise((r) => setTimeout(r, 3000));
    const p = await timeline.end();
    const neverZero = p.neverZero(names());
    console.log(`undrain: balanced in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${p.summary(names())}`);
    expect(neverZero.ok, `never zero healthy: ${neverZero.reason}`).toBe(true);
  });

  test(`fail-stop ${LOST} (its QEMU killed): its replicas run on ${DRAINED} within ${DP.failoverS} s; held ${HOLD_S} s`, { timeout: budget(DP.failoverS, HOLD_S, 60) }, async ({ cluster, expect, signal }) => {
    await timeline.begin(`fail-stop ${LOST}`, sampler(cluster));
    note(`power off ${LOST}`);
    const t0 = Date.now();
    await cluster.powerOff(LOST);
    const v = await waitView(cluster, `${LOST} seen failed and every replica healthy on ${DRAINED}`, DP.failoverS, (x) => {
      const lost = x.nodes.find((n) => n.name === LOST);
      const s = settled(x, [DRAINED]);
      return { ok: !!lost && !lost.alive && s.ok, seen: s.seen };
    });
    const moved = (Date.now() - t0) / 1000;
    note(`failed over in ${moved.toFixed(1)} s`);
    expect(v.nodes.find((n) => n.name === LOST)?.alive, `${LOST} alive in the deployer's view`).toBe(false);
    await timeline.hold(HOLD_S, signal, `hold ${HOLD_S} s on ${DRAINED}`);
    const after = settled(await status(cluster), [DRAINED]);
    const p = await timeline.end();
    const held = p.hold([DRAINED], names());
    // A service with a replica on the surviving worker never dropped to zero (one whose only replica died could not help it).
    const neverZero = p.neverZero(defs.filter((x) => x.replicas >= cluster.nodesOfKind('worker').length).map((d) => d.name));
    console.log(`fail-stop: failed over in ${moved.toFixed(1)} s; hold: ${held.reason}; ${p.summary(names())}`);
    expect(held.ok, `the ${HOLD_S} s hold: every sample has every service at its count on ${DRAINED} only: ${held.reason}`).toBe(true);
    expect(after.ok, after.seen).toBe(true);
    expect(neverZero.ok, `never zero healthy (services with a replica on ${DRAINED}): ${neverZero.reason}`).toBe(true);
  });

  test(`${LOST} boots again: it rejoins and the services are balanced again`, { timeout: budget(BOOT_S, DP.settleS, 60) }, async ({ cluster }) => {
    await timeline.begin(`${LOST} returns`, sampler(cluster));
    note(`boot ${LOST}`);
    const t0 = Date.now();
    await cluster.boot(LOST);
    note(`${LOST} ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const t1 = Date.now();
    await waitView(cluster, `${LOST} alive again and the services balanced`, DP.settleS, balanced);
    note(`balanced ${((Date.now() - t1) / 1000).toFixed(1)} s after ${LOST} was ready`);
    await new Promise((r) => setTimeout(r, 3000));
    const balancedS = (Date.now() - t1) / 1000 - 3;
    const p = await timeline.end();
    console.log(`return: ${LOST} ready in ${((t1 - t0) / 1000).toFixed(1)} s, balanced ${balancedS.toFixed(1)} s later; ${p.summary(names())}`);
  });

  test(`the agent on ${DRAINED} stopped (not the node) is a failed node: its replicas move; started again, balanced`, { timeout: budget(DP.failoverS, DP.settleS, 60) }, async ({ cluster, expect }) => {
    const { deployer } = cluster.ops;
    await timeline.begin(`agent on ${DRAINED} stopped`, sampler(cluster));
    note(`stop the agent on ${DRAINED}`);
    const t0 = Date.now();
    await deployer.stop(cluster.node(DRAINED));
    const v = await waitView(cluster, `${DRAINED} seen failed (its lease ran out) and every replica healthy on ${LOST}`, DP.failoverS, (x) => {
      const n = x.nodes.find((y) => y.name === DRAINED);
      const s = settled(x, [LOST]);
      return { ok: !!n && !n.alive && s.ok, seen: s.seen };
    });
    note(`failed over in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(v.nodes.find((n) => n.name === DRAINED)?.alive, `${DRAINED} alive in the deployer's view`).toBe(false);
    note(`start the agent on ${DRAINED}`);
    await deployer.start(cluster.node(DRAINED));
    await waitView(cluster, 'balanced over both workers again', DP.settleS, balanced);
    // The copies it left running while it was down are gone (it stopped what is no longer assigned to it).
    const units = await cluster.node(DRAINED).succeed("systemctl list-units --plain --no-legend 'uc-svc-*' | awk '{print $1}'");
    const want = (await status(cluster)).nodes.find((n) => n.name === DRAINED)!.instances.map((i) => `uc-svc-${i.instance}.service`);
    expect(units.trim().split('\n').filter(Boolean).sort(), `instance units on ${DRAINED}`).toEqual(want.sort());
    const p = await timeline.end();
    console.log(`agent stop: ${p.summary(names())}`);
  });

  test('the leading deployer stopped hands over; every deployer stopped stops reconciliation, and the wait says so', { timeout: budget(DP.handoverS, 30, DP.settleS, 60) }, async ({ cluster, expect }) => {
    const { deployer } = cluster.ops;
    timeline.start('deployers stopped');
    const first = (await status(cluster)).leader!;
    note(`stop the leader ${first}`);
    await deployer.stop(cluster.node(first));
    const next = await cluster.eventually(`a deployer other than ${first} leads`, DP.handoverS, async () => {
      const v = await status(cluster);
      return { ok: !!v.leader && v.leader !== first, value: v.leader!, seen: `leader ${v.leader ?? 'none'}` };
    }, { node: OPERATOR, intervalMs: 1000 });
    note(`${next} leads`);
    for (const n of cluster.nodesOfKind('control').filter((x) => x !== first)) await deployer.stop(cluster.node(n));
    note('every deployer stopped');
    const v = await status(cluster);
    expect(v.leader, 'leader with every deployer stopped').toBeNull();
    expect(v.reconciling).toBe(false);
    expect(v.reason).toMatch(/reconciliation stopped/);
    // A change nobody acts on: the drain is recorded, the assignments stay, and the wait fails at once naming why.
    const before = v.nodes.find((n) => n.name === DRAINED)!.instances.map((i) => i.instance);
    await deployer.drain(op(cluster), DRAINED);
    note(`drain ${DRAINED} with no deployer`);
    const t0 = Date.now();
    await expect(waitView(cluster, `every replica off ${DRAINED}`, DP.settleS, (x) => settled(x, [LOST]))).rejects.toThrow(/reconciliation stopped: no deployer holds the leader key/);
    expect((Date.now() - t0) / 1000, 'seconds until the wait gave up').toBeLessThan(DP.settleS / 2);
    const after = await status(cluster);
    expect(after.nodes.find((n) => n.name === DRAINED)?.draining, `${DRAINED} marked draining`).toBe(true);
    expect(after.nodes.find((n) => n.name === DRAINED)!.instances.map((i) => i.instance), `${DRAINED}'s assignments with nobody reconciling`).toEqual(before);
    // Back: undrain, the deployers start, one leads and the services are balanced.
    await deployer.undrain(op(cluster), DRAINED);
    for (const n of cluster.nodesOfKind('control')) await deployer.start(cluster.node(n));
    note('deployers started');
    const back = await waitView(cluster, 'a leader and the services balanced', DP.handoverS + DP.settleS, balanced);
    note(`${back.leader} leads; balanced`);
    timeline.close();
  });

  test('a definition with more replicas than the nodes that can host it is reported, not capped', { timeout: budget(DP.settleS * 2, 60) }, async ({ cluster, expect, annotate }) => {
    const { deployer } = cluster.ops;
    const [wide] = await deployer.evaluate(
      `{ ${WIDE} = { command = "while :; do sleep 60; done"; health = { command = "true"; intervalS = 10; }; replicas = 3; placement = { kinds = [ "worker" ]; antiAffinity = "required"; }; }; }`,
    );
    timeline.start('replicas beyond capacity', `seed ${WIDE} x3, antiAffinity required`);
    await deployer.seed(op(cluster), [wide]);
    const v = await waitView(cluster, `${WIDE} placed on both workers with its shortfall reported`, DP.settleS, (x) => {
      const s = x.services.find((y) => y.name === WIDE);
      return { ok: !!s && s.placed === 2 && s.healthy === 2 && s.problems.length > 0, seen: JSON.stringify(s ?? 'not seeded') };
    });
    const s = v.services.find((y) => y.name === WIDE)!;
    expect(s.replicas, 'replicas asked (not capped)').toBe(3);
    expect(s.problems.join('\n')).toContain('wants 3 replicas but at most 2 fit');
    expect(v.problems.some((p) => p.service === WIDE && p.kind === 'capacity')).toBe(true);
    await deployer.remove(op(cluster), [WIDE]);
    await waitView(cluster, `${WIDE} gone; the services balanced`, DP.settleS, (x) => {
      const b = balanced(x);
      const gone = !x.services.some((y) => y.name === WIDE) && !x.nodes.some((n) => n.instances.some((i) => i.instance.startsWith(WIDE)));
      return { ok: b.ok && gone, seen: b.seen };
    });
    timeline.close();
    // The whole rollout so far as a chart, attached to the last step (the HTML report and JUnit show it).
    await annotate('rollout timeline: healthy replicas per service, phases and holds', 'chart', { path: await timeline.writeChart(), contentType: 'image/svg+xml' });
  });

  afterAll(async () => {
    if (!ref) return;
    try {
      // A phase a failed step left open keeps its samples (or why not) in the timeline.
      const lost = await timeline.closeForCleanup();
      if (lost) console.log(`rollout timeline: ${lost}`);
      await cleanup(ref, LEFTOVERS);
      // Leave the workers as the run found them: no services scheduled.
      await ref.ops.deployer.seed(op(ref), [], true);
    } finally {
      timeline.save();
      console.log(`rollout timeline: ${timeline.file} and its chart ${await timeline.writeChart()}`);
    }
  }, (BOOT_S + 300) * 1000);
});
