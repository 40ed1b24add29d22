/**
 * Cluster layers run in the spec's order: boot before protocols before
 * replication (whose fault tests change the cluster), and so on. Vitest's
 * default order (slowest first) would shuffle them. A layer file missing
 * from this list is an error, not "last": its place is a decision.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export const LAYER_ORDER = ['boot', 'protocols', 'replication', 'nested-kvm', 'prismnet-ports', 'gateway'];

/** Only cluster suites are ordered; unit tests run in any order. */
const ORDERED = /\/tests\/smoke\//;

export function layerRank(moduleId: string): number {
  if (!ORDERED.test(moduleId)) return -1;
  const base = moduleId.split('/').pop()!.replace(/\.test\.ts$/, '');
  const i = LAYER_ORDER.indexOf(base);
  if (i < 0) throw new Error(`layer file ${moduleId} is not in LAYER_ORDER (tests/layer-order.ts): add it where it belongs`);
  return i;
}

export class LayerSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => layerRank(a.moduleId) - layerRank(b.moduleId) || a.moduleId.localeCompare(b.moduleId));
  }
}
