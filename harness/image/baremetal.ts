/**
 * A bare-metal bootstrap's two artifacts, built on the host from Debian
 * packages (mmdebstrap from the host's apt sources) and cached together by
 * one recipe hash, like the node image. What goes in them is the stack's
 * (Stack.baremetal, a BaremetalDef); this builder knows only their shape:
 *
 * - the install bundle: the node system (the def's packages, which must
 *   bring a kernel and GRUB for BIOS and UEFI, its files, generated files
 *   and customize script) as a zstd tar for an installer to fetch;
 * - the installer ISO: that kernel, an initramfs holding a small Debian
 *   userland (the def's installer packages) with the def's init as /init
 *   and the modules it loads first, and GRUB for BIOS and UEFI
 *   (grub-mkrescue, xorriso). Each chassis boots an ISO whose grub.cfg
 *   carries its kernel parameters (`chassisIso`, from the kernel and
 *   initramfs kept beside the generic ISO), as an operator would burn or
 *   mount one per machine.
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

const here = path.dirname(fileURLToPath(import.meta.url));
const BUILDER_SOURCES = ['baremetal.ts', 'mmdebstrap.ts'].map((f) => path.join(here, f));
/** Two roots, the cpio, the ISO and the tar at once. */
const BUILD_BYTES = 3 * 2 ** 30;

/** What a stack puts in its bare-metal artifacts. */
export interface BaremetalDef {
  /** The installed node system (mmdebstrap minbase): its packages must bring a kernel and GRUB for BIOS and UEFI. */
  system: {
    packages: string[];
    /** Copied over the root before the customize script runs. */
    filesDir: string;
    /** Run in the root (chroot, /bin/sh -eu). */
    customizeScript: string;
    /** Files made on the host into the staging tree (a bundled agent), hashed by their inputs. */
    generated?: { inputs: string[]; data?(): unknown; build(staging: string): Promise<void> };
  };
  /** The installer's userland (mmdebstrap essential, the ISO's initramfs). */
  installer: {
    packages: string[];
    /** The initramfs's /init. */
    init: string;
    /** Written to /etc/ultracloud/modules.load: what the init loads before it looks for NICs and disks. */
    modules: string[];
  };
}

export interface BaremetalImages {
  hash: string;
  dir: string;
  iso: string;
  isoBytes: number;
  bundle: string;
  bundleSha256: string;
  bundleBytes: number;
  /** Bytes the installed system's files take. */
  systemBytes: number;
  kernelVersion: string;
  builtAt: string;
  buildSeconds: number;
}

export interface BaremetalEnsureOptions {
  cacheDir: string;
  suite: string;
  debianSources?: string;
  rebuild?: boolean;
  verbose?: boolean;
}

export function baremetalRecipe(def: BaremetalDef, suite: string, sources: string): { hash: string; description: Record<string, unknown> } {
  const description = {
    baremetal: 1,
    suite,
    system: {
      packages: [...def.system.packages].sort(),
      files: treeDigest(def.system.filesDir),
      customize: pathDigest(def.system.customizeScript),
      generated: [...(def.system.generated?.inputs ?? []).map(pathDigest), ...(def.system.generated?.data ? [def.system.generated.data()] : [])],
    },
    live: { packages: [...def.installer.packages].sort(), init: pathDigest(def.installer.init), modules: def.installer.modules },
    sources,
    dpkg: DPKG_EXCLUDES,
    builder: BUILDER_SOURCES.map((f) => sha256(fs.readFileSync(f))),
  };
  return { hash: sha256(JSON.stringify(description)).slice(0, 16), description };
}

/** The ISO and bundle of this recipe: from the cache, or built now (root, mmdebstrap, grub-mkrescue). */
export async function ensureBaremetalImages(def: BaremetalDef, opts: BaremetalEnsureOptions): Promise<BaremetalImages> {
  const recipe = baremetalRecipe(def, opts.suite, hostSourcesFor(opts.suite, opts.debianSources));
  return cachedBuild<BaremetalImages>({
    cacheDir: opts.cacheDir,
    name: `baremetal-${recipe.hash}`,
    what: 'bare-metal image build',
    rebuild: opts.rebuild,
    hit: (c) => progress('baremetal', `ISO and bundle ${recipe.hash} cached (built ${c.builtAt}, ${c.buildSeconds}s)`),
    preflight() {
      requireRoot('building the bare-metal ISO and bundle');
      requireTools(['mmdebstrap', 'grub-mkrescue', 'xorriso', 'mformat', 'cpio', 'zstd']);
    },
    buildBytes: BUILD_BYTES,
    build: (dir) => build(def, opts, recipe, dir),
  });
}

