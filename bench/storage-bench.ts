/**
 * The storage benchmark (`cluster bench-storage`, and its quick mode in
 * tests/bench/storage.test.ts): upstream's report sections in role verbs.
 * Each section runs N times, each figure is the median with min and max;
 * a section that fails measures nothing and says why (harness/bench).
 *
 * Nodes by role: the controller export and the S3 proxy on the first
 * control node (node01), fio and the node-local export on the first worker
 * (node04), cross-worker reads on the second (node05), the S3 client on
 * the third control node (node03).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderChart } from '../harness/bench/charts.js';
import { type Report, type ReportHeader, type SectionResult, type Table, renderReport } from '../harness/bench/report.js';
import { type SectionDef, runSections } from '../harness/bench/runner.js';
import { type Figure, mibPerS, summarize } from '../harness/bench/stats.js';
import { PROJECT_ROOT } from '../harness/config.js';
import { progress } from '../harness/log.js';
import type { Node } from '../harness/remote/node.js';
import type { ExportMode, FioJob, FioTarget, StackOps, Volume } from '../stacks/contracts.js';

/** What the bench needs of a cluster: its nodes by name and kind, the stack's role operations, each node's accelerator. */
export interface BenchCluster {
  nodes: { name: string; kind: string }[];
  node(name: string): Node;
  ops: StackOps;
  accel(): Promise<Record<string, string>>;
}

export interface BenchSizes {
  mode: 'full' | 'quick';
  runs: number;
  iperfS: number;
  /** Region and transfer of the fio jobs (MiB). */
  fioMiB: number;
  /** Duration of each random-read job (s). */
  fioRandS: number;
  /** Volume moved by materialization and the cross-worker write/read (MiB). */
  volumeMiB: number;
  bigObjectMiB: number;
  small: { count: number; sizeMiB: number };
  parallel: number;
}

/** The issue's sizes: 256 MiB object, 32 x 4 MiB objects with 8 parallel jobs. */
export const FULL: BenchSizes = { mode: 'full', runs: 3, iperfS: 10, fioMiB: 128, fioRandS: 10, volumeMiB: 64, bigObjectMiB: 256, small: { count: 32, sizeMiB: 4 }, parallel: 8 };
/** Tiny sizes, one run each: proves every section produces a figure. */
export const QUICK: BenchSizes = { mode: 'quick', runs: 1, iperfS: 2, fioMiB: 4, fioRandS: 1, volumeMiB: 4, bigObjectMiB: 1, small: { count: 2, sizeMiB: 1 }, parallel: 2 };

/** Upstream's lab figures (../shared/upstream-facts.md). */
export const UPSTREAM = {
  vmTcp: '22-46 MiB/s (VM-to-VM TCP)',
  seqWrite: 'local 679, controller 30, node-local 395 MiB/s',
};

export function sizesLines(s: BenchSizes): string[] {
  return [
    `iperf3 ${s.iperfS} s per run; fio: sequential 1 MiB blocks over ${s.fioMiB} MiB, 4 KiB random reads for ${s.fioRandS} s over the same ${s.fioMiB} MiB`,
    `materialization and cross-worker volume: ${s.volumeMiB} MiB of random bytes; S3: one ${s.bigObjectMiB} MiB object, ${s.small.count} x ${s.small.sizeMiB} MiB objects serial and ${s.parallel}-way parallel`,
  ];
}

function roleNodes(c: BenchCluster) {
  const control = c.nodes.filter((n) => n.kind === 'control').map((n) => n.name);
  const workers = c.nodes.filter((n) => n.kind === 'worker').map((n) => n.name);
  if (control.length < 1 || workers.length < 2) throw new Error(`bench-storage needs a control node and two workers; this cluster has control ${control.join(',') || '-'} and workers ${workers.join(',') || '-'}`);
  return { controller: control[0], proxy: control[0], s3Client: control[Math.min(2, control.length - 1)], fioNode: workers[0], reader: workers[1], workers: workers.slice(0, 2) };
}

