/**
 * Tenant guest images: a small Debian root (mmdebstrap from the host's apt
 * sources, like the node image) holding what one tenant workload needs,
 * as a compressed qcow2 of an ext4 filesystem. The guest boots the node's
 * guest kernel and initrd (plasmavmc), which mounts this root
 * (`ultracloud.root=`) and switches to the image's own init.
 *
 * Cached like the node image: a folder per recipe hash (packages, files,
 * generated inputs, scripts, apt sources, this builder), built in a temp
 * folder renamed into place, so a killed build leaves nothing finished.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { HostError } from '../errors.js';
import { elapsed, progress } from '../log.js';
import { requireRoot, requireTools } from '../host.js';
import { hostSourcesFor } from './apt-sources.js';
import { cachedBuild } from './cache.js';
import { pathDigest, sha256, treeDigest } from './digest.js';
import { DPKG_EXCLUDES, mmdebstrap } from './mmdebstrap.js';

const BUILDER_SOURCES = ['guest.ts', 'mmdebstrap.ts'].map((f) => path.join(path.dirname(fileURLToPath(import.meta.url)), f));
/** A guest build's peak: the root (a few hundred MiB), the raw disk and the qcow2. */
const GUEST_BUILD_BYTES = 2 * 2 ** 30;

export interface GuestImageDef {
  /** Short name: the cache folder `guest-<name>-<hash>` and the image's label. */
  name: string;
  variant: 'essential' | 'minbase';
  packages: string[];
  /** Copied over the root after the packages. */
  filesDir?: string;
  /** Files made on the host into the staging tree (e.g. a bundled app), hashed by their inputs. */
  generated?: { inputs: string[]; data?(): unknown; build(staging: string): Promise<void> };
  /** Run in the root (chroot, /bin/sh -eu) last: pruning, users, links. */
  customizeScript?: string;
  /** The ext4 filesystem's size (the disk's virtual size); sparse. */
  sizeMiB: number;
}

export interface BuiltGuestImage {
  name: string;
  hash: string;
  dir: string;
  /** Compressed qcow2 of the root filesystem. */
  disk: string;
  /** sha256 and size of disk.qcow2: what a node checks after the copy. */
  sha256: string;
  bytes: number;
  /** The filesystem's size: the smallest volume it fits in. */
  virtualBytes: number;
  /** Bytes the root's files take (du of the built tree). */
  rootBytes: number;
  builtAt: string;
  buildSeconds: number;
}

export function guestRecipe(def: GuestImageDef, suite: string, sources: string): { hash: string; description: Record<string, unknown> } {
  const description = {
    guest: def.name,
    suite,
    variant: def.variant,
    packages: [...def.packages].sort(),
    files: def.filesDir ? treeDigest(def.filesDir) : {},
    generated: [...(def.generated?.inputs ?? []).map(pathDigest), ...(def.generated?.data ? [def.generated.data()] : [])],
    customize: def.customizeScript ? sha256(fs.readFileSync(def.customizeScript)) : null,
    sizeMiB: def.sizeMiB,
    sources,
    dpkg: DPKG_EXCLUDES,
    builder: BUILDER_SOURCES.map((f) => sha256(fs.readFileSync(f))),
  };
  return { hash: sha256(JSON.stringify(description)).slice(0, 16), description };
}

export interface GuestEnsureOptions {
  cacheDir: string;
  suite: string;
  debianSources?: string;
  rebuild?: boolean;
  verbose?: boolean;
}

/** The guest image of this recipe: from the cache, or built now (needs root and mmdebstrap). */
export async function ensureGuestImage(def: GuestImageDef, opts: GuestEnsureOptions): Promise<BuiltGuestImage> {
  const recipe = guestRecipe(def, opts.suite, hostSourcesFor(opts.suite, opts.debianSources));
  return cachedBuild<BuiltGuestImage>({
    cacheDir: opts.cacheDir,
    name: `guest-${def.name}-${recipe.hash}`,
    what: 'guest image build',
    rebuild: opts.rebuild,
    hit: (c) => progress('guest', `${def.name} guest image ${recipe.hash} cached (built ${c.builtAt}, ${c.buildSeconds}s, ${(c.bytes / 2 ** 20).toFixed(0)} MiB)`),
    preflight() {
      requireRoot(`building the ${def.name} guest image`);
      requireTools(['mmdebstrap', 'mkfs.ext4', 'qemu-img']);
    },
    buildBytes: GUEST_BUILD_BYTES,
    build: (dir) => build(def, opts, recipe, dir),
  });
}

