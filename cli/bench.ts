import path from 'node:path';
import { PROJECT_ROOT } from '../harness/config.js';
import { HostError, UsageError } from '../harness/errors.js';
import { progress } from '../harness/log.js';
import { type Command, opts } from './command.js';
import { withCluster } from './session.js';

/**
 * The storage benchmarks (bench/storage-bench.ts): `bench-storage`,
 * its fresh- form (also spelled fresh-storage-bench) and
 * `bench-coronafs-local-matrix`. Each reuses the running cluster (bringing
 * one up if none is), holds the cluster lock, writes its report and exits 1
 * when a section failed (the report says why).
 */
export function benchCommands(): Record<string, Command> {
  const options = { quick: { type: 'boolean' }, runs: { type: 'string' }, out: { type: 'string' } } as const;
  const run = async (name: string, kind: 'storage' | 'matrix', fresh: boolean, args: string[]): Promise<number> => {
    const { values } = opts(args, options);
    const bench = await import('../bench/storage-bench.js');
    const sizes = { ...(values.quick ? bench.QUICK : bench.FULL) };
    if (values.runs !== undefined) {
      if (!/^[1-9]\d?$/.test(values.runs)) throw new UsageError(`--runs takes a whole number 1-99, got '${values.runs}'`);
      sizes.runs = Number(values.runs);
    }
    // Under reports/bench unless asked (--out docs/storage-benchmarks.md publishes a full run).
    const defaultOut = path.join('reports', 'bench', `${kind === 'storage' ? 'storage-benchmarks' : 'coronafs-local-matrix'}${values.quick ? '-quick' : ''}.md`);
    const file = path.resolve(PROJECT_ROOT, values.out ?? defaultOut);
    return withCluster({ purpose: `cluster ${name}`, fresh }, async (cluster) => {
      const refusal = cluster.attachRefusal();
      if (refusal) throw new HostError(refusal);
      const c = {
        nodes: cluster.specs.map((n) => ({ name: n.name, kind: n.kind })),
        node: (n: string) => cluster.node(n),
        ops: cluster.stack.ops,
        accel: async () => Object.fromEntries((await cluster.status()).map((r) => [r.node, r.accel])),
      };
      const command = `cluster ${[name, ...args].join(' ')}`;
      const result =
        kind === 'storage'
          ? await bench.runBench(c, { title: 'Storage benchmarks', command, sizes, file, scope: 'bench', intro: [bench.STORAGE_INTRO], sections: bench.storageSections(c, sizes), nodes: bench.benchNodes(c) })
          : await bench.runBench(c, { title: 'CoronaFS local export: cache x aio matrix', command, sizes, file, scope: 'bench', intro: [bench.MATRIX_INTRO], sections: [bench.localMatrixSection(c, sizes)], nodes: bench.benchNodesLocal(c) });
      progress('bench', `report: ${path.relative(process.cwd(), result.file) || result.file}${result.failed.length ? `; FAILED sections: ${result.failed.map((f) => f.id).join(', ')}` : ''}`);
      console.log(result.file);
      return result.failed.length ? 1 : 0;
    });
  };
  const usageOpts = `  --quick    tiny sizes, one run each (proves every section measures)
  --runs N   runs per figure (median of N, with min and max); default 3, quick 1
  --out F    where the report goes (default reports/bench/; --out docs/... publishes it); its SVG
             charts go into a folder named after it, beside it`;
  const storage = (fresh: boolean): Command => ({
    args: '[--quick] [--runs N] [--out FILE]',
    summary: fresh ? 'clean + build + start + bench-storage' : 'benchmark CoronaFS exports, materialization and LightningStor S3, write reports/bench/storage-benchmarks.md',
    details: `${fresh ? 'Throws the runtime state away, builds (or reuses) the image, brings the profile\'s nodes up on\nfresh disks, then runs bench-storage. ' : ''}Reuses the running cluster (bringing one up if none is) and measures, each figure the median of N
runs: iperf3 baselines (worker -> controller, S3 client -> proxy); fio on a worker against its
local disk, the controller export and its node-local export; materialization latency on both
workers; a cross-worker write and read over one export (bytes verified); LightningStor S3 from
node03 (one large object, many small ones serial and parallel). Writes reports/bench/storage-
benchmarks.md (-quick.md in quick mode) and an SVG chart per section beside it. A section whose server does not answer
fails alone, with its reason in the report; the command then exits 1. With --profile storage (or
ULTRACLOUD_PROFILE=storage) it runs on the five-node storage cluster (storage-node01..05, its own
state dir and forwards) while the default cluster stays up.
${usageOpts}`,
    run: (args) => run(fresh ? 'fresh-bench-storage' : 'bench-storage', 'storage', fresh, args),
  });
  return {
    'bench-storage': storage(false),
    'fresh-bench-storage': storage(true),
    'fresh-storage-bench': { ...storage(true), summary: 'the same as fresh-bench-storage (the spec spells it both ways)' },
    'bench-coronafs-local-matrix': {
      args: '[--quick] [--runs N] [--out FILE]',
      summary: 'fio against one node\'s own CoronaFS export in every cache x aio mode QEMU accepts; writes reports/bench/coronafs-local-matrix.md',
      details: `Reuses the running cluster (bringing one up if none is). On one worker, a volume is exported on
the node's loopback by one qemu-storage-daemon per cache (none, writeback, unsafe) x aio (threads,
native, io_uring) combination; modes QEMU refuses are listed with its words. The same fio jobs as
bench-storage run against each; the table says which combination wins here. Writes
reports/bench/coronafs-local-matrix.md with an SVG chart.
${usageOpts}`,
      run: (args) => run('bench-coronafs-local-matrix', 'matrix', false, args),
    },
  };
}