const fioJobs = (s: BenchSizes): FioJob[] => [
  { name: 'seq-write', rw: 'write', blockSize: '1M', iodepth: 4, sizeMiB: s.fioMiB },
  { name: 'seq-read', rw: 'read', blockSize: '1M', iodepth: 4, sizeMiB: s.fioMiB },
  { name: 'rand-read-qd1', rw: 'randread', blockSize: '4k', iodepth: 1, sizeMiB: s.fioMiB, runtimeS: s.fioRandS },
  { name: 'rand-read-qd32', rw: 'randread', blockSize: '4k', iodepth: 32, sizeMiB: s.fioMiB, runtimeS: s.fioRandS },
];
const FIO_ROWS: Record<string, { label: string; unit: string; value: 'mibPerS' | 'iops' }> = {
  'seq-write': { label: 'sequential write', unit: 'MiB/s', value: 'mibPerS' },
  'seq-read': { label: 'sequential read', unit: 'MiB/s', value: 'mibPerS' },
  'rand-read-qd1': { label: '4k random read, iodepth 1', unit: 'IOPS', value: 'iops' },
  'rand-read-qd32': { label: '4k random read, iodepth 32', unit: 'IOPS', value: 'iops' },
};

/** Samples per key, filled run by run; figures at the end. */
class Samples {
  private readonly m = new Map<string, number[]>();
  add(key: string, v: number) {
    this.m.set(key, [...(this.m.get(key) ?? []), v]);
  }
  fig(key: string): Figure | undefined {
    const v = this.m.get(key);
    return v && v.length ? summarize(v) : undefined;
  }
}

