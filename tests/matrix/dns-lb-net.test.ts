/**
 * dns-lb-net (prismnet + flashdns + fiberlb): two tenant guests, one on each
 * worker, on a PrismNet logical switch, each serving HTTP with its own name
 * in the body. A PrismNet router and a gateway on node04 make the tenant
 * network reachable from the control plane; fiberlb (HAProxy on a control
 * node) publishes a VIP for the two guests and flashdns a name for the VIP.
 * A client on the gateway node resolves the name through flashdns, reaches
 * the VIP and sees both backends answer; stopping one backend sends every
 * request to the other; removing the service removes the DNS record and the
 * LB frontend. Steps run in order and hand on what they made (a step run
 * without the step that makes what it needs fails, naming it); the delete
 * step first proves the service, the VIP and the name are there in this
 * run, then that each flashdns server says the name is gone (NXDOMAIN, not
 * SERVFAIL or silence). Whatever a failed run left is removed before and
 * after.
 */
import { afterAll, describe } from 'vitest';
import { type TestCluster, clusterInfo, nodesOfKind, skipAfterFailedStep, test, timing } from '../../fixtures/cluster.js';
import { expectRecordServed, resolveOne, waitRecordGone, waitRecordServed } from '../../fixtures/dns.js';
import { stepState } from '../../fixtures/scenario.js';
import { budget } from '../../harness/budget.js';

const CENTRAL = 'node01';
/** The control node whose balancer serves the VIP. */
const LB_NODE = 'node02';
/** Where the tenant's client runs: the gateway node, neither a chassis nor a balancer. */
const CLIENT = 'node06';
/** The worker that routes between the cluster network and the tenant router. */
const GW_WORKER = 'node04';
const SWITCH = 'matrix-lb';
const ROUTER = { name: 'matrix-lb', networks: [{ switch: SWITCH, address: '10.251.0.1/24' }] };
const GATEWAY = { router: ROUTER.name, transit: '10.251.254.0/24' };
const TENANT_GW = '10.251.0.1';
const TENANT_NET = '10.251.0.0/24';
/** The service: fiberlb's frontend and backend, and the flashdns name of its VIP (a spare cluster-network address). */
const SERVICE = { name: 'matrix-lb', vip: '10.100.0.241', port: 80 };
const RECORD = 'matrix-lb';
// Logical port names are UUIDs (libvirt writes only a UUID as the OVS iface-id); fixed, so a failed run's leftovers are found by name.
const VMS = {
  a: { node: 'node04', name: 'mx-lb-a', ovnPort: 'a51b0000-0000-4000-8000-00000000000a', mac: '52:54:00:a5:1b:0a', ip: '10.251.0.10/24', addr: '10.251.0.10' },
  b: { node: 'node05', name: 'mx-lb-b', ovnPort: 'a51b0000-0000-4000-8000-00000000000b', mac: '52:54:00:a5:1b:0b', ip: '10.251.0.11/24', addr: '10.251.0.11' },
};
/** Requests a client sends to see the spread; round robin over two gives each half. */
const REQUESTS = 6;

const { prismnet: PN, plasmavmc: PV, fiberlb: LB, flashdns: DNS } = timing;
/** plasmavmc's command deadlines: domcapabilities, define + start, destroy + undefine (as in the smoke layer). */
const LIBVIRT_S = { domcaps: 240, start: 240, delete: 120 };
/**
 * Deadlines of this scenario, seconds. Measured under TCG (nested-KVM guests
 * on the workers), four runs: the whole file 88-94 s;
 * - GUEST_HTTP_S: a guest from `virsh start` to serving HTTP: 3-13 s (TCG inside TCG would take minutes: plasmavmc's qemu deadline);
 * - THROUGH_GATEWAY_S: a control node's first answer from a guest through the gateway: 0.5-0.7 s;
 * - POOL_UP_S: both backends up in the balancer after the publish: 0.1 s;
 * - flashdns's transferS: the name on the primary and both secondaries: 0.3-1.9 s;
 * - fiberlb's failoverS: every request on the other backend after one is destroyed: 6.2-8.5 s.
 */
