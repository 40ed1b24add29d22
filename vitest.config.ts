import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { budget } from './harness/budget.js';
import { loadConfig } from './harness/config.js';
import { openRun } from './harness/run-dir.js';
import { profileServes } from './fixtures/projects.js';
import type {} from './fixtures/run-dir.js';
import { LayerSequencer } from './tests/layer-order.js';
import { SummaryReporter } from './tests/reporters/summary.js';

// The projects the profile's cluster serves: the storage profile boots only
// the storage roles, so only unit and bench run against it.
const { profile } = loadConfig();

// This run's folder (reports/runs/<UTC time>-<suite or "test">, reports/latest
// points at it): its JUnit file, Vitest's HTML report, attachments, and the
// suites' own files, which find it with inject('runDir') (fixtures/run-dir.ts).
const RUN = openRun(process.argv, process.env);
const provide = { runDir: RUN };
// At the root (the HTML reporter copies attachments from it into html/data) and in each
// project (a project does not inherit the root's: it would copy into .vitest-attachments/).
const attachmentsDir = path.join(RUN, 'attachments');

// `unit` needs no VMs; the cluster suites (`smoke`, `matrix`) share one
// cluster booted or attached by the global setup. `npx vitest run smoke`
// selects files by path, so only that suite runs.
export default defineConfig({
  test: {
    // The summary reporter prints CI's closing line ("N passed, N failed, N skipped") last.
    // An explicit list switches Vitest's GitHub Actions reporter off: on again there.
    reporters: ['default', 'junit', 'html', ...(process.env.GITHUB_ACTIONS === 'true' ? ['github-actions'] : []), new SummaryReporter(RUN)],
    // Cluster layers in the spec's order (set here: vitest reads the sequencer from the root config).
    sequence: { sequencer: LayerSequencer },
    outputFile: { junit: path.join(RUN, 'junit.xml'), html: path.join(RUN, 'html', 'index.html') },
    attachmentsDir,
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
          provide,
          attachmentsDir,
        },
      },
      ...[
      // Groups run in order: unit (0), then smoke, then matrix, which composes
      // roles the smoke suite proved one by one. A single-worker project left
      // at group 0 would be run last, after every numbered group (Vitest's groupSpecs).
      clusterProject('smoke', 1),
      clusterProject('matrix', 2),
      // The tenant web app demo, the bare-metal ISO flow, then scheduling (whose fail-stop kills and reboots a worker) last.
      clusterProject('demo', 3),
      clusterProject('baremetal', 4),
      clusterProject('scheduling', 5),
      // The storage bench's quick mode (tests/bench: tiny sizes, one run each; the full bench is `cluster bench-storage`).
      clusterProject('bench', 6),
      // Consistency under faults (tests/faults): register histories under partitions, pauses and crashes, checked whole.
      clusterProject('faults', 7),
      // The quick subset of `cluster prove` (faults applied, checks must go red): last, on the cluster the others leave.
      clusterProject('prove', 8),
      ].filter((p) => profileServes(profile, p.test.name)),
    ],
  },
});

/** A suite that runs against the cluster: tests/<name>/, one file at a time, after the groups before it. */
function clusterProject(name: string, groupOrder: number) {
  return {
    test: {
      name,
      include: [`tests/${name}/**/*.test.ts`],
      globalSetup: ['tests/global-setup.ts'],
      // After each file: nodes still up, no new kernel alarms, no failed units.
      setupFiles: ['tests/health.ts'],
      // Files share one cluster and some change it (faults): one file at a time.
      fileParallelism: false,
      // For checks that wait on no deadline; a check that does declares
      // { timeout: budget(...its deadlines) } so the harness's error comes first.
      testTimeout: budget(),
      provide,
      attachmentsDir,
      hookTimeout: 600_000,
      sequence: { groupOrder },
    },
  };
}
