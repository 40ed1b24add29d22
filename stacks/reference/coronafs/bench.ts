/**
 * coronafs's storage-bench operations: fio (Debian `fio`, whose nbd engine
 * is libnbd) against a scratch file on the node's disk or against a
 * volume's NBD export; whole-export writes and reads with qemu-img over
 * NBD; and, for the local cache x aio matrix, one qemu-storage-daemon in a
 * transient systemd unit serving a scratch volume on the node's loopback.
 */
import { NodeError } from '../../../harness/errors.js';
import type { Node } from '../../../harness/remote/node.js';
import type { CoronafsBenchOps, ExportMode, FioJob, FioResult, FioTarget, NbdExport } from '../../contracts.js';
import { iperf3 } from '../netbench.js';

/** Scratch space of the bench on a node's own disk (not tmpfs). */
const SCRATCH = '/var/tmp/ultracloud-bench/coronafs';
/** The local matrix's export: loopback only, a port above the volume ports (10810-10899). */
const MATRIX_PORT = 10909;
const MATRIX_UNIT = 'ultracloud-bench-export';

const nbdUrl = (e: NbdExport) => `nbd://${e.host}:${e.port}/${e.name}`;
const checkName = (n: string) => {
  if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(n)) throw new Error(`coronafs bench: bad name ${JSON.stringify(n)}`);
  return n;
};

/** fio's command line for a job on a target (pure). */
export function fioCommand(target: FioTarget, job: FioJob, output: string): string {
  checkName(job.name);
  const args = [
    'fio',
    `--name=${job.name}`,
    `--rw=${job.rw}`,
    `--bs=${job.blockSize}`,
    `--iodepth=${job.iodepth}`,
    `--size=${job.sizeMiB}M`,
    ...(job.runtimeS ? [`--runtime=${job.runtimeS}`, '--time_based'] : []),
    ...(job.rw === 'write' ? ['--end_fsync=1'] : []),
    '--output-format=json',
    `--output=${output}`,
  ];
  if (target.kind === 'disk') args.push('--ioengine=libaio', '--direct=1', `--filename=${SCRATCH}/${checkName(target.name)}.dat`);
  else args.push('--ioengine=nbd', `--uri=${nbdUrl(target.export)}`);
  return args.join(' ');
}

/** fio's JSON report → throughput and IOPS of the job's direction; throws with fio's error. */
export function parseFio(json: string, rw: FioJob['rw']): FioResult {
  let doc: { jobs?: { error?: number; read?: FioSide; write?: FioSide }[] };
  try {
    doc = JSON.parse(json.slice(json.indexOf('{')));
  } catch {
    throw new Error(`fio: no JSON report: ${json.slice(0, 300)}`);
  }
  const job = doc.jobs?.[0];
  if (!job) throw new Error('fio: the report has no job');
  if (job.error) throw new Error(`fio: the job ended with error ${job.error}`);
  const side = rw === 'write' ? job.write : job.read;
  if (!side || !(side.io_bytes > 0)) throw new Error(`fio: the job moved no bytes (${rw})`);
  return { mibPerS: side.bw_bytes / 1048576, iops: side.iops, seconds: side.runtime / 1000 };
}
interface FioSide {
  io_bytes: number;
  bw_bytes: number;
  iops: number;
  runtime: number;
}

/** qemu-storage-daemon's file blockdev options for a mode (pure). */
export function modeOptions(mode: ExportMode): string {
  const direct = mode.cache === 'none' ? 'on' : 'off';
  const noFlush = mode.cache === 'unsafe' ? 'on' : 'off';
  return `cache.direct=${direct},cache.no-flush=${noFlush},aio=${mode.aio}`;
}

/** Shell: times `cmd` on the node's clock; prints `seconds=` after it. */
const timed = (cmd: string) => `t0=$(date +%s.%N); ${cmd}; t1=$(date +%s.%N); echo "seconds=$(awk "BEGIN{print $t1 - $t0}")"`;

function field(out: string, key: string, node: string, what: string): string {
  const m = new RegExp(`^${key}=(\\S+)$`, 'm').exec(out);
  if (!m) throw new NodeError(node, `coronafs bench: ${what} printed no ${key}`, { lastSeen: out.slice(-600) });
  return m[1];
}

