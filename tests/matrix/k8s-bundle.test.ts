/**
 * k8s-bundle (k8shost + prismnet + fiberlb + flashdns): a Pod and a Service,
 * as Kubernetes YAML, played by k8shost on a worker, the Pod's network a
 * PrismNet port (an OVS port on the worker's br-int bound to a logical port
 * of a tenant switch, eth0 in the Pod's namespace); the control plane
 * reaches the Pod through a PrismNet router and a gateway on node04; the
 * Service is reachable through fiberlb by its flashdns name; replacing the
 * Pod (a new version with a new port, on the other worker) and the Service
 * follows; deleting them leaves no container, pod, logical port, OVS port,
 * binding, LB backend or record. podman plays the Pod and ignores the
 * Service: what Kubernetes' network controller (the logical port) and its
 * endpoints controller and service proxy would do is done here, the last
 * two by `syncService` below, from what podman really runs to fiberlb's
 * backends. Steps run in order and hand on what they made (a step run
 * without the step that makes what it needs fails, naming it); the delete
 * step first proves the Pod, its port, the LB service and the name are
 * there in this run, then that each is gone, the name by each flashdns
 * server's NXDOMAIN (not SERVFAIL or silence). Whatever a failed run left
 * is removed before and after.
 */
import { type ExpectStatic, afterAll, describe } from 'vitest';
import { type TestCluster, clusterInfo, nodesOfKind, skipAfterFailedStep, test, timing } from '../../fixtures/cluster.js';
import { expectRecordServed, resolveOne, waitRecordGone, waitRecordServed } from '../../fixtures/dns.js';
import { stepState } from '../../fixtures/scenario.js';
import { budget } from '../../harness/budget.js';
import type { KubeObject } from '../../stacks/contracts.js';

const NAME = 'mx-web';
/** Where the scenario asks the PrismNet Northbound database. */
const CENTRAL = 'node01';
/** The control node whose balancer serves the Service's VIP. */
const LB_NODE = 'node03';
/** Where the tenant's client runs. */
const CLIENT = 'node06';
const FIRST = 'node04';
const SECOND = 'node05';
/** The Service's VIP (a spare cluster-network address) and port; the Pod listens on its PrismNet address at TARGET_PORT. */
const VIP = '10.100.0.242';
const PORT = 80;
const TARGET_PORT = 18080;
const REQUESTS = 4;
/** The Pods' tenant network: a PrismNet switch and router, and the gateway worker that routes it to the control plane. */
const SWITCH = 'mx-k8s';
const TENANT_GW = '10.253.0.1';
const TENANT_NET = '10.253.0.0/24';
const ROUTER = { name: 'mx-k8s', networks: [{ switch: SWITCH, address: `${TENANT_GW}/24` }] };
const GATEWAY = { router: ROUTER.name, transit: '10.253.254.0/24' };
const GW_WORKER = 'node04';
/** Each Pod version's logical port (fixed names, so a failed run's leftovers are found), MAC and tenant address. */
const NICS = {
  v1: { port: 'c8500000-0000-4000-8000-000000000001', mac: '52:54:00:c8:50:01', addr: '10.253.0.10' },
  v2: { port: 'c8500000-0000-4000-8000-000000000002', mac: '52:54:00:c8:50:02', addr: '10.253.0.11' },
};
type Version = keyof typeof NICS;

/**
 * The Pod of `version`, for `node` (Kubernetes' nodeName; podman plays it where it is given, and the page names it),
 * its network the version's PrismNet port (annotations, as a CNI plugin reads them).
 */
function pod(version: Version, node: string): KubeObject {
  const nic = NICS[version];
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: NAME,
      labels: { app: NAME },
      annotations: {
        'prismnet.ultracloud.io/port': nic.port,
        'prismnet.ultracloud.io/mac': nic.mac,
        'prismnet.ultracloud.io/address': `${nic.addr}/24`,
        'prismnet.ultracloud.io/gateway': TENANT_GW,
      },
    },
    spec: {
      nodeName: node,
      restartPolicy: 'Always',
      containers: [
        {
          name: 'web',
          image: 'localhost/ultracloud/busybox:1',
          env: [
            { name: 'VERSION', value: version },
            { name: 'NODE', value: node },
          ],
          // The page says which Pod version for which node answered.
          command: ['/bin/sh', '-c', `echo "${NAME} $VERSION $NODE" > /tmp/index.html; exec httpd -f -p ${TARGET_PORT} -h /tmp`],
        },
      ],
    },
  };
}

