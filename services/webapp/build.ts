/**
 * Bundles the tenant web app (src/main.ts and every dependency: ioredis,
 * @aws-sdk/client-s3) into one CommonJS file for Debian bookworm's Node 18,
 * readable (not minified), no source map. Used by the guest image build
 * (the tenant VM demo, /usr/lib/ultracloud/webapp/webapp.js) and by hand:
 *
 *   npx tsx services/webapp/build.ts /tmp/webapp.js
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleForNode18, bundleWhenRun } from '../bundle.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ENTRY = path.join(here, 'src', 'main.ts');

export function bundleWebapp(outFile: string): Promise<void> {
  return bundleForNode18('webapp', ENTRY, outFile);
}

bundleWhenRun(import.meta.url, 'webapp', bundleWebapp);
