/**
 * lightningstor's storage-bench operations: a real S3 client on the client
 * node (Debian `s3cmd`, Signature v4, path-style requests to the proxy's
 * cluster address), with credentials from the node's copy of the cluster
 * secret in a 0600 config on tmpfs. Objects are staged as random files on
 * the client's disk; `parallel` streams each move a share of the set with
 * their own s3cmd process; times are taken on the client's clock.
 */
import { NodeError } from '../../../harness/errors.js';
import type { Node } from '../../../harness/remote/node.js';
import type { LightningstorBenchOps, ObjectSet, S3Transfer } from '../../contracts.js';
import { iperf3 } from '../netbench.js';

const PROXY_PORT = 8080;
const ACCESS_KEY = 'ultracloud:smoke';
const STAGE = '/var/tmp/ultracloud-bench/s3';
const CONFIG = '/run/ultracloud-bench/s3cfg';
/** Deadline of one transfer of a whole set (under TCG: about 1 MiB/s up). */
const TRANSFER_S = 1800;

const checkName = (what: string, n: string) => {
  if (!/^[a-z0-9][a-z0-9-]{1,40}[a-z0-9]$/.test(n)) throw new Error(`lightningstor bench: bad ${what} ${JSON.stringify(n)}`);
  return n;
};

/** Object names of a set (pure): <set>/o00, o01, ... */
export function objectNames(set: ObjectSet): string[] {
  checkName('set name', set.name);
  return Array.from({ length: set.count }, (_, i) => `o${String(i).padStart(2, '0')}`);
}

/** Splits names into `parallel` streams, round robin (pure); no empty stream. */
export function streams(names: string[], parallel: number): string[][] {
  if (!Number.isInteger(parallel) || parallel < 1) throw new Error(`lightningstor bench: bad parallelism ${parallel}`);
  const out: string[][] = Array.from({ length: Math.min(parallel, names.length) }, () => []);
  names.forEach((n, i) => out[i % out.length].push(n));
  return out;
}

/** The s3cmd config: path-style (host_bucket without %(bucket)s), plain HTTP, Signature v4 (pure; the secret comes from a shell word). */
export function s3cfgScript(proxyIp: string): string {
  return [
    `umask 077; mkdir -p ${CONFIG.slice(0, CONFIG.lastIndexOf('/'))};`,
    `printf '[default]\\naccess_key = %s\\nsecret_key = %s\\nhost_base = %s\\nhost_bucket = %s\\nuse_https = False\\nsignature_v2 = False\\nbucket_location = us-east-1\\n'`,
    `'${ACCESS_KEY}' "$(cat /run/ultracloud/secret)" ${proxyIp}:${PROXY_PORT} ${proxyIp}:${PROXY_PORT} > ${CONFIG};`,
  ].join(' ');
}

/** Shell: `parallel` s3cmd processes, each moving its stream; prints seconds= on the node's clock, and the first failure's words. */
function transferScript(kind: 'put' | 'get', bucket: string, set: ObjectSet, parallel: number): string {
  const dir = `${STAGE}/${set.name}`;
  const jobs = streams(objectNames(set), parallel).map((names, i) => {
    const cmd =
      kind === 'put'
        ? `s3cmd -c ${CONFIG} --no-progress put ${names.map((n) => `${dir}/${n}`).join(' ')} s3://${bucket}/${set.name}/`
        : `s3cmd -c ${CONFIG} --no-progress --force get ${names.map((n) => `s3://${bucket}/${set.name}/${n}`).join(' ')} ${dir}/back/`;
    return `( ${cmd} > ${dir}/stream${i}.log 2>&1; echo $? > ${dir}/stream${i}.rc ) &`;
  });
  return [
    `set -u; mkdir -p ${dir}/back; rm -f ${dir}/stream*.rc ${dir}/stream*.log;`,
    kind === 'get' ? `rm -f ${dir}/back/*;` : '',
    't0=$(date +%s.%N);',
    ...jobs,
    'wait; t1=$(date +%s.%N);',
    `fail=0; for f in ${dir}/stream*.rc; do [ "$(cat $f)" = 0 ] || { fail=1; echo "stream $(basename $f .rc) failed (s3cmd exit $(cat $f)):"; tail -n 6 "\${f%.rc}.log"; }; done;`,
    '[ $fail = 0 ] || exit 1;',
    kind === 'get' ? `( cd ${dir} && sed 's#  #  back/#' sums | sha256sum --quiet -c - ) || { echo "downloaded objects differ from the uploaded files"; exit 1; };` : '',
    `echo "seconds=$(awk "BEGIN{print $t1 - $t0}")"`,
  ].join(' ');
}

