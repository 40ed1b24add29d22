/**
 * The cache frame every image builder shares (node image, nix images, guest
 * image, bare-metal ISO): one folder per recipe hash under `<cache>/images`,
 * whose `image.json` is written last, so a folder without it never counts as
 * built; a lock per recipe, so two runs build it once; the leftovers of
 * killed builds cleared before a new one starts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { requireFreeSpace } from '../host.js';
import { FileLock } from '../lock.js';
import { progress } from '../log.js';
import { findProcesses, isAlive, terminate } from '../proc.js';

export interface CachedBuild<T> {
  cacheDir: string;
  /** The recipe's folder under `<cache>/images` (`<kind>-<hash>`); its lock is `.build-<name>.lock`. */
  name: string;
  /** What is built, for the lock's and the free-space check's messages ("guest image build"). */
  what: string;
  /** Drop the cached build of this recipe and build again. */
  rebuild?: boolean;
  /** Reports a cache hit (its progress line). */
  hit(built: T): void;
  /** Host checks a build needs (root, tools), before waiting on the lock. */
  preflight?(): void;
  /** Free space a build needs in the cache, checked once the lock is held. */
  buildBytes?: number;
  /** Builds into `dir` (through a temp folder renamed into place) and returns what its image.json says. */
  build(dir: string): Promise<T>;
}

/** What a finished build's image.json says; undefined while it is absent or unreadable (not built, or cut short). */
export function readBuilt<T>(dir: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'image.json'), 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export async function cachedBuild<T>(o: CachedBuild<T>): Promise<T> {
  const imagesDir = path.join(o.cacheDir, 'images');
  const dir = path.join(imagesDir, o.name);
  if (o.rebuild) {
    progress('image', `dropping cached build ${o.name}`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const hit = readBuilt<T>(dir);
  if (hit) {
    o.hit(hit);
    return hit;
  }
  o.preflight?.();
  fs.mkdirSync(imagesDir, { recursive: true });
  const lock = FileLock.acquire(path.join(imagesDir, `.build-${o.name}.lock`), o.what);
  try {
    const again = readBuilt<T>(dir); // another run may have finished it while we waited
    if (again) return again;
    await removeStaleBuilds(imagesDir);
    if (o.buildBytes) requireFreeSpace(o.cacheDir, o.buildBytes, `the ${o.what}`, 'free space there, or set ULTRACLOUD_IMAGE_CACHE elsewhere');
    const last = lastBuild(imagesDir, o.name);
    if (last) progress('image', `${o.what} ${o.name}: the last of its kind here (${last.name}) took ${last.seconds} s; about as long again`);
    return await o.build(dir);
  } finally {
    lock.release();
  }
}

/**
 * The newest finished build of the same kind as `name` (`reference-`,
 * `guest-webapp-`, `baremetal-` and a recipe hash), by its image.json:
 * what a progress line estimates a new build from.
 */
export function lastBuild(imagesDir: string, name: string): { name: string; seconds: number } | undefined {
  const kind = name.slice(0, name.lastIndexOf('-') + 1);
  if (!kind || !fs.existsSync(imagesDir)) return undefined;
  let best: { name: string; seconds: number; at: number } | undefined;
  for (const e of fs.readdirSync(imagesDir)) {
    if (e === name || !e.startsWith(kind) || !/^[0-9a-f]+$/.test(e.slice(kind.length))) continue;
    const b = readBuilt<{ builtAt?: string; buildSeconds?: number }>(path.join(imagesDir, e));
    const at = b?.builtAt ? Date.parse(b.builtAt) : NaN;
    if (b?.buildSeconds === undefined || !Number.isFinite(at)) continue;
    if (!best || at > best.at) best = { name: e, seconds: b.buildSeconds, at };
  }
  return best && { name: best.name, seconds: best.seconds };
}

/** Leftovers of killed builds: stop their processes, unmount, remove. */
export async function removeStaleBuilds(imagesDir: string): Promise<void> {
  if (!fs.existsSync(imagesDir)) return;
  for (const entry of fs.readdirSync(imagesDir)) {
    const m = /^\.tmp-.*-(\d+)$/.exec(entry);
    if (!m || isAlive(Number(m[1]))) continue;
    const dir = path.join(imagesDir, entry);
    progress('image', `removing leftovers of an interrupted build: ${entry}`);
    await terminate(findProcesses(dir).map((p) => p.pid));
    const mounts = fs
      .readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[1])
      .filter((m) => m && (m === dir || m.startsWith(`${dir}/`)))
      .sort((a, b) => b.length - a.length);
    for (const m of mounts) await execa('umount', ['-l', m], { reject: false });
    await execa('rm', ['-rf', '--one-file-system', dir]);
  }
}
