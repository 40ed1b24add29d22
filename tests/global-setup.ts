/**
 * Global setup of the cluster suites. The work is in cluster-setup.ts,
 * loaded by Node through tsx rather than through Vite's module runner: the
 * harness and every stack module take about 2.5 s to load there and 0.5 s
 * here, most of what re-running one failed check costs.
 */
import { tsImport } from 'tsx/esm/api';
import type { TestProject } from 'vitest/node';
import type { ClusterInfo } from '../harness/cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

export default async function setup(project: TestProject) {
  const { setup: clusterSetup } = (await tsImport('./cluster-setup.ts', import.meta.url)) as typeof import('./cluster-setup.js');
  return clusterSetup(project);
}