/** The ISO's GRUB config: serial console, one entry, the kernel parameters `params` (none: the generic ISO). */
export function isoGrubCfg(params: Record<string, string>): string {
  for (const [k, v] of Object.entries(params)) {
    if (!/^[a-z_]+$/.test(k) || !/^[\w.:/@%+,=-]+$/.test(v)) throw new HostError(`kernel parameter ultracloud.${k}=${v}: not a plain word`);
  }
  const append = Object.entries(params).map(([k, v]) => `ultracloud.${k}=${v}`).join(' ');
  return [
    'serial --unit=0 --speed=115200',
    'terminal_input serial console',
    'terminal_output serial console',
    'set timeout=0',
    "menuentry 'UltraCloud installer' {",
    `  linux /boot/vmlinuz console=ttyS0,115200 loglevel=4 panic=10${append ? ` ${append}` : ''}`,
    '  initrd /boot/initrd.img',
    '}',
    '',
  ].join('\n');
}

/**
 * An ISO whose GRUB boots the installer with `params`: grub-mkrescue again
 * over the cached ISO tree (xorriso cannot replay grub-mkrescue's GPT with
 * a changed file: "overlapping GPT entries").
 */
export async function chassisIso(images: BaremetalImages, outIso: string, params: Record<string, string>): Promise<void> {
  const tree = `${outIso}.tree`;
  fs.rmSync(tree, { recursive: true, force: true });
  fs.mkdirSync(path.join(tree, 'boot/grub'), { recursive: true });
  for (const f of ['vmlinuz', 'initrd.img']) fs.copyFileSync(path.join(images.dir, 'iso/boot', f), path.join(tree, 'boot', f));
  fs.writeFileSync(path.join(tree, 'boot/grub/grub.cfg'), isoGrubCfg(params));
  fs.rmSync(outIso, { force: true });
  try {
    await grubMkrescue(outIso, tree);
  } finally {
    fs.rmSync(tree, { recursive: true, force: true });
  }
}

async function grubMkrescue(outIso: string, tree: string): Promise<void> {
  const r = await execa('grub-mkrescue', ['-o', outIso, tree, '--', '-volid', 'ULTRACLOUD'], { reject: false, all: true });
  if (r.exitCode !== 0) throw new HostError(`grub-mkrescue failed: ${r.all?.split('\n').slice(-8).join('\n')}`);
}

