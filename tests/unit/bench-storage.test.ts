/** The storage bench's pure parts: statistics, report rendering, charts, the section runner, and the tools' parsers. */
import { describe, expect, it } from 'vitest';
import { chartData, renderChart } from '../../harness/bench/charts.js';
import { type SectionResult, renderReport, renderSection, renderTable } from '../../harness/bench/report.js';
import { reasonOf, runSections } from '../../harness/bench/runner.js';
import { fmt, fmtFigure, mibPerS, ratio, summarize } from '../../harness/bench/stats.js';
import { fioCommand, modeOptions, parseFio } from '../../stacks/reference/coronafs/bench.js';
import { objectNames, streams } from '../../stacks/reference/lightningstor/bench.js';
import { parseIperf3 } from '../../stacks/reference/netbench.js';
import { FULL, QUICK, sizesLines } from '../../bench/storage-bench.js';

process.env.ULTRACLOUD_QUIET = '1';

describe('summarize', () => {
  it('gives the median of an odd count with min and max', () => {
    expect(summarize([5, 1, 3])).toMatchObject({ median: 3, min: 1, max: 5, n: 3 });
  });
  it('gives the mean of the middle two for an even count', () => {
    expect(summarize([4, 1, 3, 10]).median).toBe(3.5);
  });
  it('refuses no samples and non-finite ones', () => {
    expect(() => summarize([])).toThrow(/no samples/);
    expect(() => summarize([1, Number.NaN])).toThrow(/not a finite/);
    expect(() => summarize([Infinity])).toThrow(/not a finite/);
  });
});

describe('ratio and formatting', () => {
  it('divides medians, with nothing for a missing or zero figure', () => {
    expect(ratio(summarize([30]), summarize([600]))).toBeCloseTo(0.05);
    expect(ratio(undefined, summarize([1]))).toBeUndefined();
    expect(ratio(summarize([1]), summarize([0]))).toBeUndefined();
  });
  it('prints three significant digits and the spread only for N > 1', () => {
    expect(fmt(679.4)).toBe('679');
    expect(fmt(30.06)).toBe('30.1');
    expect(fmt(1.234)).toBe('1.23');
    expect(fmt(0.0123)).toBe('0.012');
    expect(fmt(undefined)).toBe('-');
    expect(fmtFigure(summarize([10, 20, 30]))).toBe('20.0 (10.0-30.0)');
    expect(fmtFigure(summarize([7]))).toBe('7.00');
  });
  it('turns bytes and seconds into MiB/s and refuses a zero duration', () => {
    expect(mibPerS(64 * 1048576, 2)).toBe(32);
    expect(() => mibPerS(1, 0)).toThrow(/took 0 s/);
  });
});

const measured: SectionResult = {
  id: 'fio',
  title: 'fio',
  what: 'fio on node04',
  status: 'measured',
  seconds: 12,
  notes: ['a note'],
  tables: [
    {
      title: 'fio on node04',
      columns: ['local', 'controller', 'node-local'],
      rows: [{ label: 'sequential write', unit: 'MiB/s', cells: [summarize([600, 700, 650]), summarize([30, 31, 29]), summarize([300])], upstream: 'local 679' }],
      ratios: [{ label: 'controller / local', num: 1, den: 0 }],
    },
  ],
};

describe('report rendering', () => {
  it('renders a table with medians, spreads, ratios and the upstream figure', () => {
    const t = renderTable(measured.tables[0]);
    expect(t).toContain('| sequential write | MiB/s | 650 (600-700) | 30.0 (29.0-31.0) | 300 | 0.046x | local 679 |');
    expect(t).toContain('controller / local');
  });
  it('renders a failed section with its reason and no figure', () => {
    const failed: SectionResult = { ...measured, status: 'failed', tables: [], reason: 'node01: swift-proxy refused the connection', notes: [] };
    const md = renderSection(failed);
    expect(md).toContain('Not measured');
    expect(md).toContain('swift-proxy refused the connection');
    expect(md).not.toMatch(/MiB\/s/);
  });
  it('names the failed sections at the top of the report', () => {
    const header = { title: 'Storage benchmarks', command: 'cluster bench-storage', date: 'd', gitRevision: 'abc', hostCpu: 'cpu', hostCores: 2, accel: { node01: 'tcg' }, qemu: 'QEMU 7.2', hostKernel: '6.1', nodeKernels: { node01: '6.1' }, runs: 3, mode: 'full' as const, sizes: ['s'] };
    const md = renderReport({ header, intro: [], sections: [measured, { ...measured, id: 'x', title: 'LightningStor', status: 'failed', tables: [], reason: 'r' }] });
    expect(md).toContain('1 of 2 sections measured; **failed: LightningStor**');
    expect(md).toContain('| command | `cluster bench-storage` |');
    expect(md).toContain('| accelerator per node | node01 tcg |');
  });
});

