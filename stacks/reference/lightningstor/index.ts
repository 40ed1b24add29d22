/**
 * lightningstor: S3 object storage = OpenStack Swift 2.30 with the s3api
 * middleware (tempauth): proxies on the control nodes (port 8080, with a
 * local memcached), account/container/object servers on the workers, one
 * ring over the workers with 2 replicas. See README.md beside this.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { S3Client } from '@aws-sdk/client-s3';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import type { LightningstorOps } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROXY_PORT = 8080;

export const lightningstorOps: LightningstorOps = {
  /** An S3 client for the proxy on `node`, over an SSH-forwarded channel to its port 8080. */
  async s3(node) {
    const secret = (await node.succeed('cat /run/ultracloud/secret')).trim();
    const fwd = await node.forward(PROXY_PORT);
    const client = new S3Client({
      endpoint: `http://127.0.0.1:${fwd.port}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'ultracloud:smoke', secretAccessKey: secret },
      maxAttempts: 2,
    });
    return {
      client,
      close: async () => {
        client.destroy();
        await fwd.close();
      },
    };
  },
};

export const lightningstor: Role = {
  name: 'lightningstor',
  description: 'OpenStack Swift + s3api: proxies on the control plane, storage servers (2 replicas) on the workers',
  hostedOn: (n) => n.kind === 'control' || n.kind === 'worker',
  image: {
    packages: ['swift-proxy', 'swift-account', 'swift-container', 'swift-object', 'memcached'],
    filesDir: path.join(here, 'files'),
    customizeScript: path.join(here, 'customize.sh'),
  },
  units: (n) =>
    n.kind === 'control'
      ? ['ultracloud-role-setup@lightningstor.service', 'memcached.service', 'swift-proxy.service']
      : ['ultracloud-role-setup@lightningstor.service', 'swift-account.service', 'swift-container.service', 'swift-object.service'],
  probes: [
    {
      name: 'Swift answers (proxy: /healthcheck on 8080; storage: account/container/object servers /healthcheck)',
      async run(node) {
        const ports = node.spec.kind === 'control' ? [PROXY_PORT] : [6200, 6201, 6202];
        await expectPorts('lightningstor', ports.map((port) => ({ proto: 'tcp' as const, port }))).run(node);
        for (const port of ports) {
          const r = await node.execute(`curl -s -m 20 http://${node.spec.clusterIp}:${port}/healthcheck`);
          if (r.stdout.trim() !== 'OK') throw new NodeError(node.name, `lightningstor: /healthcheck on port ${port} did not answer OK`, { lastSeen: `${r.stdout}${r.stderr}`.slice(0, 300) });
        }
      },
    },
  ],
  secrets: ['secret'],
  ops: lightningstorOps,
};