/** The sections, in the report's order. */
export function storageSections(c: BenchCluster, s: BenchSizes): SectionDef[] {
  const r = roleNodes(c);
  const { coronafs, lightningstor } = c.ops;
  const runs = Array.from({ length: s.runs }, (_, i) => i + 1);
  const made: { node: string; volume: string }[] = [];
  const volume = async (node: string, name: string, mib: number): Promise<Volume> => {
    await coronafs.deleteVolume(c.node(node), name);
    made.push({ node, volume: name });
    return coronafs.createVolume(c.node(node), name, mib);
  };
  const dropVolumes = async () => {
    for (const m of made.splice(0)) await coronafs.deleteVolume(c.node(m.node), m.volume);
  };
  const bucket = 'ultracloud-bench';

  return [
    {
      id: 'network',
      title: 'Network baseline (iperf3)',
      what: `TCP throughput over the cluster network (one VDE switch), iperf3 for ${s.iperfS} s, client to server: ${r.fioNode} → ${r.controller} (the CoronaFS path) and ${r.s3Client} → ${r.proxy} (the S3 path).`,
      async run(ctx) {
        const pairs = [
          [r.fioNode, r.controller],
          [r.s3Client, r.proxy],
        ] as const;
        const x = new Samples();
        for (const i of runs) {
          for (const [a, b] of pairs) {
            ctx.step(`run ${i}/${s.runs}: iperf3 ${a} → ${b}`);
            const m = await coronafs.bench.network(c.node(a), c.node(b), s.iperfS);
            x.add(`${a}:mib`, m.mibPerS);
            x.add(`${a}:rt`, m.retransmits);
          }
        }
        const cols = pairs.map(([a, b]) => `${a} → ${b}`);
        return {
          tables: [
            {
              title: 'iperf3',
              columns: cols,
              rows: [
                { label: 'TCP throughput', unit: 'MiB/s', cells: pairs.map(([a]) => x.fig(`${a}:mib`)), upstream: UPSTREAM.vmTcp },
                { label: 'retransmits', unit: 'count', cells: pairs.map(([a]) => x.fig(`${a}:rt`)) },
              ],
            },
          ],
        };
      },
    },
    {
      id: 'coronafs-fio',
      title: 'CoronaFS: local disk vs controller export vs node-local export (fio)',
      what: `fio on ${r.fioNode}: a file on its own disk (libaio, O_DIRECT), a ${s.fioMiB} MiB volume exported by the controller (${r.controller}) and one exported by ${r.fioNode} itself (fio's nbd engine over the cluster network). Sequential 1 MiB writes then reads, then 4 KiB random reads at iodepth 1 and 32.`,
      async run(ctx) {
        ctx.step(`volumes: bench-ctl on ${r.controller}, bench-local on ${r.fioNode}`);
        const ctl = await volume(r.controller, 'bench-ctl', s.fioMiB);
        const local = await volume(r.fioNode, 'bench-local', s.fioMiB);
        const targets: { col: string; target: FioTarget }[] = [
          { col: `local disk (${r.fioNode})`, target: { kind: 'disk', name: 'local' } },
          { col: `controller export (${r.controller})`, target: { kind: 'export', export: ctl.export } },
          { col: `node-local export (${r.fioNode})`, target: { kind: 'export', export: local.export } },
        ];
        const x = new Samples();
        for (const i of runs) {
          for (const [ti, t] of targets.entries()) {
            for (const job of fioJobs(s)) {
              ctx.step(`run ${i}/${s.runs}: ${job.name} on ${t.col}`);
              const m = await coronafs.bench.fio(c.node(r.fioNode), t.target, job);
              x.add(`${ti}:${job.name}`, m[FIO_ROWS[job.name].value]);
            }
          }
        }
        return {
          tables: [
            {
              title: `fio on ${r.fioNode}`,
              columns: targets.map((t) => t.col),
              rows: fioJobs(s).map((j) => ({
                label: FIO_ROWS[j.name].label,
                unit: FIO_ROWS[j.name].unit,
                cells: targets.map((_, ti) => x.fig(`${ti}:${j.name}`)),
                upstream: j.name === 'seq-write' ? UPSTREAM.seqWrite : undefined,
              })),
              ratios: [
                { label: 'controller / local', num: 1, den: 0 },
                { label: 'node-local / local', num: 2, den: 0 },
                { label: 'node-local / controller', num: 2, den: 1 },
              ],
            },
          ],
          notes: [`Upstream's figures are sequential writes on its lab hosts (KVM); ours run under the accelerator in the header, so compare the ratios.`],
        };
      },
      async cleanup() {
        await dropVolumes();
        await coronafs.bench.cleanDisk(c.node(r.fioNode));
      },
    },
    {
      id: 'materialization',
      title: 'CoronaFS: node-local materialization latency',
      what: `A ${s.volumeMiB} MiB volume of random bytes on the controller (${r.controller}) is materialized on each worker: the worker copies it over NBD, compares the copy with the source, exports it, and the controller drops its copy. The figure is the whole operation's wall time.`,
      async run(ctx) {
        const x = new Samples();
        for (const i of runs) {
          for (const w of r.workers) {
            ctx.step(`run ${i}/${s.runs}: a ${s.volumeMiB} MiB volume on ${r.controller}, materialized on ${w}`);
            const vol = await volume(r.controller, 'bench-mat', s.volumeMiB);
            await coronafs.bench.writeRandom(c.node(r.controller), vol.export, s.volumeMiB);
            made.push({ node: w, volume: 'bench-mat' });
            await coronafs.deleteVolume(c.node(w), 'bench-mat');
            const t0 = performance.now();
            await coronafs.materialize(c.node(w), c.node(r.controller), vol);
            const sec = (performance.now() - t0) / 1000;
            x.add(`${w}:s`, sec);
            x.add(`${w}:mib`, s.volumeMiB / sec);
            await dropVolumes();
          }
        }
        return {
          tables: [
            {
              title: `materialize ${s.volumeMiB} MiB from ${r.controller}`,
              columns: r.workers,
              rows: [
                { label: 'latency', unit: 's', cells: r.workers.map((w) => x.fig(`${w}:s`)) },
                { label: 'effective rate', unit: 'MiB/s', cells: r.workers.map((w) => x.fig(`${w}:mib`)) },
              ],
            },
          ],
        };
      },
      cleanup: dropVolumes,
    },
    {
      id: 'cross-worker',
      title: 'CoronaFS: cross-worker write and read over one export',
      what: `${r.fioNode} writes ${s.volumeMiB} MiB of random bytes to its node-local export over NBD; ${r.reader} reads the whole export over the cluster network; the bytes read must have the sha256 of the bytes written, in every run.`,
      async run(ctx) {
        const x = new Samples();
        let verified = 0;
        for (const i of runs) {
          ctx.step(`run ${i}/${s.runs}: write on ${r.fioNode}, read on ${r.reader}`);
          const vol = await volume(r.fioNode, 'bench-xw', s.volumeMiB);
          const w = await coronafs.bench.writeRandom(c.node(r.fioNode), vol.export, s.volumeMiB);
          const rd = await coronafs.bench.readAll(c.node(r.reader), vol.export);
          if (rd.sha256 !== w.sha256 || rd.bytes !== s.volumeMiB * 1048576) {
            throw new Error(`run ${i}: ${r.reader} read ${rd.bytes} bytes with sha256 ${rd.sha256}, but ${r.fioNode} wrote ${s.volumeMiB * 1048576} bytes with sha256 ${w.sha256}`);
          }
          verified++;
          x.add('w', mibPerS(s.volumeMiB * 1048576, w.seconds));
          x.add('r', mibPerS(rd.bytes, rd.seconds));
          await dropVolumes();
        }
        return {
          tables: [
            {
              title: `one export on ${r.fioNode}`,
              columns: [`write on ${r.fioNode}`, `read on ${r.reader}`],
              rows: [{ label: `${s.volumeMiB} MiB`, unit: 'MiB/s', cells: [x.fig('w'), x.fig('r')] }],
              ratios: [{ label: 'read / write', num: 1, den: 0 }],
            },
          ],
          notes: [`Bytes verified: ${verified} of ${s.runs} runs read back exactly what was written (sha256).`],
        };
      },
      cleanup: dropVolumes,
    },
    {
      id: 'lightningstor',
      title: 'LightningStor: S3 large and small objects',
      what: `A real S3 client (s3cmd, Signature v4) on ${r.s3Client} against the S3 proxy on ${r.proxy}: one ${s.bigObjectMiB} MiB object up and down, then ${s.small.count} x ${s.small.sizeMiB} MiB objects serial (one client process) and ${s.parallel}-way parallel (${s.parallel} processes), every download checked against the uploaded bytes (sha256). Times on ${r.s3Client}'s clock; the iperf3 baseline for this path is in the network section.`,
      async run(ctx) {
        const client = c.node(r.s3Client);
        const proxy = c.node(r.proxy);
        const big = { name: 'big', count: 1, sizeMiB: s.bigObjectMiB };
        const small = { name: 'small', count: s.small.count, sizeMiB: s.small.sizeMiB };
        ctx.step(`staging ${s.bigObjectMiB} MiB + ${s.small.count} x ${s.small.sizeMiB} MiB on ${r.s3Client}, bucket ${bucket} through ${r.proxy}`);
        await lightningstor.bench.cleanup(client, proxy, bucket);
        await lightningstor.bench.prepare(client, proxy, bucket, big);
        await lightningstor.bench.prepare(client, proxy, bucket, small);
        const x = new Samples();
        for (const i of runs) {
          ctx.step(`run ${i}/${s.runs}: ${s.bigObjectMiB} MiB object up and down`);
          const up = await lightningstor.bench.upload(client, proxy, bucket, big, 1);
          const down = await lightningstor.bench.download(client, proxy, bucket, big, 1);
          x.add('big:up', mibPerS(up.bytes, up.seconds));
          x.add('big:down', mibPerS(down.bytes, down.seconds));
          for (const p of [1, s.parallel]) {
            ctx.step(`run ${i}/${s.runs}: ${s.small.count} x ${s.small.sizeMiB} MiB, ${p === 1 ? 'serial' : `${p}-way parallel`}, up and down`);
            const u = await lightningstor.bench.upload(client, proxy, bucket, small, p);
            const d = await lightningstor.bench.download(client, proxy, bucket, small, p);
            x.add(`small:${p}:up:mib`, mibPerS(u.bytes, u.seconds));
            x.add(`small:${p}:down:mib`, mibPerS(d.bytes, d.seconds));
            x.add(`small:${p}:up:obj`, u.objects / u.seconds);
            x.add(`small:${p}:down:obj`, d.objects / d.seconds);
          }
        }
        const smallTable: Table = {
          title: `${s.small.count} x ${s.small.sizeMiB} MiB objects`,
          columns: ['serial upload', 'serial download', `${s.parallel}-way upload`, `${s.parallel}-way download`],
          rows: (['mib', 'obj'] as const).map((k) => ({
            label: k === 'mib' ? 'throughput' : 'objects',
            unit: k === 'mib' ? 'MiB/s' : 'objects/s',
            cells: [x.fig(`small:1:up:${k}`), x.fig(`small:1:down:${k}`), x.fig(`small:${s.parallel}:up:${k}`), x.fig(`small:${s.parallel}:down:${k}`)],
          })),
          ratios: [
            { label: 'parallel / serial up', num: 2, den: 0 },
            { label: 'parallel / serial down', num: 3, den: 1 },
          ],
        };
        return {
          tables: [
            { title: `one ${s.bigObjectMiB} MiB object`, columns: ['upload', 'download'], rows: [{ label: 'throughput', unit: 'MiB/s', cells: [x.fig('big:up'), x.fig('big:down')] }] },
            smallTable,
          ],
          notes: ['Upstream published no LightningStor figures; its report has the same sections.'],
        };
      },
      async cleanup() {
        await lightningstor.bench.cleanup(c.node(r.s3Client), c.node(r.proxy), bucket);
      },
    },
  ];
}