describe('charts', () => {
  it('flattens every figure of a section, one bar per series', () => {
    expect(chartData(measured).map((d) => d.series)).toEqual(['local', 'controller', 'node-local']);
  });
  it('draws an SVG with Vega-Lite', async () => {
    const svg = await renderChart(measured);
    expect(svg).toMatch(/^<svg/);
    expect(svg).toContain('node-local');
  });
});

describe('runSections', () => {
  it('records a throwing section as failed with its reason, runs its cleanup, and goes on', async () => {
    const cleaned: string[] = [];
    const out = await runSections(
      [
        { id: 'a', title: 'A', what: '', run: async () => { throw new Error('node01: connection refused\nmore'); }, cleanup: async () => { cleaned.push('a'); } },
        { id: 'b', title: 'B', what: '', run: async (ctx) => { ctx.step('x'); return { tables: [] }; } },
      ],
      { scope: 'test' },
    );
    expect(out.map((s) => s.status)).toEqual(['failed', 'measured']);
    expect(out[0].reason).toContain('connection refused');
    expect(out[0].tables).toEqual([]);
    expect(cleaned).toEqual(['a']);
  });
  it('cuts a long reason', () => {
    expect(reasonOf(new Error(Array.from({ length: 30 }, (_, i) => `l${i}`).join('\n')), 3)).toBe('l0\nl1\nl2\n... (27 more lines)');
  });
});

describe('tool parsers', () => {
  const fio = (rw: string, side: object) => JSON.stringify({ jobs: [{ error: 0, [rw]: side }] });
  it('reads fio throughput and IOPS of the job direction', () => {
    expect(parseFio(`fio: connected to NBD server\n${fio('write', { io_bytes: 8388608, bw_bytes: 4194304, iops: 4, runtime: 2000 })}`, 'write')).toEqual({ mibPerS: 4, iops: 4, seconds: 2 });
  });
  it('refuses a fio job that failed or moved nothing', () => {
    expect(() => parseFio(JSON.stringify({ jobs: [{ error: 5 }] }), 'read')).toThrow(/error 5/);
    expect(() => parseFio(fio('read', { io_bytes: 0, bw_bytes: 0, iops: 0, runtime: 0 }), 'randread')).toThrow(/no bytes/);
    expect(() => parseFio('fio: pid=0, err=111/file:engines/nbd.c', 'read')).toThrow(/no JSON/);
  });
  it('reads iperf3 receiver throughput and retransmits, and its error', () => {
    const ok = JSON.stringify({ end: { sum_sent: { retransmits: 7 }, sum_received: { bits_per_second: 8 * 1048576 * 40, seconds: 10 } } });
    expect(parseIperf3(ok)).toEqual({ mibPerS: 40, retransmits: 7, seconds: 10 });
    expect(() => parseIperf3(JSON.stringify({ error: 'unable to connect to server: Connection refused' }))).toThrow(/Connection refused/);
  });
  it('builds fio command lines for a disk file and for an NBD export', () => {
    const job = { name: 'rand-read-qd32', rw: 'randread' as const, blockSize: '4k', iodepth: 32, sizeMiB: 8, runtimeS: 5 };
    expect(fioCommand({ kind: 'disk', name: 'local' }, job, '/o.json')).toMatch(/--ioengine=libaio --direct=1 --filename=\/var\/tmp\/ultracloud-bench\/coronafs\/local\.dat$/);
    const nbd = fioCommand({ kind: 'export', export: { host: '10.100.0.11', port: 10810, name: 'bench-ctl' } }, job, '/o.json');
    expect(nbd).toContain('--ioengine=nbd --uri=nbd://10.100.0.11:10810/bench-ctl');
    expect(nbd).toContain('--runtime=5 --time_based');
  });
  it('maps cache modes to QEMU file options', () => {
    expect(modeOptions({ cache: 'none', aio: 'io_uring' })).toBe('cache.direct=on,cache.no-flush=off,aio=io_uring');
    expect(modeOptions({ cache: 'unsafe', aio: 'threads' })).toBe('cache.direct=off,cache.no-flush=on,aio=threads');
  });
  it('splits objects into parallel streams without empty ones', () => {
    const names = objectNames({ name: 'small', count: 5, sizeMiB: 1 });
    expect(names).toEqual(['o00', 'o01', 'o02', 'o03', 'o04']);
    expect(streams(names, 2)).toEqual([['o00', 'o02', 'o04'], ['o01', 'o03']]);
    expect(streams(names.slice(0, 1), 8)).toEqual([['o00']]);
    expect(() => streams(names, 0)).toThrow(/parallelism/);
  });
});

describe('bench sizes', () => {
  it('uses the issue sizes in full mode and tiny ones, one run, in quick mode', () => {
    expect(FULL).toMatchObject({ bigObjectMiB: 256, small: { count: 32, sizeMiB: 4 }, parallel: 8 });
    expect(QUICK.runs).toBe(1);
    expect(sizesLines(QUICK).join(' ')).toContain('2 x 1 MiB');
  });
});