async function transfer(kind: 'put' | 'get', client: Node, proxy: Node, bucket: string, set: ObjectSet, parallel: number): Promise<S3Transfer> {
  checkName('bucket', bucket);
  const r = await client.execute(`${s3cfgScript(proxy.spec.clusterIp)} ${transferScript(kind, bucket, set, parallel)}`, TRANSFER_S * 1000);
  const s = /^seconds=([\d.]+)$/m.exec(r.stdout);
  if (r.code !== 0 || !s) {
    const what = kind === 'put' ? 'upload' : 'download';
    throw new NodeError(client.name, `lightningstor bench: S3 ${what} of ${set.count} x ${set.sizeMiB} MiB (${parallel} streams) through the proxy on ${proxy.name} failed`, {
      lastSeen: `${r.stdout}${r.stderr}`.trim().slice(-1500),
    });
  }
  return { seconds: Number(s[1]), bytes: set.count * set.sizeMiB * 1048576, objects: set.count };
}

export const lightningstorBench: LightningstorBenchOps = {
  network: iperf3,
  async prepare(client, proxy, bucket, set) {
    checkName('bucket', bucket);
    const dir = `${STAGE}/${set.name}`;
    const names = objectNames(set);
    const r = await client.execute(
      [
        `set -eu; rm -rf ${dir}; mkdir -p ${dir}/back; cd ${dir};`,
        `for n in ${names.join(' ')}; do head -c ${set.sizeMiB}M /dev/urandom > $n; done;`,
        `sha256sum ${names.join(' ')} > sums;`,
        s3cfgScript(proxy.spec.clusterIp),
        // mb of an existing bucket of ours is an error s3cmd words as BucketAlreadyOwnedByYou / exists: fine.
        `s3cmd -c ${CONFIG} mb s3://${bucket} 2>&1 | grep -v 'already' || true; s3cmd -c ${CONFIG} ls s3://${bucket} >/dev/null`,
      ].join(' '),
      600_000,
    );
    if (r.code !== 0) throw new NodeError(client.name, `lightningstor bench: bucket ${bucket} through the proxy on ${proxy.name} is not usable`, { lastSeen: `${r.stdout}${r.stderr}`.trim().slice(-1200) });
  },
  upload: (client, proxy, bucket, set, parallel) => transfer('put', client, proxy, bucket, set, parallel),
  download: (client, proxy, bucket, set, parallel) => transfer('get', client, proxy, bucket, set, parallel),
  async cleanup(client, proxy, bucket) {
    checkName('bucket', bucket);
    await client.execute(`rm -rf ${STAGE}`);
    const r = await client.execute(
      `${s3cfgScript(proxy.spec.clusterIp)} if s3cmd -c ${CONFIG} ls s3://${bucket} >/dev/null 2>&1; then s3cmd -c ${CONFIG} --recursive --force del s3://${bucket} >/dev/null && s3cmd -c ${CONFIG} rb s3://${bucket}; fi; rc=$?; rm -f ${CONFIG}; exit $rc`,
      600_000,
    );
    if (r.code !== 0) throw new NodeError(client.name, `lightningstor bench: removing bucket ${bucket} through the proxy on ${proxy.name} failed`, { lastSeen: `${r.stdout}${r.stderr}`.trim().slice(-800) });
  },
};