/** The local cache x aio matrix (bench-coronafs-local-matrix): one node, its own loopback export, the same fio jobs. */
export function localMatrixSection(c: BenchCluster, s: BenchSizes): SectionDef {
  const node = roleNodes(c).fioNode;
  const modes = c.ops.coronafs.bench.exportModes;
  const label = (m: ExportMode) => `cache=${m.cache} aio=${m.aio}`;
  let open: { close(): Promise<void> } | undefined;
  let winners: string[] = [];
  const section: SectionDef = {
    id: 'coronafs-local-matrix',
    title: `CoronaFS: local export cache x aio matrix (${node})`,
    what: `One volume export on ${node}, served on its loopback by one qemu-storage-daemon per mode and read and written by fio's nbd engine on the same node (no network): every cache x aio combination QEMU accepts, the same fio jobs as bench-storage.`,
    async run(ctx) {
      const x = new Samples();
      const unsupported: string[] = [];
      const supported: ExportMode[] = [];
      for (const m of modes) {
        ctx.step(`${label(m)}: starting its export`);
        const e = await c.ops.coronafs.bench.localExport(c.node(node), 'bench-matrix', s.fioMiB, m);
        if ('unsupported' in e) {
          unsupported.push(`${label(m)}: not supported here (QEMU: ${e.unsupported.split('\n')[0]})`);
          continue;
        }
        open = e;
        supported.push(m);
        try {
          for (const i of runs(s)) {
            for (const job of fioJobs(s)) {
              ctx.step(`run ${i}/${s.runs}: ${label(m)}: ${job.name}`);
              const r = await c.ops.coronafs.bench.fio(c.node(node), { kind: 'export', export: e.export }, job);
              x.add(`${label(m)}:${job.name}`, r[FIO_ROWS[job.name].value]);
            }
          }
        } finally {
          await e.close();
          open = undefined;
        }
      }
      if (supported.length === 0) throw new Error(`no cache x aio mode was accepted on ${node}:\n${unsupported.join('\n')}`);
      const cols = supported.map(label);
      const rows = fioJobs(s).map((j) => ({ label: FIO_ROWS[j.name].label, unit: FIO_ROWS[j.name].unit, cells: cols.map((col) => x.fig(`${col}:${j.name}`)) }));
      winners = rows.map((row) => {
        let best = 0;
        row.cells.forEach((f, i) => {
          if (f && f.median > (row.cells[best]?.median ?? -1)) best = i;
        });
        return `${row.label}: **${cols[best]}** (${row.cells[best]?.median.toFixed(1)} ${row.unit})`;
      });
      const tally = new Map<string, number>();
      for (const row of rows) {
        let best = 0;
        row.cells.forEach((f, i) => {
          if (f && f.median > (row.cells[best]?.median ?? -1)) best = i;
        });
        tally.set(cols[best], (tally.get(cols[best]) ?? 0) + 1);
      }
      const overall = [...tally.entries()].sort((a, b) => b[1] - a[1])[0];
      // Transposed for reading: one row per mode, one column per job.
      const table: Table = {
        title: `fio on ${node} against its loopback export`,
        columns: rows.map((row) => `${row.label} (${row.unit})`),
        rows: cols.map((col, ci) => ({ label: col, unit: '', cells: rows.map((row) => row.cells[ci]) })),
      };
      return {
        tables: [table],
        notes: [
          `Winner here: **${overall[0]}** (best in ${overall[1]} of ${rows.length} jobs). Per job: ${winners.join('; ')}.`,
          "Upstream's lab hosts found cache=none with aio=io_uring the strongest local-export profile.",
          ...unsupported,
        ],
      };
    },
    async cleanup() {
      await open?.close();
    },
  };
  return section;
}
const runs = (s: BenchSizes) => Array.from({ length: s.runs }, (_, i) => i + 1);

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

