/**
 * Protocol layer: for every role on every node that hosts it, its units are
 * active, its ports answer and a protocol-level probe passes (what each
 * probe asks is defined by the stack's role, e.g. etcd health and member
 * list, Redis PING and replication role, a DNS SOA over UDP and TCP).
 */
import { describe } from 'vitest';
import { TestCluster, clusterInfo, test } from '../../fixtures/cluster.js';
import { unitsOn } from '../../harness/stack.js';

const layout = new TestCluster(clusterInfo).roleHosts();

describe.each(layout.map((l) => [l.role.name, l] as const))('%s', (_name, { role, nodes }) => {
  describe.concurrent.each(nodes)('on %s', (nodeName) => {
    test('units are active', async ({ cluster, expect }) => {
      const node = cluster.node(nodeName);
      const inactive = await node.inactiveUnits(unitsOn(role, node.spec));
      expect(inactive, `${role.name} on ${nodeName}: inactive units`).toEqual([]);
    });

    for (const probe of role.probes ?? []) {
      test(probe.name, async ({ cluster }) => {
        await probe.run(cluster.node(nodeName));
      });
    }
  });
});
