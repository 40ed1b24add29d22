/**
 * The images a cluster needs, all from what its stack hands in: the node
 * images (the stack's image backend), the recipe hash this checkout would
 * build, the stack's tenant guest images and its bare-metal artifacts.
 */
import path from 'node:path';
import { UsageError } from '../errors.js';
import type { ImageBackend } from '../stack.js';
import { type BaremetalImages, ensureBaremetalImages } from '../image/baremetal.js';
import { readBuilt } from '../image/cache.js';
import type { BuiltImage } from '../image/built.js';
import { imageDir } from '../image/debian.js';
import { type BuiltGuestImage, ensureGuestImage } from '../image/guest.js';
import type { ClusterCore } from './core.js';

/** The stack's image backend; a stack without one cannot build or key its images. */
function backend(c: ClusterCore): ImageBackend {
  if (!c.stack.imageBackend) throw new UsageError(`stack ${c.stack.name} hands in no image backend (Stack.imageBackend): nothing builds its node images`);
  return c.stack.imageBackend;
}

/**
 * The image recipe hash this checkout would build (no build: hashes the
 * recipe only); undefined when it cannot be computed here (no apt sources).
 */
export function currentRecipeHash(c: ClusterCore): string | undefined {
  try {
    return backend(c).recipeHash(c.specs, { stack: c.stack, debianSources: c.cfg.debianSources });
  } catch {
    return undefined;
  }
}

export async function build(c: ClusterCore, rebuild = false): Promise<BuiltImage> {
  // The backend's preflight runs first (in ensure), so a host that cannot build says so in one line.
  return backend(c).ensure(c.specs, { stack: c.stack, cacheDir: c.cfg.cacheDir, debianSources: c.cfg.debianSources, rebuild, verbose: c.cfg.verbose });
}

/** Throws (one line) when this host cannot build the stack's images; reads only. */
export function preflightImage(c: ClusterCore): void {
  backend(c).preflight();
}

/**
 * A tenant guest image of the stack (Stack.guests: `name`, else its first),
 * built like the node image from the same suite and sources.
 */
export async function buildGuest(c: ClusterCore, rebuild = false, name?: string): Promise<BuiltGuestImage> {
  const guests = c.stack.guests ?? [];
  const def = name === undefined ? guests[0] : guests.find((g) => g.name === name);
  if (!def) {
    const known = guests.map((g) => g.name).join(', ') || 'none';
    throw new UsageError(`stack ${c.stack.name} has no ${name === undefined ? '' : `'${name}' `}guest image (its guests: ${known})`);
  }
  return ensureGuestImage(def, { cacheDir: c.cfg.cacheDir, suite: c.stack.suite, debianSources: c.cfg.debianSources, rebuild, verbose: c.cfg.verbose });
}

/** The stack's bare-metal installer ISO and install bundle (Stack.baremetal), cached by recipe like the node image. */
export async function buildBaremetal(c: ClusterCore, rebuild = false): Promise<BaremetalImages> {
  if (!c.stack.baremetal) throw new UsageError(`stack ${c.stack.name} has no bare-metal artifacts (Stack.baremetal)`);
  return ensureBaremetalImages(c.stack.baremetal, { cacheDir: c.cfg.cacheDir, suite: c.stack.suite, debianSources: c.cfg.debianSources, rebuild, verbose: c.cfg.verbose });
}

/**
 * The image this checkout boots, built or not: its cached build, else the
 * folder and files a build fills (the snapshot key replaces the folder with
 * a placeholder). Undefined when the recipe cannot be computed here.
 */
export function plannedImage(c: ClusterCore): BuiltImage | undefined {
  const hash = currentRecipeHash(c);
  if (!hash) return undefined;
  const dir = imageDir(c.cfg.cacheDir, c.stack.name, hash);
  return readBuilt<BuiltImage>(dir) ?? { ...imageFiles(dir), stack: c.stack.name, hash, builtAt: '', buildSeconds: 0 };
}

/**
 * The files of a built node image in its folder, as debian.ts build() names
 * them (kept here: debian.ts is an input of the image recipe, so an edit
 * there rebuilds the image).
 */
export function imageFiles(dir: string): Pick<BuiltImage, 'dir' | 'disk' | 'kernel' | 'initrd' | 'probeInitrd'> {
  return { dir, disk: path.join(dir, 'disk.qcow2'), kernel: path.join(dir, 'vmlinuz'), initrd: path.join(dir, 'initrd.img'), probeInitrd: path.join(dir, 'probe-initrd.img') };
}