/** The report's header: command, date, revision, host CPU and cores, accelerator per node, QEMU and kernel versions. */
export async function benchHeader(c: BenchCluster, title: string, command: string, s: BenchSizes, nodes: string[]): Promise<ReportHeader> {
  const rev = sh('git', ['rev-parse', '--short', 'HEAD']);
  const dirty = sh('git', ['status', '--porcelain', '--untracked-files=no']);
  const cpu = /^model name\s*:\s*(.+)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown';
  const nodeKernels: Record<string, string> = {};
  for (const n of nodes) nodeKernels[n] = (await c.node(n).execute('uname -r')).stdout.trim() || 'unknown';
  return {
    title,
    command,
    date: new Date().toISOString(),
    gitRevision: dirty && dirty !== 'unknown' ? `${rev} (with uncommitted changes)` : rev,
    hostCpu: cpu,
    hostCores: os.cpus().length,
    accel: await c.accel(),
    qemu: sh('qemu-system-x86_64', ['--version']).split('\n')[0],
    hostKernel: os.release(),
    nodeKernels,
    runs: s.runs,
    mode: s.mode,
    sizes: sizesLines(s),
  };
}

/** Writes the report and one SVG chart per measured section (in <name>/ beside it); returns the report's path. */
export async function writeReport(report: Report, file: string): Promise<string> {
  const dir = path.dirname(file);
  const base = path.basename(file, '.md');
  fs.mkdirSync(path.join(dir, base), { recursive: true });
  for (const s of report.sections) {
    const svgPath = path.join(dir, base, `${s.id}.svg`);
    const svg = s.status === 'measured' ? await renderChart(s) : undefined;
    if (svg) {
      fs.writeFileSync(svgPath, svg);
      s.chart = `${base}/${s.id}.svg`;
    } else fs.rmSync(svgPath, { force: true });
  }
  fs.writeFileSync(file, renderReport(report));
  return file;
}