const SERVICE: KubeObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: NAME },
  spec: { selector: { app: NAME }, ports: [{ port: PORT, targetPort: TARGET_PORT }] },
};

const { prismnet: PN, fiberlb: LB, flashdns: DNS } = timing;
/**
 * Deadlines of this scenario, seconds. Measured under TCG, three runs with the PrismNet NIC: the whole file 102-106 s;
 * - PLAY_S: `podman kube play --replace` of the Pod and its NIC attached, its image already in the node's storage: 10-13 s (the op's own deadline);
 * - prismnet's bindS: the Pod's port bound to its node's chassis and up once apply returns: 0.3-0.6 s;
 * - READY_S: the played Pod running with its server answering the balancer's node through the gateway: 0.9-1.3 s;
 * - FOLLOW_S: the client sees only the new version through the VIP once the Service is synced: 1.5-2.1 s;
 * - UNBIND_S: a deleted logical port's Southbound binding gone (northd): 0.1-1.0 s;
 * - GATEWAY_S: ensureGateway or removeGateway with routes on three control nodes: about 5 s;
 * - DOWN_S: `podman kube down` of the Pod: about 5 s (the op's own deadline);
 * - flashdns's transferS: the name on the primary and both secondaries: 0.3-1.1 s.
 */
const PLAY_S = 240;
const GATEWAY_S = 60;
const UNBIND_S = 30;
const READY_S = 60;
const FOLLOW_S = 60;
const DOWN_S = 120;
const WORKERS = nodesOfKind('worker');
const FLASHDNS = clusterInfo.nodes.filter((n) => n.kind === 'control');
const CONTROL = nodesOfKind('control');
/** The steps that make what later steps need, by title (what to run). */
const STEP = {
  network: 'a PrismNet tenant switch with a router, and a gateway on node04 that routes it to the control plane',
  pod: 'a Pod and a Service (Kubernetes YAML) played by k8shost on node04, the Pod on a PrismNet port bound to node04',
  service: 'the Service is reachable through fiberlb by its flashdns name',
  replace: 'replacing the Pod (v2, on node05, a new PrismNet port) and the Service follows',
};

