/**
 * k8s-bundle (k8shost + fiberlb + flashdns): a Pod and a Service, as
 * Kubernetes YAML, played by k8shost on a worker; the Service is reachable
 * through fiberlb by its flashdns name; replacing the Pod (a new version, on
 * the other worker) and the Service follows; deleting them leaves no
 * container, pod, LB backend or record. podman plays the Pod and ignores the
 * Service: what a Kubernetes endpoints controller and service proxy would do
 * is `syncService` below, from what podman really runs to fiberlb's
 * backends. Steps run in order and share state; whatever a failed run left
 * is removed before and after.
 */
import { afterAll, describe } from 'vitest';
import { TestCluster, clusterInfo, skipAfterFailedStep, test } from '../../fixtures/cluster.js';
import { budget } from '../../harness/budget.js';
import { waitFor } from '../../harness/wait.js';
import type { KubeObject } from '../../stacks/contracts.js';

const NAME = 'mx-web';
/** The control node whose balancer serves the Service's VIP. */
const LB_NODE = 'node03';
/** Where the tenant's client runs. */
const CLIENT = 'node06';
const FIRST = 'node04';
const SECOND = 'node05';
/** The Service's VIP (a spare cluster-network address) and port; the Pod listens on its node's network (hostNetwork) at TARGET_PORT. */
const VIP = '10.100.0.242';
const PORT = 80;
const TARGET_PORT = 18080;
const REQUESTS = 4;