export interface BenchRun {
  report: Report;
  file: string;
  failed: SectionResult[];
}

/** Runs `sections` and writes the report to `file` (rewritten after each section, so a killed run leaves what it measured). */
export async function runBench(c: BenchCluster, opts: { title: string; command: string; sizes: BenchSizes; file: string; scope: string; intro: string[]; sections: SectionDef[]; nodes: string[] }): Promise<BenchRun> {
  const header = await benchHeader(c, opts.title, opts.command, opts.sizes, opts.nodes);
  const report: Report = { header, intro: opts.intro, sections: [] };
  progress(opts.scope, `${opts.sections.length} sections, ${opts.sizes.runs} run(s) each (${opts.sizes.mode} mode); report: ${opts.file}`);
  await runSections(opts.sections, {
    scope: opts.scope,
    onSection: async (s) => {
      report.sections.push(s);
      await writeReport(report, opts.file);
    },
  });
  await writeReport(report, opts.file);
  return { report, file: opts.file, failed: report.sections.filter((s) => s.status === 'failed') };
}

export function benchNodes(c: BenchCluster): string[] {
  const r = roleNodes(c);
  return [...new Set([r.controller, r.s3Client, r.fioNode, r.reader])];
}

export function benchNodesLocal(c: BenchCluster): string[] {
  return [roleNodes(c).fioNode];
}

export const STORAGE_INTRO =
  "Upstream's report sections (UltraCloud's nix/test-cluster) measured on this repository's reference stack: CoronaFS volumes are qemu-storage-daemon NBD exports, LightningStor is OpenStack Swift with s3api. Each table gives the median of N runs with (min-max) beside it, ratios between columns so runs on different hosts compare, and upstream's lab figure where it published one. A section that failed shows why and no figures.";
export const MATRIX_INTRO =
  'The local single-process CoronaFS export benchmark: software-path costs of the export server (cache and AIO modes) without the cluster network, so they can be told apart from the VM lab\'s network limits. Each figure is the median of N runs with (min-max).';
