/**
 * Our services (creditservice, the deployer, the web app) ship as one
 * CommonJS file each for Debian bookworm's Node 18: every dependency
 * bundled by esbuild, readable (not minified), no source map. Each
 * service's build.ts names its entry and calls these.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Bundles `entry` into `outFile`; throws (with esbuild's messages) on any error, prints warnings. */
export async function bundleForNode18(name: string, entry: string, outFile: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(outFile)), { recursive: true });
  await build({
    entryPoints: [entry],
    outfile: outFile,
    bundle: true,
    platform: 'node',
    target: 'node18',
    format: 'cjs',
    minify: false,
    sourcemap: false,
    legalComments: 'inline',
    logLevel: 'warning',
    banner: { js: `// ${name}: bundled by services/${name}/build.ts (esbuild); run with Node 18.` },
  });
}

/** `npx tsx services/<name>/build.ts <outFile>`: when that build.ts (`moduleUrl`) is the program, bundle and print the file. */
export function bundleWhenRun(moduleUrl: string, name: string, bundle: (outFile: string) => Promise<void>): void {
  if (process.argv[1] === undefined || path.resolve(process.argv[1]) !== fileURLToPath(moduleUrl)) return;
  const outFile = process.argv[2];
  if (!outFile || process.argv.length > 3) {
    process.stderr.write(`usage: npx tsx services/${name}/build.ts <outFile>\n`);
    process.exit(2);
  }
  bundle(outFile).then(
    () => process.stdout.write(`${outFile}\n`),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
