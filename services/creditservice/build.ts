/**
 * Bundles creditservice (src/main.ts and every dependency: ioredis, ldapts,
 * jose 5) into one CommonJS file for Debian bookworm's Node 18, readable
 * (not minified), no source map. Used by the image build
 * (stacks/reference/creditservice) and by hand:
 *
 *   npx tsx services/creditservice/build.ts /tmp/creditservice.js
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForNode18, bundleWhenRun } from '../bundle.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ENTRY = path.join(here, 'src', 'main.ts');

export function bundleCreditservice(outFile: string): Promise<void> {
  return bundleForNode18('creditservice', ENTRY, outFile);
}

bundleWhenRun(import.meta.url, 'creditservice', bundleCreditservice);