/** The Pod of `version`, for `node` (Kubernetes' nodeName; podman plays it where it is given, and the page names it). */
function pod(version: string, node: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: NAME, labels: { app: NAME } },
    spec: {
      nodeName: node,
      hostNetwork: true,
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

const { k8shost: K8S, fiberlb: LB, flashdns: DNS } = new TestCluster(clusterInfo).ops;
/**
 * Deadlines of this scenario, seconds. Measured under TCG, four runs: the whole file 58-64 s;
 * - PLAY_S: `podman kube play --replace` of the Pod, its image already in the node's storage: about 8 s (the op's own deadline);
 * - READY_S: the played Pod running with its server answering on its node: 1.0-1.3 s;
 * - FOLLOW_S: the client sees only the new version through the VIP once the Service is synced: 1.3 s;
 * - DOWN_S: `podman kube down` of the Pod: about 5 s (the op's own deadline);
 * - flashdns's transferS: the name on the primary and both secondaries: 0.3-1.1 s.
 */
const PLAY_S = 240;
const READY_S = 60;
const FOLLOW_S = 60;
const DOWN_S = 120;
const WORKERS = [FIRST, SECOND];
const FLASHDNS = clusterInfo.nodes.filter((n) => n.kind === 'control');

describe.sequential('k8s-bundle', () => {
  skipAfterFailedStep();
  const cleanup = async (cluster: TestCluster) => {
    const { k8shost, fiberlb, flashdns } = cluster.ops;
    const steps: [string, () => Promise<void>][] = [
      ['fiberlb unpublish', () => fiberlb.unpublish(cluster.node(LB_NODE), NAME)],
      ['flashdns delete record', () => flashdns.deleteRecord(cluster.node(flashdns.primaryNode), NAME, 'A')],
      ...WORKERS.map((w): [string, () => Promise<void>] => [`k8shost remove on ${w}`, () => k8shost.remove(cluster.node(w), NAME)]),
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

  /** Pod running with its server answering on its node (from the node itself). */
  const waitReady = async (cluster: TestCluster, node: string, version: string, signal: AbortSignal) => {
    const { k8shost, fiberlb } = cluster.ops;
    await waitFor({ node, what: `Pod ${NAME} ${version} running and serving on ${node}`, timeoutMs: READY_S * 1000, signal }, async () => {
      const state = await k8shost.state(cluster.node(node), NAME);
      const [r] = await fiberlb.httpGet(cluster.node(node), cluster.node(node).spec.clusterIp, TARGET_PORT, 1);
      return { ok: state === 'Running' && r?.body === `${NAME} ${version} ${node}`, seen: `state ${state ?? 'absent'}; answer ${JSON.stringify(r)}` };
    });
  };

  let clusterRef: TestCluster | undefined;
  /** Containers on each worker before the scenario played anything (podman names a Pod's infra container by its id). */
  const before: Record<string, string[]> = {};

  test('a Pod and a Service (Kubernetes YAML) played by k8shost on node04', { timeout: budget(DOWN_S * 2, PLAY_S, READY_S) }, async ({ cluster, expect, signal }) => {
    clusterRef = cluster;
    await cleanup(cluster);
    const { k8shost } = cluster.ops;
    for (const w of WORKERS) before[w] = await k8shost.containers(cluster.node(w));
    await k8shost.apply(cluster.node(FIRST), NAME, [pod('v1', FIRST), SERVICE]);
    await waitReady(cluster, FIRST, 'v1', signal);
    expect(await k8shost.endpoints(WORKERS.map((w) => cluster.node(w)), SERVICE)).toEqual([{ node: FIRST, address: cluster.node(FIRST).spec.clusterIp, port: TARGET_PORT }]);
  });

  test('the Service is reachable through fiberlb by its flashdns name', { timeout: budget(LB.timing.reloadS, LB.timing.failoverS, DNS.timing.transferS) }, async ({ cluster, expect, signal }) => {
    const { fiberlb, flashdns } = cluster.ops;
    await syncService(cluster);
    const fqdn = await flashdns.createRecord(cluster.node(flashdns.primaryNode), NAME, 'A', VIP);
    const client = cluster.node(CLIENT);
    for (const server of FLASHDNS) {
      await waitFor({ node: server.name, what: `${fqdn} A ${VIP} served by ${server.name}`, timeoutMs: flashdns.timing.transferS * 1000, signal }, async () => {
        const answers = await flashdns.query(client, server.clusterIp, fqdn, 'A', 'udp');
        return { ok: answers.length === 1 && answers[0] === VIP, seen: answers.join(' | ') || '(no answer)' };
      });
    }
    const secondary = FLASHDNS.find((n) => n.name !== flashdns.primaryNode)!;
    const [vip] = await flashdns.query(client, secondary.clusterIp, fqdn, 'A', 'udp');
    expect(vip, `${fqdn} from ${secondary.name}`).toBe(VIP);
    // The backend passes its health check, then every request is answered by the Pod.
    await waitFor({ node: CLIENT, what: `${fqdn} (${vip}) answered by ${NAME} v1 on ${FIRST}`, timeoutMs: LB.timing.failoverS * 1000, signal }, async () => {
      const answers = await fiberlb.httpGet(client, vip, PORT, REQUESTS);
      return { ok: answers.every((a) => a.status === 200 && a.body === `${NAME} v1 ${FIRST}`), seen: JSON.stringify(answers) };
    });
  });

  test('replacing the Pod (v2, on node05) and the Service follows', { timeout: budget(DOWN_S, PLAY_S, READY_S, LB.timing.reloadS, FOLLOW_S) }, async ({ cluster, expect, signal }) => {
    const { k8shost, fiberlb } = cluster.ops;
    await k8shost.remove(cluster.node(FIRST), NAME);
    await k8shost.apply(cluster.node(SECOND), NAME, [pod('v2', SECOND), SERVICE]);
    await waitReady(cluster, SECOND, 'v2', signal);
    const endpoints = await syncService(cluster);
    expect(endpoints).toEqual([{ node: SECOND, address: cluster.node(SECOND).spec.clusterIp, port: TARGET_PORT }]);
    const [vip] = await cluster.ops.flashdns.query(cluster.node(CLIENT), FLASHDNS[0].clusterIp, `${NAME}.${cluster.ops.flashdns.zone}.`, 'A', 'udp');
    await waitFor({ node: CLIENT, what: `${NAME} (${vip}) answered by v2 on ${SECOND} only`, timeoutMs: FOLLOW_S * 1000, signal }, async () => {
      const answers = await fiberlb.httpGet(cluster.node(CLIENT), vip, PORT, REQUESTS);
      return { ok: answers.every((a) => a.status === 200 && a.body === `${NAME} v2 ${SECOND}`), seen: JSON.stringify(answers) };
    });
    const pool = await fiberlb.pool(cluster.node(LB_NODE), NAME);
    expect(pool.map((m) => m.member), 'LB backends after the replacement').toEqual([`${SECOND}-${TARGET_PORT}`]);
    expect(await k8shost.pods(cluster.node(FIRST)), `pods on ${FIRST}`).not.toContain(NAME);
  });

  test('deleting the Pod and the Service leaves no container, pod, LB backend or record', { timeout: budget(DOWN_S, LB.timing.reloadS, DNS.timing.transferS) }, async ({ cluster, expect, signal }) => {
    const { k8shost, fiberlb, flashdns } = cluster.ops;
    await k8shost.remove(cluster.node(SECOND), NAME);
    expect(await k8shost.endpoints(WORKERS.map((w) => cluster.node(w)), SERVICE), 'endpoints once the Pod is gone').toEqual([]);
    await fiberlb.unpublish(cluster.node(LB_NODE), NAME);
    await flashdns.deleteRecord(cluster.node(flashdns.primaryNode), NAME, 'A');
    // Strict getters: each throws when podman or the balancer does not answer.
    for (const w of WORKERS) {
      expect(await k8shost.pods(cluster.node(w)), `pods on ${w}`).not.toContain(NAME);
      const left = (await k8shost.containers(cluster.node(w))).filter((c) => !before[w]?.includes(c));
      expect(left, `containers on ${w} that were not there before the scenario (had: ${before[w]?.join(', ') || 'none'})`).toEqual([]);
    }
    expect(await fiberlb.services(cluster.node(LB_NODE)), `services of the balancer on ${LB_NODE}`).not.toContain(NAME);
    const fqdn = `${NAME}.${flashdns.zone}.`;
    for (const server of FLASHDNS) {
      await waitFor({ node: server.name, what: `${fqdn} gone from ${server.name}`, timeoutMs: flashdns.timing.transferS * 1000, signal }, async () => {
        const answers = await flashdns.query(cluster.node(CLIENT), server.clusterIp, fqdn, 'A', 'udp');
        return { ok: answers.length === 0, seen: answers.join(' | ') };
      });
    }
  });

  afterAll(async () => {
    if (clusterRef) await cleanup(clusterRef);
  });
});
