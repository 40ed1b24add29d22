/**
 * Protocol layer: for every role on every node that hosts it, its units are
 * active, its ports answer and a protocol-level probe passes (what each
 * probe asks is defined by the stack's role, e.g. etcd health and member
 * list, Redis PING and replication role, a DNS SOA over UDP and TCP).
 */
import crypto from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { describe } from 'vitest';
import { TestCluster, clusterInfo, test, timing } from '../../fixtures/cluster.js';
import { budget } from '../../harness/budget.js';
import { unitsOn } from '../../harness/stack.js';

const collected = new TestCluster(clusterInfo);
const layout = collected.roleHosts();
/**
 * Long deadlines inside a role's probes, one after the other, beyond plain
 * commands: plasmavmc's first libvirtd answer, fiberlb's 120 s request
 * loop, k8shost's kube down + play + marker wait + down (120 + 240 + 120 +
 * 120 s; stacks/reference/k8shost has no TIMING export for them yet).
 */
const PROBE_DEADLINES_S: Record<string, number[]> = {
  plasmavmc: [timing.plasmavmc.answerS],
  fiberlb: [120],
  k8shost: [120, 240, 120, 120],
};

describe.each(layout.map((l) => [l.role.name, l] as const))('%s', (_name, { role, nodes }) => {
  describe.concurrent.each(nodes)('on %s', (nodeName) => {
    test('units are active', async ({ cluster, expect }) => {
      const node = cluster.node(nodeName);
      const inactive = await node.inactiveUnits(unitsOn(role, node.spec));
      // The names in the message itself: a report shows the message, and Vitest shortens long array entries.
      expect(inactive, `${role.name} on ${nodeName}: inactive units: ${inactive.map((u) => u.split('\n')[0]).join('; ')}`).toEqual([]);
    });

    for (const probe of role.probes ?? []) {
      test(probe.name, { timeout: budget(...(PROBE_DEADLINES_S[role.name] ?? [])) }, async ({ cluster, signal }) => {
        await probe.run(cluster.node(nodeName).withSignal(signal));
      });
    }
  });
});

describe('lightningstor across proxies', () => {
  test('an object put over S3 through node01 is read back through node02', async ({ cluster, expect }) => {
    const { lightningstor } = cluster.ops;
    const bucket = `smoke-${crypto.randomBytes(4).toString('hex')}`;
    const body = `lightningstor ${crypto.randomBytes(16).toString('hex')}`;
    const [one, two] = [await lightningstor.s3(cluster.node('node01')), await lightningstor.s3(cluster.node('node02'))];
    try {
      await one.client.send(new CreateBucketCommand({ Bucket: bucket }));
      await one.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'hello.txt', Body: body }));
      const got = await two.client.send(new GetObjectCommand({ Bucket: bucket, Key: 'hello.txt' }));
      expect(await got.Body?.transformToString()).toBe(body);
      const listed = await two.client.send(new ListObjectsV2Command({ Bucket: bucket }));
      expect(listed.Contents?.map((o) => o.Key)).toEqual(['hello.txt']);
      await two.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'hello.txt' }));
      await two.client.send(new DeleteBucketCommand({ Bucket: bucket }));
    } finally {
      await one.close();
      await two.close();
    }
  });
});