describe.sequential('k8s-bundle', () => {
  skipAfterFailedStep();
  const cleanup = async (cluster: TestCluster) => {
    const { k8shost, prismnet, fiberlb, flashdns } = cluster.ops;
    const central = cluster.node(CENTRAL);
    const steps: [string, () => Promise<void>][] = [
      ['fiberlb unpublish', () => fiberlb.unpublish(cluster.node(LB_NODE), NAME)],
      ['flashdns delete record', () => flashdns.deleteRecord(cluster.node(flashdns.primaryNode), NAME, 'A')],
      ...WORKERS.map((w): [string, () => Promise<void>] => [`k8shost remove on ${w}`, () => k8shost.remove(cluster.node(w), NAME)]),
      ['prismnet remove gateway', () => prismnet.removeGateway(central, cluster.node(GW_WORKER), GATEWAY, CONTROL.map((n) => cluster.node(n)))],
      ['prismnet delete router', () => prismnet.deleteRouter(central, ROUTER.name)],
      ...Object.values(NICS).map((nic): [string, () => Promise<void>] => [`prismnet delete port ${nic.port}`, () => prismnet.deletePort(central, nic.port)]),
      ['prismnet delete switch', () => prismnet.deleteSwitch(central, SWITCH)],
    ];
    const errors: string[] = [];
    for (const [what, step] of steps) await step().catch((e: Error) => errors.push(`${what}: ${e.message}`));
    if (errors.length) throw new Error(`k8s-bundle cleanup:\n${errors.join('\n')}`);
  };

  /** The Service's endpoints as the workers run them, made fiberlb's backends behind the VIP; returns them. */
  const syncService = async (cluster: TestCluster) => {
    const { k8shost, fiberlb } = cluster.ops;
    const endpoints = await k8shost.endpoints(WORKERS.map((w) => cluster.node(w)), SERVICE);
    await fiberlb.publish(cluster.node(LB_NODE), {
      name: NAME,
      vip: VIP,
      port: PORT,
      backends: endpoints.map((e) => ({ name: `${e.node}-${e.port}`, address: e.address, port: e.port })),
    });
    return endpoints;
  };

  /**
   * The Pod of `version` on `node` on the PrismNet: its logical port bound to `node`'s chassis and up, eth0 in
   * its namespace with the port's address, and the Pod running with its server answering the balancer's node
   * at its tenant address (cluster network, the gateway on node04, the router, the switch; Geneve to node05).
   */
  const waitReady = async (cluster: TestCluster, expect: ExpectStatic, node: string, version: Version) => {
    const { k8shost, prismnet, fiberlb } = cluster.ops;
    const nic = NICS[version];
    await cluster.eventually(`${nic.port} (Pod ${NAME} ${version}) bound to ${node} and up`, prismnet.timing.bindS, async () => {
      const b = await prismnet.binding(cluster.node(CENTRAL), nic.port);
      return { ok: b?.chassis === node && b.up, seen: JSON.stringify(b ?? 'no binding') };
    }, { node });
    expect(await prismnet.portInterface(cluster.node(node), nic.port), `the OVS port of ${nic.port} on ${node}`).toMatch(/^ucp-/);
    expect(await k8shost.nic(cluster.node(node), NAME), `eth0 of Pod ${NAME} on ${node}`).toEqual({ address: `${nic.addr}/24`, mac: nic.mac, mtu: 1400, gateway: TENANT_GW });
    await cluster.eventually(`Pod ${NAME} ${version} running on ${node} and serving ${LB_NODE} at ${nic.addr}`, READY_S, async () => {
      const state = await k8shost.state(cluster.node(node), NAME);
      const [r] = await fiberlb.httpGet(cluster.node(LB_NODE), nic.addr, TARGET_PORT, 1);
      return { ok: state === 'Running' && r?.body === `${NAME} ${version} ${node}`, seen: `state ${state ?? 'absent'}; answer ${JSON.stringify(r)}` };
    }, { node: LB_NODE });
  };

  /** No trace of a Pod version's port: not in the Northbound switch, no Southbound binding, no OVS port on either worker. */
  const expectPortGone = async (cluster: TestCluster, expect: ExpectStatic, version: Version) => {
    const { prismnet } = cluster.ops;
    const nic = NICS[version];
    expect(await prismnet.ports(cluster.node(CENTRAL), SWITCH), `logical ports of ${SWITCH}`).not.toContain(nic.port);
    for (const w of WORKERS) expect(await prismnet.portInterface(cluster.node(w), nic.port), `OVS port of ${nic.port} on ${w}`).toBeUndefined();
    // northd removes the binding once it has seen the Northbound change.
    await cluster.eventually(`no Southbound binding of ${nic.port}`, UNBIND_S, async () => {
      const b = await prismnet.binding(cluster.node(CENTRAL), nic.port);
      return { ok: b === undefined, seen: JSON.stringify(b) };
    }, { node: CENTRAL });
  };

  let clusterRef: TestCluster | undefined;
  /** Containers and br-int ports on each worker before the scenario made anything (podman names a Pod's infra container by its id), with the tenant network made in this run. */
  const network = stepState<Record<string, { containers: string[]; ovsPorts: string[] }>>(STEP.network);
  /** Pod v1 running on its PrismNet port, in this run. */
  const podV1 = stepState<true>(STEP.pod);
  /** The Service published in this run: the name flashdns serves for its VIP. */
  const service = stepState<{ fqdn: string; vip: string }>(STEP.service);
  /** Pod v2 running on the other worker, the Service following it, in this run. */
  const replaced = stepState<true>(STEP.replace);

  test(STEP.network, { timeout: budget(DOWN_S * 2, GATEWAY_S) }, async ({ cluster, expect }) => {
    network.begin();
    clusterRef = cluster;
    await cleanup(cluster);
    const { k8shost, prismnet } = cluster.ops;
    const before: Record<string, { containers: string[]; ovsPorts: string[] }> = {};
    for (const w of WORKERS) before[w] = { containers: await k8shost.containers(cluster.node(w)), ovsPorts: await prismnet.ovsPorts(cluster.node(w)) };
    const central = cluster.node(CENTRAL);
    await prismnet.createSwitch(central, SWITCH);
    await prismnet.ensureRouter(central, ROUTER);
    await prismnet.ensureGateway(central, cluster.node(GW_WORKER), GATEWAY, CONTROL.map((n) => cluster.node(n)));
    expect(await prismnet.routers(central)).toContain(ROUTER.name);
    for (const n of CONTROL) {
      expect(await prismnet.gatewayRoutes(cluster.node(n)), `gateway routes on ${n}`).toContainEqual({ cidr: TENANT_NET, via: cluster.node(GW_WORKER).spec.clusterIp });
    }
    network.set(before);
  });

  test(STEP.pod, { timeout: budget(PLAY_S, PN.bindS, READY_S) }, async ({ cluster, expect, skip }) => {
    podV1.begin();
    network.need(skip);
    const { k8shost, prismnet } = cluster.ops;
    // The Pod's logical port, made in the Northbound database before the Pod is played (a Kubernetes network controller's job).
    await prismnet.createPort(cluster.node(CENTRAL), SWITCH, NICS.v1.port, NICS.v1.mac, NICS.v1.addr);
    await k8shost.apply(cluster.node(FIRST), NAME, [pod('v1', FIRST), SERVICE]);
    await waitReady(cluster, expect, FIRST, 'v1');
    expect(await k8shost.endpoints(WORKERS.map((w) => cluster.node(w)), SERVICE)).toEqual([{ node: FIRST, address: NICS.v1.addr, port: TARGET_PORT }]);
    podV1.set(true);
  });

  test(STEP.service, { timeout: budget(LB.reloadS, LB.failoverS, DNS.transferS) }, async ({ cluster, expect, signal, skip }) => {
    service.begin();
    podV1.need(skip);
    const { fiberlb, flashdns } = cluster.ops;
    await syncService(cluster);
    const fqdn = await flashdns.createRecord(cluster.node(flashdns.primaryNode), NAME, 'A', VIP);
    const client = cluster.node(CLIENT);
    await waitRecordServed(flashdns, client, FLASHDNS, fqdn, 'A', VIP, { timeoutMs: flashdns.timing.transferS * 1000, signal });
    const secondary = FLASHDNS.find((n) => n.name !== flashdns.primaryNode)!;
    const vip = await resolveOne(flashdns, client, secondary, fqdn, 'A');
    expect(vip, `${fqdn} from ${secondary.name}`).toBe(VIP);
    // The backend passes its health check, then every request is answered by the Pod.
    await cluster.eventually(`${fqdn} (${vip}) answered by ${NAME} v1 on ${FIRST}`, LB.failoverS, async () => {
      const answers = await fiberlb.httpGet(client, vip, PORT, REQUESTS);
      return { ok: answers.every((a) => a.status === 200 && a.body === `${NAME} v1 ${FIRST}`), seen: JSON.stringify(answers) };
    }, { node: CLIENT });
    service.set({ fqdn, vip });
  });

  test(STEP.replace, { timeout: budget(DOWN_S, UNBIND_S, PLAY_S, PN.bindS, READY_S, LB.reloadS, FOLLOW_S) }, async ({ cluster, expect, skip }) => {
    replaced.begin();
    const { fqdn } = service.need(skip);
    const { k8shost, prismnet, fiberlb, flashdns } = cluster.ops;
    const central = cluster.node(CENTRAL);
    await k8shost.remove(cluster.node(FIRST), NAME);
    await prismnet.deletePort(central, NICS.v1.port);
    await expectPortGone(cluster, expect, 'v1');
    await prismnet.createPort(central, SWITCH, NICS.v2.port, NICS.v2.mac, NICS.v2.addr);
    await k8shost.apply(cluster.node(SECOND), NAME, [pod('v2', SECOND), SERVICE]);
    await waitReady(cluster, expect, SECOND, 'v2');
    const endpoints = await syncService(cluster);
    expect(endpoints).toEqual([{ node: SECOND, address: NICS.v2.addr, port: TARGET_PORT }]);
    // The client finds the Service by its name, as before the replacement.
    const vip = await resolveOne(flashdns, cluster.node(CLIENT), FLASHDNS[0], fqdn, 'A');
    await cluster.eventually(`${NAME} (${vip}) answered by v2 on ${SECOND} only`, FOLLOW_S, async () => {
      const answers = await fiberlb.httpGet(cluster.node(CLIENT), vip, PORT, REQUESTS);
      return { ok: answers.every((a) => a.status === 200 && a.body === `${NAME} v2 ${SECOND}`), seen: JSON.stringify(answers) };
    }, { node: CLIENT });
    const pool = await fiberlb.pool(cluster.node(LB_NODE), NAME);
    expect(pool.map((m) => m.member), 'LB backends after the replacement').toEqual([`${SECOND}-${TARGET_PORT}`]);
    expect(await k8shost.pods(cluster.node(FIRST)), `pods on ${FIRST}`).not.toContain(NAME);
    replaced.set(true);
  });

  test('deleting the Pod and the Service leaves no container, pod, logical port, OVS port, binding, LB backend or record', { timeout: budget(DOWN_S, UNBIND_S * 2, LB.reloadS, DNS.transferS, GATEWAY_S) }, async ({ cluster, expect, signal, skip }) => {
    replaced.need(skip);
    const before = network.need(skip);
    const { fqdn, vip } = service.need(skip);
    const { k8shost, prismnet, fiberlb, flashdns } = cluster.ops;
    const central = cluster.node(CENTRAL);
    const client = cluster.node(CLIENT);
    // Each "gone" below is news only if the thing is there now: the Pod v2, its port, the LB service and the name on every server.
    expect(await k8shost.pods(cluster.node(SECOND)), `pods on ${SECOND} before the delete`).toContain(NAME);
    expect(await prismnet.ports(central, SWITCH), `logical ports of ${SWITCH} before the delete`).toContain(NICS.v2.port);
    expect(await fiberlb.services(cluster.node(LB_NODE)), `services of the balancer on ${LB_NODE} before the delete`).toContain(NAME);
    await expectRecordServed(flashdns, client, FLASHDNS, fqdn, 'A', vip, 'right before the delete');
    await k8shost.remove(cluster.node(SECOND), NAME);
    await prismnet.deletePort(central, NICS.v2.port);
    expect(await k8shost.endpoints(WORKERS.map((w) => cluster.node(w)), SERVICE), 'endpoints once the Pod is gone').toEqual([]);
    await fiberlb.unpublish(cluster.node(LB_NODE), NAME);
    await flashdns.deleteRecord(cluster.node(flashdns.primaryNode), NAME, 'A');
    // Strict getters: each throws when podman, OVN, OVS or the balancer does not answer.
    for (const version of ['v1', 'v2'] as const) await expectPortGone(cluster, expect, version);
    expect(await prismnet.ports(central, SWITCH), `logical ports of ${SWITCH} but the router's`).toEqual([`lsp-${ROUTER.name}-${SWITCH}`]);
    // The tenant network goes too: the cluster is left as the scenario found it.
    await prismnet.removeGateway(central, cluster.node(GW_WORKER), GATEWAY, CONTROL.map((n) => cluster.node(n)));
    await prismnet.deleteRouter(central, ROUTER.name);
    await prismnet.deleteSwitch(central, SWITCH);
    expect(await prismnet.routers(central), 'logical routers').not.toContain(ROUTER.name);
    expect(await prismnet.switches(central), 'logical switches').not.toContain(SWITCH);
    for (const n of CONTROL) expect(await prismnet.gatewayRoutes(cluster.node(n)), `gateway routes on ${n}`).not.toContainEqual(expect.objectContaining({ cidr: TENANT_NET }));
    for (const w of WORKERS) {
      expect(await k8shost.pods(cluster.node(w)), `pods on ${w}`).not.toContain(NAME);
      const had = before[w];
      if (!had) throw new Error(`no record of ${w} before the scenario: the first step records each worker`);
      const left = (await k8shost.containers(cluster.node(w))).filter((c) => !had.containers.includes(c));
      expect(left, `containers on ${w} that were not there before the scenario (had: ${had.containers.join(', ') || 'none'})`).toEqual([]);
      const ports = (await prismnet.ovsPorts(cluster.node(w))).filter((p) => !had.ovsPorts.includes(p));
      expect(ports, `br-int ports on ${w} that were not there before the scenario (had: ${had.ovsPorts.join(', ') || 'none'})`).toEqual([]);
    }
    expect(await fiberlb.services(cluster.node(LB_NODE)), `services of the balancer on ${LB_NODE}`).not.toContain(NAME);
    // NXDOMAIN (or NOERROR without a record) from each server; SERVFAIL, REFUSED or no reply fails at once, naming the server.
    await waitRecordGone(flashdns, client, FLASHDNS, fqdn, 'A', { timeoutMs: flashdns.timing.transferS * 1000, signal });
  });

  afterAll(async () => {
    if (clusterRef) await cleanup(clusterRef);
  });
});