const GUEST_HTTP_S = PV.guestUpS.qemu;
const THROUGH_GATEWAY_S = 60;
const POOL_UP_S = 30;
const CONTROL = nodesOfKind('control');
const FLASHDNS = clusterInfo.nodes.filter((n) => n.kind === 'control');
/** The steps that make what later steps need, by title (what to run). */
const STEP = {
  network: 'a tenant switch with a router, and a gateway on node04 that routes the tenant network to the control plane',
  guests: 'two tenant guests, one on each worker, serve HTTP with their own name and answer the control plane through the gateway',
  publish: 'fiberlb publishes a VIP for both guests and flashdns a name for the VIP, on the primary and both secondaries',
};

describe.sequential('dns-lb-net', () => {
  skipAfterFailedStep();
  /** Every part this scenario makes, newest first; each step runs even when one before it failed, and the first error is thrown. */
  const cleanup = async (cluster: TestCluster) => {
    const { prismnet, plasmavmc, fiberlb, flashdns } = cluster.ops;
    const central = cluster.node(CENTRAL);
    const steps: [string, () => Promise<void>][] = [
      ['fiberlb unpublish', () => fiberlb.unpublish(cluster.node(LB_NODE), SERVICE.name)],
      ['flashdns delete record', () => flashdns.deleteRecord(cluster.node(flashdns.primaryNode), RECORD, 'A')],
      ...Object.values(VMS).map((vm): [string, () => Promise<void>] => [`delete guest ${vm.name}`, () => plasmavmc.deleteGuest(cluster.node(vm.node), vm.name)]),
      ['prismnet remove gateway', () => prismnet.removeGateway(central, cluster.node(GW_WORKER), GATEWAY, CONTROL.map((n) => cluster.node(n)))],
      ['prismnet delete router', () => prismnet.deleteRouter(central, ROUTER.name)],
      ...Object.values(VMS).map((vm): [string, () => Promise<void>] => [`delete port ${vm.ovnPort}`, () => prismnet.deletePort(central, vm.ovnPort)]),
      ['prismnet delete switch', () => prismnet.deleteSwitch(central, SWITCH)],
    ];
    const errors: string[] = [];
    for (const [what, step] of steps) {
      await step().catch((e: Error) => errors.push(`${what}: ${e.message}`));
    }
    if (errors.length) throw new Error(`dns-lb-net cleanup:\n${errors.join('\n')}`);
  };
  let clusterRef: TestCluster | undefined;
  /** The tenant network routed to the control plane, made in this run. */
  const network = stepState<true>(STEP.network);
  /** The guests serving HTTP through the gateway, in this run. */
  const guests = stepState<true>(STEP.guests);
  /** The service published in this run: the name flashdns serves for the VIP. */
  const published = stepState<{ fqdn: string; vip: string }>(STEP.publish);

  test(STEP.network, { timeout: budget(LIBVIRT_S.delete * 2) }, async ({ cluster, expect }) => {
    network.begin();
    clusterRef = cluster;
    await cleanup(cluster);
    const { prismnet } = cluster.ops;
    const central = cluster.node(CENTRAL);
    await prismnet.createSwitch(central, SWITCH);
    for (const vm of Object.values(VMS)) await prismnet.createPort(central, SWITCH, vm.ovnPort, vm.mac, vm.addr);
    await prismnet.ensureRouter(central, ROUTER);
    await prismnet.ensureGateway(central, cluster.node(GW_WORKER), GATEWAY, CONTROL.map((n) => cluster.node(n)));
    expect(await prismnet.routers(central)).toContain(ROUTER.name);
    for (const n of CONTROL) {
      expect(await prismnet.gatewayRoutes(cluster.node(n)), `gateway routes on ${n}`).toContainEqual({ cidr: TENANT_NET, via: cluster.node(GW_WORKER).spec.clusterIp });
    }
    network.set(true);
  });

  test(STEP.guests, { timeout: budget(LIBVIRT_S.domcaps, LIBVIRT_S.start * 2, PN.bindS, GUEST_HTTP_S, THROUGH_GATEWAY_S) }, async ({ cluster, skip }) => {
    guests.begin();
    network.need(skip);
    const { prismnet, plasmavmc, fiberlb } = cluster.ops;
    for (const vm of Object.values(VMS)) {
      await plasmavmc.startGuest(cluster.node(vm.node), { ...vm, gateway: TENANT_GW, http: true });
    }
    for (const vm of Object.values(VMS)) {
      await cluster.eventually(`${vm.ovnPort} (${vm.name}) bound to ${vm.node} and up`, prismnet.timing.bindS, async () => {
        const b = await prismnet.binding(cluster.node(CENTRAL), vm.ovnPort);
        return { ok: b?.chassis === vm.node && b.up, seen: JSON.stringify(b ?? 'no binding') };
      }, { node: vm.node });
      await cluster.eventually(`${vm.name} serving HTTP`, GUEST_HTTP_S, async () => {
        const log = await plasmavmc.console(cluster.node(vm.node), vm.name);
        return { ok: log.includes(`ULTRACLOUD_GUEST_HTTP name=${vm.name} `), seen: log.slice(-600) || '(console empty)' };
      }, { node: vm.node, intervalMs: 3000 });
    }
    // Straight to each guest from the balancer's node: cluster network, node04's gateway port, the router, the switch (Geneve to node05).
    for (const vm of Object.values(VMS)) {
      await cluster.eventually(`${vm.name} (${vm.addr}) answering ${LB_NODE} through the gateway`, THROUGH_GATEWAY_S, async () => {
        const [r] = await fiberlb.httpGet(cluster.node(LB_NODE), vm.addr, 80, 1);
        return { ok: r?.status === 200 && r.body === vm.name, seen: JSON.stringify(r) };
      }, { node: LB_NODE });
    }
    guests.set(true);
  });

  test(STEP.publish, { timeout: budget(LB.reloadS, POOL_UP_S, DNS.transferS) }, async ({ cluster, expect, signal, skip }) => {
    published.begin();
    guests.need(skip);
    const { fiberlb, flashdns } = cluster.ops;
    const lb = cluster.node(LB_NODE);
    await fiberlb.publish(lb, { ...SERVICE, backends: Object.values(VMS).map((vm) => ({ name: vm.name, address: vm.addr, port: 80 })) });
    expect(await fiberlb.services(lb)).toContain(SERVICE.name);
    await cluster.eventually(`both backends of ${SERVICE.name} up`, POOL_UP_S, async () => {
      const pool = await fiberlb.pool(lb, SERVICE.name);
      return { ok: pool.length === 2 && pool.every((m) => m.up), seen: JSON.stringify(pool) };
    }, { node: LB_NODE });
    const fqdn = await flashdns.createRecord(cluster.node(flashdns.primaryNode), RECORD, 'A', SERVICE.vip);
    await waitRecordServed(flashdns, cluster.node(CLIENT), FLASHDNS, fqdn, 'A', SERVICE.vip, { timeoutMs: flashdns.timing.transferS * 1000, signal });
    published.set({ fqdn, vip: SERVICE.vip });
  });

  test('a client resolves the name through flashdns, reaches the VIP and sees both backends answer', async ({ cluster, expect, skip }) => {
    const { fqdn } = published.need(skip);
    const { fiberlb, flashdns } = cluster.ops;
    const client = cluster.node(CLIENT);
    // Through a secondary: the name travelled there by NOTIFY + AXFR. NOERROR with exactly one address, or this throws naming what the server said.
    const server = FLASHDNS.find((n) => n.name !== flashdns.primaryNode)!;
    const vip = await resolveOne(flashdns, client, server, fqdn, 'A');
    expect(vip).toBe(SERVICE.vip);
    const answers = await fiberlb.httpGet(client, vip, SERVICE.port, REQUESTS);
    expect(answers.map((a) => a.status), `statuses from ${vip} (${JSON.stringify(answers)})`).toEqual(Array(REQUESTS).fill(200));
    const bodies = answers.map((a) => a.body);
    for (const vm of Object.values(VMS)) {
      expect(bodies.filter((b) => b === vm.name).length, `answers from ${vm.name} of ${REQUESTS} (${bodies.join(', ')})`).toBe(REQUESTS / 2);
    }
  });

  test('stopping one backend sends every request to the other within the deadline', { timeout: budget(LIBVIRT_S.delete, LB.failoverS) }, async ({ cluster, expect, skip }) => {
    published.need(skip);
    const { fiberlb, plasmavmc } = cluster.ops;
    const client = cluster.node(CLIENT);
    await plasmavmc.deleteGuest(cluster.node(VMS.b.node), VMS.b.name);
    // Every request of a round answered by a, with a's name; requests during the switch may see a retry, never an error once it is done.
    await cluster.eventually(`every request to ${SERVICE.vip} answered by ${VMS.a.name} after ${VMS.b.name} stopped`, LB.failoverS, async () => {
      const answers = await fiberlb.httpGet(client, SERVICE.vip, SERVICE.port, REQUESTS);
      return { ok: answers.length === REQUESTS && answers.every((a) => a.status === 200 && a.body === VMS.a.name), seen: JSON.stringify(answers) };
    }, { node: CLIENT });
    const pool = await fiberlb.pool(cluster.node(LB_NODE), SERVICE.name);
    expect(pool.find((m) => m.member === VMS.b.name), `${VMS.b.name} in the pool`).toMatchObject({ up: false });
    expect(pool.find((m) => m.member === VMS.a.name), `${VMS.a.name} in the pool`).toMatchObject({ up: true });
  });

  test('removing the service removes the DNS record and the LB frontend', { timeout: budget(LB.reloadS, DNS.transferS) }, async ({ cluster, expect, signal, skip }) => {
    const { fqdn, vip } = published.need(skip);
    const { fiberlb, flashdns } = cluster.ops;
    const lb = cluster.node(LB_NODE);
    const client = cluster.node(CLIENT);
    // Each "gone" below is news only if the thing is there now: the frontend, the VIP answering (by the backend left), the name on every server.
    expect(await fiberlb.services(lb), `services of the balancer on ${LB_NODE} before the removal`).toContain(SERVICE.name);
    const [before] = await fiberlb.httpGet(client, vip, SERVICE.port, 1);
    expect(before?.status, `a request to ${vip} before the removal (${JSON.stringify(before)})`).toBe(200);
    await expectRecordServed(flashdns, client, FLASHDNS, fqdn, 'A', vip, 'right before the delete');
    await flashdns.deleteRecord(cluster.node(flashdns.primaryNode), RECORD, 'A');
    await fiberlb.unpublish(lb, SERVICE.name);
    // Strict getter: throws when the balancer does not answer, so "not there" is its answer.
    expect(await fiberlb.services(lb)).not.toContain(SERVICE.name);
    const [after] = await fiberlb.httpGet(client, vip, SERVICE.port, 1);
    expect(after.status, `a request to ${vip} after the removal`).toBe(0);
    // NXDOMAIN (or NOERROR without a record) from each server; SERVFAIL, REFUSED or no reply fails at once, naming the server.
    await waitRecordGone(flashdns, client, FLASHDNS, fqdn, 'A', { timeoutMs: flashdns.timing.transferS * 1000, signal });
  });

  afterAll(async () => {
    if (clusterRef) await cleanup(clusterRef);
  });
});
