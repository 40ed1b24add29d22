/**
 * Cluster layers run in the spec's order: boot before protocols before
 * replication (whose fault tests change the cluster), and so on. Vitest's
 * default order (slowest first) would shuffle them.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

export const LAYER_ORDER = ['boot', 'protocols', 'replication', 'nested-kvm', 'prismnet-ports', 'gateway'];

function rank(spec: TestSpecification): number {
  const base = spec.moduleId.split('/').pop()!.replace(/\.test\.ts$/, '');
  const i = LAYER_ORDER.indexOf(base);
  return i < 0 ? LAYER_ORDER.length : i;
}

export class LayerSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => rank(a) - rank(b) || a.moduleId.localeCompare(b.moduleId));
  }
}