export const coronafsBench: CoronafsBenchOps = {
  network: iperf3,
  async fio(node, target, job) {
    const out = `${SCRATCH}/fio-${job.name}.json`;
    const budgetS = (job.runtimeS ?? 0) + 600;
    const r = await node.execute(`mkdir -p ${SCRATCH} && rm -f ${out} && ${fioCommand(target, job, out)} >${out}.log 2>&1; rc=$?; cat ${out} 2>/dev/null; echo; echo "fio-exit=$rc"; tail -5 ${out}.log`, budgetS * 1000);
    const where = target.kind === 'disk' ? `${node.name}'s disk` : nbdUrl(target.export);
    const rc = /fio-exit=(\d+)/.exec(r.stdout)?.[1];
    if (r.code !== 0 || rc !== '0') throw new NodeError(node.name, `fio ${job.name} on ${where} failed (fio exit ${rc ?? '?'})`, { lastSeen: `${r.stdout}${r.stderr}`.trim().slice(-1200) });
    try {
      return parseFio(r.stdout.slice(0, r.stdout.lastIndexOf('fio-exit=')), job.rw);
    } catch (e) {
      throw new NodeError(node.name, `fio ${job.name} on ${where}: ${(e as Error).message}`, { lastSeen: r.stdout.slice(-800) });
    }
  },
  async cleanDisk(node) {
    await node.succeed(`rm -rf ${SCRATCH}`);
  },
  async writeRandom(via, exp, sizeMiB) {
    const src = `${SCRATCH}/random-${checkName(exp.name)}.bin`;
    const out = await via
      .succeed(
        [
          `set -e; mkdir -p ${SCRATCH}; head -c ${sizeMiB}M /dev/urandom > ${src}; echo "sha256=$(sha256sum ${src} | cut -d' ' -f1)";`,
          // -n: the export is there (no create); the random bytes have no zero blocks to skip.
          timed(`qemu-img convert -n -f raw -O raw ${src} '${nbdUrl(exp)}'`) + `; rm -f ${src}`,
        ].join(' '),
        600_000,
      )
      .catch((e: Error) => {
        throw new NodeError(via.name, `coronafs bench: writing ${sizeMiB} MiB to ${nbdUrl(exp)} failed`, { lastSeen: e.message.slice(-1200) });
      });
    return { sha256: field(out, 'sha256', via.name, 'the write'), seconds: Number(field(out, 'seconds', via.name, 'the write')) };
  },
  async readAll(via, exp) {
    const dst = `${SCRATCH}/read-${checkName(exp.name)}.bin`;
    const out = await via
      .succeed(
        `set -e; mkdir -p ${SCRATCH}; rm -f ${dst}; ${timed(`qemu-img convert -f raw -O raw '${nbdUrl(exp)}' ${dst}`)}; echo "bytes=$(stat -c %s ${dst})"; echo "sha256=$(sha256sum ${dst} | cut -d' ' -f1)"; rm -f ${dst}`,
        600_000,
      )
      .catch((e: Error) => {
        throw new NodeError(via.name, `coronafs bench: reading ${nbdUrl(exp)} failed`, { lastSeen: e.message.slice(-1200) });
      });
    return { sha256: field(out, 'sha256', via.name, 'the read'), bytes: Number(field(out, 'bytes', via.name, 'the read')), seconds: Number(field(out, 'seconds', via.name, 'the read')) };
  },
  exportModes: (['none', 'writeback', 'unsafe'] as const).flatMap((cache) => (['threads', 'native', 'io_uring'] as const).map((aio) => ({ cache, aio }))),
  async localExport(node, name, sizeMiB, mode) {
    const file = `${SCRATCH}/${checkName(name)}.raw`;
    await node.succeed(`systemctl stop ${MATRIX_UNIT} 2>/dev/null; systemctl reset-failed ${MATRIX_UNIT} 2>/dev/null; mkdir -p ${SCRATCH}; rm -f ${file}; truncate -s ${sizeMiB}M ${file}`);
    const close = async () => {
      await node.execute(`systemctl stop ${MATRIX_UNIT} 2>/dev/null; systemctl reset-failed ${MATRIX_UNIT} 2>/dev/null; rm -f ${file}`);
    };
    await node.succeed(
      `systemd-run --quiet --collect --unit=${MATRIX_UNIT} qemu-storage-daemon ` +
        `--blockdev driver=file,node-name=file0,filename=${file},${modeOptions(mode)} --blockdev driver=raw,node-name=vol0,file=file0 ` +
        `--nbd-server addr.type=inet,addr.host=127.0.0.1,addr.port=${MATRIX_PORT} --export type=nbd,id=exp0,node-name=vol0,name=${name},writable=on`,
    );
    const exp: NbdExport = { host: '127.0.0.1', port: MATRIX_PORT, name };
    // Up (lists the export) or refused (the unit ended: QEMU's words are in its journal).
    const deadline = Date.now() + 60_000;
    for (;;) {
      const r = await node.execute(`qemu-nbd -L -b 127.0.0.1 -p ${MATRIX_PORT} 2>/dev/null | grep -qF "export: '${name}'" && echo up || systemctl is-active ${MATRIX_UNIT}`);
      const state = r.stdout.trim();
      if (state === 'up') return { export: exp, close };
      if (state !== 'active' && state !== 'activating') {
        // QEMU's refusal is the unit's last words in the journal (give journald a moment to store them).
        const words = await node.execute(`for i in 1 2 3 4 5; do w=$(journalctl -q -o cat --no-pager -n 20 -u ${MATRIX_UNIT}.service 2>/dev/null | grep '^qemu-storage-daemon:' | tail -1); [ -n "$w" ] && break; sleep 1; done; echo "$w"`);
        await close();
        return { unsupported: words.stdout.trim() || `the export server ended (${state}) without a message` };
      }
      if (Date.now() > deadline) {
        await close();
        throw new NodeError(node.name, `coronafs bench: the ${modeOptions(mode)} export did not answer within 60 s`, { lastSeen: state });
      }
      await new Promise((res) => setTimeout(res, 500));
    }
  },
};
