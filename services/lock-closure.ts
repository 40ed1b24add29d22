/**
 * What of package-lock.json a bundled service is made of: the entries of
 * the packages its sources import, everything those depend on (resolved
 * as Node resolves nested node_modules), and the bundler's own. An image
 * recipe holds these, not the whole lockfile, so adding a dev tool (a
 * linter, a reporter) to the project rebuilds no image, while a new
 * version of anything a bundle holds does.
 */
import fs from 'node:fs';
import { builtinModules } from 'node:module';
import path from 'node:path';

interface LockPackage {
  version?: string;
  integrity?: string;
  resolved?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
export interface Lockfile {
  packages: Record<string, LockPackage>;
}

/** The package a bare specifier names (`@aws-sdk/client-s3/x` → `@aws-sdk/client-s3`); undefined for relative paths and Node's builtins. */
export function packageOf(spec: string): string | undefined {
  if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) return undefined;
  const parts = spec.split('/');
  const name = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  return BUILTINS.has(name) ? undefined : name;
}
const BUILTINS = new Set(builtinModules);

/** The packages a source text imports or requires (import, export from, import(), require()). */
export function importsOf(source: string): string[] {
  const out = new Set<string>();
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^\s*import\s+)['"]([^'"]+)['"]/gm;
  for (const m of source.matchAll(re)) {
    const p = packageOf(m[1]);
    if (p) out.add(p);
  }
  return [...out].sort();
}

/** Where Node finds `dep` from the package installed at `from` ('' is the project): the nearest node_modules up the tree. */
export function resolveIn(lock: Lockfile, from: string, dep: string): string | undefined {
  let base = from;
  for (;;) {
    const at = base ? `${base}/node_modules/${dep}` : `node_modules/${dep}`;
    if (lock.packages[at]) return at;
    if (!base) return undefined;
    const i = base.lastIndexOf('/node_modules/');
    base = i < 0 ? '' : base.slice(0, i);
  }
}

/**
 * Every lock entry reachable from `roots` (package names the sources
 * import), as `path → version integrity`, sorted. A root the lock does not
 * hold throws: the bundle could not be built either. Optional and peer
 * dependencies count when installed.
 */
export function lockClosure(lock: Lockfile, roots: string[]): Record<string, string> {
  const seen = new Map<string, string>();
  const visit = (from: string, dep: string, required: boolean) => {
    const at = resolveIn(lock, from, dep);
    if (!at) {
      if (required) throw new Error(`package-lock.json has no ${dep} (needed by ${from || 'the service'}): run npm install`);
      return;
    }
    if (seen.has(at)) return;
    const p = lock.packages[at];
    seen.set(at, `${p.version ?? '?'} ${p.integrity ?? p.resolved ?? ''}`.trim());
    for (const d of Object.keys(p.dependencies ?? {})) visit(at, d, true);
    for (const d of [...Object.keys(p.optionalDependencies ?? {}), ...Object.keys(p.peerDependencies ?? {})]) visit(at, d, false);
  };
  for (const r of roots) visit('', r, true);
  return Object.fromEntries([...seen.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The .ts files under `dir`, sorted. */
function sources(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** The lock entries a bundle of `srcDir` holds, and the bundler's (esbuild's), read from `lockFile`. */
export function bundleLockKey(srcDir: string, lockFile: string, bundler = 'esbuild'): Record<string, string> {
  const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as Lockfile;
  const roots = new Set(sources(srcDir).flatMap((f) => importsOf(fs.readFileSync(f, 'utf8'))));
  roots.add(bundler);
  return lockClosure(lock, [...roots].sort());
}
