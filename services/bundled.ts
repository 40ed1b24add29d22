/**
 * An image's `generated` step for one of our services: services/<name>
 * bundled (services/bundle.ts) into `destInImage`, hashed into the image's
 * recipe by the service's sources, its build.ts, the bundler, and the
 * lockfile entries the bundle holds (services/lock-closure.ts: not the
 * whole lockfile, so a new dev tool rebuilds no image). esbuild is loaded
 * only when an image is built.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleLockKey } from './lock-closure.js';

const SERVICES = path.dirname(fileURLToPath(import.meta.url));

export function bundledService(name: string, destInImage: string): { inputs: string[]; data(): unknown; build(staging: string): Promise<void> } {
  const dir = path.join(SERVICES, name);
  return {
    inputs: [path.join(dir, 'src'), path.join(dir, 'build.ts'), path.join(SERVICES, 'bundle.ts')],
    data: () => ({ lock: bundleLockKey(path.join(dir, 'src'), path.resolve(SERVICES, '../package-lock.json')) }),
    async build(staging) {
      const { bundleForNode18 } = await import('./bundle.js');
      await bundleForNode18(name, path.join(dir, 'src', 'main.ts'), path.join(staging, destInImage));
    },
  };
}