async function build(def: BaremetalDef, opts: BaremetalEnsureOptions, recipe: { hash: string; description: Record<string, unknown> }, finalDir: string): Promise<BaremetalImages> {
  const started = Date.now();
  const tmp = `${path.dirname(finalDir)}/.tmp-${path.basename(finalDir)}-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const sh = (cmd: string) => execa('sh', ['-euc', cmd], { all: true });
  try {
    const sourcesFile = path.join(tmp, 'debian.sources');
    fs.writeFileSync(sourcesFile, recipe.description.sources as string);
    const noCaches = 'rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/cache/debconf/*-old "$1"/var/log/*.log';

    // The node system.
    const system = path.join(tmp, 'system');
    const staging = path.join(tmp, 'staging');
    fs.cpSync(def.system.filesDir, staging, { recursive: true });
    if (def.system.generated) {
      progress('baremetal', 'making the generated files of the node system (bundling)');
      await def.system.generated.build(staging);
    }
    fs.copyFileSync(def.system.customizeScript, path.join(tmp, 'customize.sh'));
    progress('baremetal', `building the node system ${recipe.hash}: ${def.system.packages.join(', ')} (mmdebstrap minbase)`);
    await mmdebstrap({
      scope: 'baremetal', variant: 'minbase', suite: opts.suite, packages: def.system.packages, rootfs: system, sourcesFile, verbose: opts.verbose ?? false,
      customizeHooks: [`sync-in ${staging} /`, `copy-in ${path.join(tmp, 'customize.sh')} /tmp`, 'chroot "$1" /bin/sh -eu /tmp/customize.sh', 'rm -f "$1/tmp/customize.sh"', noCaches],
    });
    const kernelVersion = fs.readdirSync(path.join(system, 'usr/lib/modules'))[0];
    if (!kernelVersion) throw new HostError('the node system has no kernel modules folder');
    const systemBytes = Number((await execa('du', ['-sxb', system])).stdout.split(/\s/)[0]);
    progress('baremetal', `node system ready after ${elapsed(started)} (${(systemBytes / 2 ** 20).toFixed(0)} MiB, kernel ${kernelVersion})`);

    // The installer's userland, with the node system's kernel modules (already pruned to what a virtio machine needs).
    const live = path.join(tmp, 'live');
    progress('baremetal', `building the installer userland: ${def.installer.packages.join(', ')} (mmdebstrap essential)`);
    await mmdebstrap({ scope: 'baremetal', variant: 'essential', suite: opts.suite, packages: def.installer.packages, rootfs: live, sourcesFile, verbose: opts.verbose ?? false, customizeHooks: [noCaches] });
    fs.cpSync(path.join(system, 'usr/lib/modules', kernelVersion), path.join(live, 'usr/lib/modules', kernelVersion), { recursive: true });
    await execa('chroot', [live, 'depmod', kernelVersion]);
    fs.mkdirSync(path.join(live, 'etc/ultracloud'), { recursive: true });
    fs.writeFileSync(path.join(live, 'etc/ultracloud/modules.load'), `${def.installer.modules.join('\n')}\n`);
    fs.copyFileSync(def.installer.init, path.join(live, 'init'));
    fs.chmodSync(path.join(live, 'init'), 0o755);

    // The ISO: kernel, initramfs, GRUB for BIOS and UEFI.
    const isoTree = path.join(tmp, 'iso');
    fs.mkdirSync(path.join(isoTree, 'boot/grub'), { recursive: true });
    fs.copyFileSync(path.join(system, 'boot', `vmlinuz-${kernelVersion}`), path.join(isoTree, 'boot/vmlinuz'));
    progress('baremetal', 'packing the installer initramfs (cpio, zstd)');
    await sh(`cd ${live} && find . -xdev -print0 | cpio --null -o -H newc --quiet | zstd -q -T0 -12 -o ${path.join(isoTree, 'boot/initrd.img')}`);
    fs.writeFileSync(path.join(isoTree, 'boot/grub/grub.cfg'), isoGrubCfg({}));
    const iso = path.join(tmp, 'installer.iso');
    await grubMkrescue(iso, isoTree);

    // The bundle.
    progress('baremetal', 'packing the install bundle (tar, zstd)');
    const bundle = path.join(tmp, 'bundle.tar.zst');
    await sh(`tar -C ${system} --numeric-owner --one-file-system -cf - . | zstd -q -T0 -12 -o ${bundle}`);
    const manifest = await execa('chroot', [system, 'dpkg-query', '-W', '-f', '${Package} ${Version}\n']);
    fs.writeFileSync(path.join(tmp, 'packages.txt'), manifest.stdout);
    await execa('rm', ['-rf', '--one-file-system', system, live, staging, path.join(isoTree, 'boot/grub')]);

    const images: BaremetalImages = {
      hash: recipe.hash,
      dir: finalDir,
      iso: path.join(finalDir, 'installer.iso'),
      isoBytes: fs.statSync(iso).size,
      bundle: path.join(finalDir, 'bundle.tar.zst'),
      bundleSha256: sha256(fs.readFileSync(bundle)),
      bundleBytes: fs.statSync(bundle).size,
      systemBytes,
      kernelVersion,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 1000),
    };
    fs.writeFileSync(path.join(tmp, 'recipe.json'), JSON.stringify(recipe.description, null, 2));
    fs.writeFileSync(path.join(tmp, 'image.json'), JSON.stringify(images, null, 2));
    fs.rmSync(finalDir, { recursive: true, force: true });
    fs.renameSync(tmp, finalDir);
    progress('baremetal', `built ${path.basename(finalDir)} in ${images.buildSeconds}s (ISO ${(images.isoBytes / 2 ** 20).toFixed(0)} MiB, bundle ${(images.bundleBytes / 2 ** 20).toFixed(0)} MiB of ${(systemBytes / 2 ** 20).toFixed(0)} MiB)`);
    return images;
  } catch (e) {
    await execa('rm', ['-rf', '--one-file-system', tmp], { reject: false });
    throw e;
  }
}
