/**
 * The quick subset of `cluster prove`, so the mechanism itself cannot rot:
 * each row's fault applied to this cluster, its checks run by a child
 * vitest, and they must fail naming the fault; restored and healthy again
 * before the next row. The whole table is `npx cluster prove`.
 */
import { describe } from 'vitest';
import { clusterInfo, test } from '../../fixtures/cluster.js';
import { loadConfig } from '../../harness/config.js';
import { proveRow, restoreLeftover } from '../../harness/prove-runner.js';
import { openCluster } from '../../stacks/index.js';
import { proveTable } from '../prove-table.js';

const table = proveTable(clusterInfo.stack);
const quick = table.filter((r) => r.quick);

describe.sequential('cluster prove --quick', () => {
  for (const row of quick) {
    test(`${row.id}: ${row.fault} turns ${row.checks.join('; ')} red, naming it`, { timeout: 900_000 }, async ({ expect }) => {
      const cluster = openCluster({ ...loadConfig(), stateDir: clusterInfo.stateDir, portBase: clusterInfo.portBase, stack: clusterInfo.stack });
      try {
        await restoreLeftover(cluster, table);
        const { verdict, seconds } = await proveRow(cluster, row);
        console.log(`prove ${row.id}: ${verdict.verdict} in ${seconds.toFixed(0)} s: ${verdict.why}`);
        expect(verdict.verdict, `${row.id}: ${verdict.why}\n${verdict.checks.map((c) => `${c.check}: ${c.status}: ${c.message}`).join('\n')}`).toBe('caught');
      } finally {
        await cluster.close();
      }
    });
  }
});
