import { defineConfig } from 'vitest/config';
import { LayerSequencer } from './tests/layer-order.js';

// Two projects: `unit` needs no VMs; `smoke` (and later suites) share one
// cluster booted or attached by the global setup. `npx vitest run smoke`
// selects files by path, so only the cluster suites run.
export default defineConfig({
  test: {
    reporters: ['default', 'junit'],
    // Cluster layers in the spec's order (set here: vitest reads the sequencer from the root config).
    sequence: { sequencer: LayerSequencer },
    outputFile: { junit: 'reports/junit.xml' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['tests/unit/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'smoke',
          include: ['tests/smoke/**/*.test.ts'],
          globalSetup: ['tests/global-setup.ts'],
          // Layers share one cluster and some change it (faults): one file at a time.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
