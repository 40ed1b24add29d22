/**
 * Bundles the deployer, its agent and deployerctl (src/main.ts; no
 * dependencies beyond Node's own modules) into one CommonJS file for Debian
 * bookworm's Node 18 (services/bundle.ts). Used by the image build
 * (stacks/reference/deployer) and by hand:
 *
 *   npx tsx services/deployer/build.ts /tmp/deployer.js
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForNode18, bundleWhenRun } from '../bundle.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ENTRY = path.join(here, 'src', 'main.ts');

export function bundleDeployer(outFile: string): Promise<void> {
  return bundleForNode18('deployer', ENTRY, outFile);
}

bundleWhenRun(import.meta.url, 'deployer', bundleDeployer);
