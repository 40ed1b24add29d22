/**
 * lightningstor: S3 object storage = OpenStack Swift 2.30 with the s3api
 * middleware (tempauth): proxies on the control nodes (port 8080, with a
 * local memcached), account/container/object servers on the workers, one
 * ring over the workers with 2 replicas. See README.md beside this.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DeleteBucketCommand, DeleteObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import type { LightningstorOps } from '../../contracts.js';
import { expectPorts } from '../probes.js';
import { lightningstorBench } from './bench.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const PROXY_PORT = 8080;
/** The tempauth identity (account:user) whose secret is the cluster secret (README.md). */
const ACCESS_KEY = 'ultracloud:smoke';
/** A download's deadline (a few MB from a proxy under TCG: seconds). */
const DOWNLOAD_S = 120;
/** A started proxy to its first healthy answer (Python start under TCG: seconds). */
const PROXY_START_S = 120;

/** Bucket and key as they may go into a URL path and a shell word unquoted. */
export function objectPath(bucket: string, key: string): string {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new Error(`lightningstor: bad bucket name ${JSON.stringify(bucket)}`);
  if (!/^[A-Za-z0-9._-][A-Za-z0-9._/-]*$/.test(key) || key.includes('..')) throw new Error(`lightningstor: key ${JSON.stringify(key)} must be [A-Za-z0-9._/-]`);
  return `/${bucket}/${key}`;
}

/**
 * The shell command a node runs to GET an object over S3: curl's own AWS
 * Signature v4 (the s3api middleware wants x-amz-content-sha256 on every
 * request; an empty GET body is UNSIGNED-PAYLOAD), credentials from a netrc
 * made from the node's copy of the cluster secret (never on a command
 * line: the access key holds a colon, which --user cannot carry). Prints
 * `bytes=` and `sha256=` on success; on failure the HTTP status and the
 * start of the S3 error document, exit 1.
 */
export function s3GetCommand(proxyIp: string, bucket: string, key: string, dest: string): string {
  const url = `http://${proxyIp}:${PROXY_PORT}${objectPath(bucket, key)}`;
  return [
    `set -u; umask 077; netrc=$(mktemp); part='${dest}.part'; mkdir -p "$(dirname '${dest}')";`,
    `printf 'machine %s login %s password %s\\n' ${proxyIp} '${ACCESS_KEY}' "$(cat /run/ultracloud/secret)" > "$netrc";`,
    `code=$(curl -sS -m ${DOWNLOAD_S} --netrc-file "$netrc" --aws-sigv4 aws:amz:us-east-1:s3 -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' -o "$part" -w '%{http_code}' '${url}'); rc=$?; rm -f "$netrc";`,
    `if [ "$rc" -ne 0 ] || [ "$code" != 200 ]; then echo "GET ${url}: curl exit $rc, HTTP $code"; head -c 600 "$part" 2>/dev/null; rm -f "$part"; exit 1; fi;`,
    `chmod 0644 "$part"; mv -f "$part" '${dest}'; echo "bytes=$(stat -c %s '${dest}')"; echo "sha256=$(sha256sum '${dest}' | cut -d' ' -f1)"`,
  ].join(' ');
}

export const lightningstorOps: LightningstorOps = {
  /** An S3 client for the proxy on `node`, over an SSH-forwarded channel to its port 8080. */
  async s3(node) {
    // The SDK warns on every run that releases after January 2027 will need Node 22; the locked version works on 20.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
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
  async objectKeys(node, bucket) {
    const s3 = await lightningstorOps.s3(node);
    try {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token })).catch((e: Error) => {
          if (e.name === 'NoSuchBucket') return undefined;
          throw new NodeError(node.name, `lightningstor: listing bucket ${bucket} through the proxy on ${node.name}: ${e.name}: ${e.message}`);
        });
        if (!page) return undefined;
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
      return keys;
    } finally {
      await s3.close();
    }
  },
  async emptyBucket(node, bucket, andBucket) {
    const keys = await lightningstorOps.objectKeys(node, bucket);
    if (!keys) return;
    const s3 = await lightningstorOps.s3(node);
    try {
      for (const key of keys) await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      if (andBucket) await s3.client.send(new DeleteBucketCommand({ Bucket: bucket }));
    } finally {
      await s3.close();
    }
  },
  async download(via, proxy, bucket, key, dest) {
    if (!/^\/[\w./-]+$/.test(dest)) throw new Error(`lightningstor: bad destination ${JSON.stringify(dest)}`);
    const r = await via.execute(s3GetCommand(proxy.spec.clusterIp, bucket, key, dest), (DOWNLOAD_S + 30) * 1000);
    const bytes = /^bytes=(\d+)$/m.exec(r.stdout);
    const sha256 = /^sha256=([0-9a-f]{64})$/m.exec(r.stdout);
    if (r.code !== 0 || !bytes || !sha256) {
      throw new NodeError(via.name, `lightningstor: S3 GET of ${bucket}/${key} from the proxy on ${proxy.name} failed`, { lastSeen: `${r.stdout}${r.stderr}`.trim().slice(0, 1000) });
    }
    return { bytes: Number(bytes[1]), sha256: sha256[1] };
  },
  bench: lightningstorBench,
  async stopProxy(node) {
    await node.succeed('systemctl stop swift-proxy.service', 120_000);
  },
  async startProxy(node) {
    await node.succeed('systemctl start swift-proxy.service', 120_000);
    await node.waitUntilSucceeds(`curl -sf -m 10 http://${node.spec.clusterIp}:${PROXY_PORT}/healthcheck | grep -qx OK`, PROXY_START_S * 1000, 2000);
  },
};

export const lightningstor: Role = {
  name: 'lightningstor',
  description: 'OpenStack Swift + s3api: proxies on the control plane, storage servers (2 replicas) on the workers',
  hostedOn: (n) => n.kind === 'control' || n.kind === 'worker',
  image: {
    // s3cmd: the storage bench's S3 client (bench.ts).
    packages: ['swift-proxy', 'swift-account', 'swift-container', 'swift-object', 'memcached', 's3cmd'],
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
