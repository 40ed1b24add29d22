/**
 * Bundles the tenant web app (src/main.ts and every dependency: ioredis,
 * @aws-sdk/client-s3) into one CommonJS file for Debian bookworm's Node 18,
 * readable (not minified), no source map. Used by the guest image build
 * (the tenant VM demo, /usr/lib/ultracloud/webapp/webapp.js) and by hand:
 *
 *   npx tsx services/webapp/build.ts /tmp/webapp.js
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ENTRY = path.join(here, 'src', 'main.ts');

export async function bundleWebapp(outFile: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(outFile)), { recursive: true });
  // Throws (with esbuild's messages) on any error; warnings are printed.
  await build({
    entryPoints: [ENTRY],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    minify: false,
    sourcemap: false,
    legalComments: 'inline',
    logLevel: 'warning',
    banner: {
      js: '// webapp: bundled by services/webapp/build.ts (esbuild); run with Node 18.',
    },
  });
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  const outFile = process.argv[2];
  if (!outFile || process.argv.length > 3) {
    process.stderr.write('usage: npx tsx services/webapp/build.ts <outFile>\n');
    process.exit(2);
  }
  bundleWebapp(outFile).then(
    () => process.stdout.write(`${outFile}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
