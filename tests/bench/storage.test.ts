/**
 * The storage bench in quick mode (tiny sizes, one run each): every section
 * of `cluster bench-storage` and the local cache x aio matrix produce
 * figures against the running cluster, and a section whose server is
 * stopped fails alone, saying why, with no figure. No timed assertions:
 * the figures' sizes are for the full command's report, not for a test.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe } from 'vitest';
import { TestCluster, clusterInfo, test } from '../../fixtures/cluster.js';
import { budget } from '../../harness/budget.js';
import { type BenchCluster, type BenchRun, QUICK, STORAGE_INTRO, MATRIX_INTRO, benchNodes, benchNodesLocal, localMatrixSection, runBench, storageSections } from '../../bench/storage-bench.js';
import { runDir } from '../../fixtures/run-dir.js';

const OUT = runDir('bench');
const SECTIONS = ['network', 'coronafs-fio', 'materialization', 'cross-worker', 'lightningstor'];
/**
 * Deadlines (s), measured on the 2-core TCG host: the whole quick bench
 * (five sections) 3-5 min; the quick matrix (nine modes, four 1 s jobs
 * each) 3-4 min; the LightningStor section alone with its proxy stopped:
 * seconds (the first request is refused), and the proxy's restart.
 */
const QUICK_BENCH_S = 1200;
const QUICK_MATRIX_S = 900;
const STOPPED_S = 300;

const bench = (c: TestCluster): BenchCluster => ({
  nodes: clusterInfo.nodes.map((n) => ({ name: n.name, kind: n.kind })),
  node: (n) => c.node(n),
  ops: c.ops,
  accel: async () => Object.fromEntries(clusterInfo.nodes.map((n) => [n.name, clusterInfo.accel])),
});

/** Every row of every table of a measured section has a figure in each column. */
const figures = (run: BenchRun, id: string) => {
  const s = run.report.sections.find((x) => x.id === id);
  return { s, missing: s?.tables.flatMap((t) => t.rows.flatMap((r) => t.columns.filter((_, i) => !r.cells[i]).map((col) => `${t.title}: ${r.label} / ${col}`))) ?? [] };
};

describe.sequential('storage bench, quick mode', () => {
  let run: BenchRun | undefined;
  let proxyStopped: { c: TestCluster; node: string } | undefined;

  afterAll(async () => {
    if (proxyStopped) await proxyStopped.c.ops.lightningstor.startProxy(proxyStopped.c.node(proxyStopped.node));
  });

  test('bench-storage runs every section with tiny sizes and writes its report', { timeout: budget(QUICK_BENCH_S) }, async ({ cluster, expect }) => {
    const c = bench(cluster);
    run = await runBench(c, { title: 'Storage benchmarks (quick)', command: 'vitest --project bench', sizes: QUICK, file: path.join(OUT, 'storage-benchmarks-quick.md'), scope: 'bench', intro: [STORAGE_INTRO], sections: storageSections(c, QUICK), nodes: benchNodes(c) });
    expect(run.report.sections.map((s) => s.id)).toEqual(SECTIONS);
    expect(fs.readFileSync(run.file, 'utf8')).toContain('| runs per figure (N) | 1 (quick mode)');
  });

  test.for(SECTIONS)('section %s produced a figure for every row and column', (id, { expect }) => {
    expect(run, 'the bench ran').toBeDefined();
    const { s, missing } = figures(run!, id);
    expect(s?.status, `${id}: ${s?.reason ?? ''}`).toBe('measured');
    expect(s!.tables.length).toBeGreaterThan(0);
    expect(missing, `${id}: cells without a figure`).toEqual([]);
    expect(fs.existsSync(path.join(OUT, 'storage-benchmarks-quick', `${id}.svg`)), `${id}: its chart`).toBe(true);
  });

  test('a section whose server is stopped fails with the reason and prints no figure', { timeout: budget(STOPPED_S) }, async ({ cluster, expect }) => {
    const c = bench(cluster);
    const proxy = clusterInfo.nodes.find((n) => n.kind === 'control')!.name;
    await cluster.ops.lightningstor.stopProxy(cluster.node(proxy));
    proxyStopped = { c: cluster, node: proxy };
    const file = path.join(OUT, 'storage-benchmarks-stopped.md');
    const stopped = await runBench(c, { title: 'Storage benchmarks (S3 proxy stopped)', command: 'vitest --project bench', sizes: QUICK, file, scope: 'bench', intro: [], sections: storageSections(c, QUICK).filter((s) => s.id === 'lightningstor'), nodes: benchNodes(c) });
    await cluster.ops.lightningstor.startProxy(cluster.node(proxy));
    proxyStopped = undefined;
    const s = stopped.report.sections[0];
    expect(s.status).toBe('failed');
    expect(s.reason).toMatch(new RegExp(`proxy on ${proxy}|refused|Connection`, 'i'));
    expect(s.tables).toEqual([]);
    const md = fs.readFileSync(file, 'utf8');
    expect(md).toContain('**failed: LightningStor');
    expect(md).toContain('Not measured');
    expect(md).not.toMatch(/MiB\/s/);
    expect(fs.existsSync(path.join(OUT, 'storage-benchmarks-stopped', 'lightningstor.svg'))).toBe(false);
  });

  test('bench-coronafs-local-matrix measures every cache x aio mode QEMU accepts and names a winner', { timeout: budget(QUICK_MATRIX_S) }, async ({ cluster, expect }) => {
    const c = bench(cluster);
    const m = await runBench(c, { title: 'CoronaFS local export matrix (quick)', command: 'vitest --project bench', sizes: QUICK, file: path.join(OUT, 'coronafs-local-matrix-quick.md'), scope: 'bench', intro: [MATRIX_INTRO], sections: [localMatrixSection(c, QUICK)], nodes: benchNodesLocal(c) });
    const s = m.report.sections[0];
    expect(s.status, s.reason).toBe('measured');
    const t = s.tables[0];
    // One row per accepted mode; QEMU accepts at least the page-cache modes with threads.
    expect(t.rows.map((r) => r.label)).toContain('cache=writeback aio=threads');
    expect(t.rows.flatMap((r) => r.cells.filter((x) => !x).map(() => r.label)), 'modes without a figure').toEqual([]);
    // Every mode is accounted for: measured, or listed with QEMU's refusal.
    const refused = s.notes.filter((n) => n.includes('not supported here'));
    expect(t.rows.length + refused.length).toBe(c.ops.coronafs.bench.exportModes.length);
    expect(s.notes[0]).toMatch(/^Winner here: \*\*cache=\w+ aio=\w+\*\*/);
  });
});
