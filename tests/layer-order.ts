/**
 * Cluster layers run in the spec's order: boot before protocols before
 * replication (whose fault tests change the cluster), and so on. Vitest's
 * default order (slowest first) would shuffle them. A layer file missing
 * from this list is an error, not "last": its place is a decision.
 */
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Per cluster suite (tests/<suite>/), its files in the order they run. */
export const LAYER_ORDER: Record<string, string[]> = {
  smoke: ['boot', 'protocols', 'replication', 'nested-kvm', 'prismnet-ports', 'gateway'],
  // Cheapest first; the ones with tenant guests after.
  matrix: ['gateway-flows', 'dns-lb-net', 'k8s-bundle', 'vm-hosting'],
  demo: ['vm-webapp'],
  baremetal: ['iso'],
  scheduling: ['rollout'],
  bench: ['storage'],
  faults: ['chainfire-registers', 'deployer-leadership', 'flaredb'],
  prove: ['quick'],
};

/** Only cluster suites are ordered; unit tests run in any order. */
const SUITE = /\/tests\/([^/]+)\/[^/]+\.test\.ts$/;

/** The file's place in its suite (suites run one after another: see their groupOrder); -1 outside a cluster suite. */
export function layerRank(moduleId: string): number {
  const suite = SUITE.exec(moduleId)?.[1];
  if (!suite || !(suite in LAYER_ORDER)) return -1;
  const base = moduleId.split('/').pop()!.replace(/\.test\.ts$/, '');
  const i = LAYER_ORDER[suite].indexOf(base);
  if (i < 0) throw new Error(`layer file ${moduleId} is not in LAYER_ORDER.${suite} (tests/layer-order.ts): add it where it belongs`);
  return i;
}

export class LayerSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((a, b) => layerRank(a.moduleId) - layerRank(b.moduleId) || a.moduleId.localeCompare(b.moduleId));
  }
}