async function build(def: GuestImageDef, opts: GuestEnsureOptions, recipe: { hash: string; description: Record<string, unknown> }, finalDir: string): Promise<BuiltGuestImage> {
  const started = Date.now();
  const tmp = `${path.dirname(finalDir)}/.tmp-${path.basename(finalDir)}-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  try {
    const rootfs = path.join(tmp, 'rootfs');
    const staging = path.join(tmp, 'staging');
    const sourcesFile = path.join(tmp, 'debian.sources');
    fs.writeFileSync(sourcesFile, recipe.description.sources as string);
    fs.mkdirSync(staging, { recursive: true });
    if (def.filesDir) fs.cpSync(def.filesDir, staging, { recursive: true });
    if (def.generated) {
      progress('guest', `generating ${def.name} files on the host`);
      await def.generated.build(staging);
    }
    const hooks = [`sync-in ${staging} /`];
    if (def.customizeScript) {
      fs.copyFileSync(def.customizeScript, path.join(tmp, 'customize.sh'));
      hooks.push(`copy-in ${path.join(tmp, 'customize.sh')} /tmp`, 'chroot "$1" /bin/sh -eu /tmp/customize.sh', 'rm -f "$1/tmp/customize.sh"');
    }
    // No package database work happens in a guest: apt's lists and caches go.
    hooks.push('rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/debconf/*-old "$1"/var/log/*');
    progress('guest', `building the ${def.name} guest image ${recipe.hash}: ${def.packages.join(', ')} on ${def.variant} ${opts.suite} (mmdebstrap)`);
    await mmdebstrap({ scope: 'guest', variant: def.variant, suite: opts.suite, packages: def.packages, rootfs, sourcesFile, customizeHooks: hooks, verbose: opts.verbose ?? false });
    const du = await execa('du', ['-sxb', rootfs]);
    const rootBytes = Number(du.stdout.split(/\s/)[0]);
    if (rootBytes > def.sizeMiB * 2 ** 20 * 0.8) {
      throw new HostError(`the ${def.name} guest's root takes ${(rootBytes / 2 ** 20).toFixed(0)} MiB, over 80% of its ${def.sizeMiB} MiB filesystem: raise sizeMiB`);
    }
    progress('guest', `root ready after ${elapsed(started)} (${(rootBytes / 2 ** 20).toFixed(0)} MiB); making the disk`);
    const manifest = await execa('chroot', [rootfs, 'dpkg-query', '-W', '-f', '${Package} ${Version}\n']);
    fs.writeFileSync(path.join(tmp, 'packages.txt'), manifest.stdout);
    const raw = path.join(tmp, 'root.raw');
    await execa('mkfs.ext4', ['-q', '-F', '-L', `guest-${def.name}`.slice(0, 16), '-d', rootfs, raw, `${def.sizeMiB}M`]);
    const disk = path.join(tmp, 'disk.qcow2');
    await execa('qemu-img', ['convert', '-c', '-O', 'qcow2', raw, disk]);
    fs.rmSync(raw);
    fs.rmSync(rootfs, { recursive: true, force: true });
    fs.rmSync(staging, { recursive: true, force: true });
    const image: BuiltGuestImage = {
      name: def.name,
      hash: recipe.hash,
      dir: finalDir,
      disk: path.join(finalDir, 'disk.qcow2'),
      sha256: sha256(fs.readFileSync(disk)),
      bytes: fs.statSync(disk).size,
      virtualBytes: def.sizeMiB * 2 ** 20,
      rootBytes,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 1000),
    };
    fs.writeFileSync(path.join(tmp, 'recipe.json'), JSON.stringify(recipe.description, null, 2));
    fs.writeFileSync(path.join(tmp, 'image.json'), JSON.stringify(image, null, 2));
    fs.rmSync(finalDir, { recursive: true, force: true });
    fs.renameSync(tmp, finalDir);
    progress('guest', `built ${path.basename(finalDir)} in ${image.buildSeconds}s (qcow2 ${(image.bytes / 2 ** 20).toFixed(0)} MiB, root ${(rootBytes / 2 ** 20).toFixed(0)} MiB)`);
    return image;
  } catch (e) {
    // --one-file-system: never into a mount a failed mmdebstrap might have left.
    await execa('rm', ['-rf', '--one-file-system', tmp], { reject: false });
    throw e;
  }
}
