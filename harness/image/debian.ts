/**
 * The reference stack's image builder: one Debian rootfs with every role's
 * packages and files, made by mmdebstrap from the host's apt sources, turned
 * into an ext4 qcow2 plus the kernel and initrd for direct boot.
 *
 * Images are cached by a hash of the whole recipe (packages, files, scripts,
 * topology, apt sources, this builder): an unchanged recipe is never rebuilt,
 * a changed one always is. Builds happen in a temp dir renamed into place at
 * the end, so a killed build leaves nothing that looks finished.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { HostError } from '../errors.js';
import { elapsed, progress } from '../log.js';
import { IMAGE_BUILD_BYTES, requireRoot, requireTools } from '../host.js';
import { type Role, type Stack, allUnits, unitsOn } from '../stack.js';
import type { NodeSpec } from '../topology.js';
import { hostSourcesFor } from './apt-sources.js';
import type { BuiltImage, EnsureOptions } from './built.js';
import { cachedBuild } from './cache.js';
import { pathDigest, sha256, treeDigest } from './digest.js';
import { DPKG_EXCLUDES, mmdebstrap } from './mmdebstrap.js';

const BUILDER_SOURCE = fileURLToPath(import.meta.url);
const MMDEBSTRAP_SOURCE = path.join(path.dirname(BUILDER_SOURCE), 'mmdebstrap.ts');
/** ext4 size inside the qcow2; sparse, so only used blocks cost disk. */
const DISK_SIZE = '8G';

export interface Recipe {
  hash: string;
  /** The canonical description that was hashed (kept next to the image). */
  description: Record<string, unknown>;
  packages: string[];
  sources: string;
}

export function imageRecipe(stack: Stack, nodes: NodeSpec[], sources: string): Recipe {
  const packages = [...new Set(stack.roles.flatMap((r) => r.image.packages))].sort();
  const roles = stack.roles.map((r) => ({
    name: r.name,
    units: Object.fromEntries(hostsOf(r, nodes).map((n) => [n.name, unitsOn(r, n)])),
    disable: r.image.disableUnits ?? [],
    mask: r.image.maskUnits ?? [],
    nodes: hostsOf(r, nodes).map((n) => n.name),
    files: r.image.filesDir ? treeDigest(r.image.filesDir) : {},
    customize: r.image.customizeScript ? sha256(fs.readFileSync(r.image.customizeScript)) : null,
    generated: [...(r.image.generated?.inputs ?? []).map(pathDigest), ...(r.image.generated?.data ? [r.image.generated.data()] : [])],
  }));
  const description = {
    stack: stack.name,
    suite: stack.suite,
    packages,
    roles,
    hosts: hostsFile(nodes),
    sources,
    dpkg: DPKG_EXCLUDES,
    builder: sha256(fs.readFileSync(BUILDER_SOURCE)),
    mmdebstrap: sha256(fs.readFileSync(MMDEBSTRAP_SOURCE)),
    disk: DISK_SIZE,
  };
  return { hash: sha256(JSON.stringify(description)).slice(0, 16), description, packages, sources };
}

export function imageDir(cacheDir: string, stack: string, hash: string): string {
  return path.join(cacheDir, 'images', `${stack}-${hash}`);
}

export async function ensureImage(stack: Stack, nodes: NodeSpec[], opts: EnsureOptions): Promise<BuiltImage> {
  const recipe = imageRecipe(stack, nodes, hostSourcesFor(stack.suite, opts.debianSources));
  return cachedBuild<BuiltImage>({
    cacheDir: opts.cacheDir,
    name: path.basename(imageDir(opts.cacheDir, stack.name, recipe.hash)),
    what: 'image build',
    rebuild: opts.rebuild,
    hit: (c) => progress('image', `${stack.name} image ${recipe.hash} cached (built ${c.builtAt}, ${c.buildSeconds}s)`),
    preflight() {
      requireRoot('building the node image');
      requireTools(['mmdebstrap', 'mkfs.ext4', 'qemu-img']);
    },
    buildBytes: IMAGE_BUILD_BYTES,
    build: (dir) => build(stack, nodes, recipe, dir, opts.verbose ?? false),
  });
}

async function build(stack: Stack, nodes: NodeSpec[], recipe: Recipe, finalDir: string, verbose: boolean): Promise<BuiltImage> {
  const started = Date.now();
  const tmp = `${path.dirname(finalDir)}/.tmp-${path.basename(finalDir)}-${process.pid}`;
  fs.mkdirSync(tmp, { recursive: true });
  const rootfs = path.join(tmp, 'rootfs');
  const staging = path.join(tmp, 'staging');
  const sourcesFile = path.join(tmp, 'debian.sources');
  fs.writeFileSync(sourcesFile, recipe.sources);
  await stage(stack, nodes, staging);

  progress('image', `building ${stack.name} image ${recipe.hash}: ${recipe.packages.length} packages from ${stack.suite} (mmdebstrap)`);
  await mmdebstrap({
    scope: 'image',
    variant: 'minbase',
    suite: stack.suite,
    packages: recipe.packages,
    rootfs,
    sourcesFile,
    customizeHooks: [
      `sync-in ${staging} /`,
      // The role scripts run in a mount namespace of their own, the rootfs bind-mounted on
      // itself: "/" in the chroot is then a mount point, as on a node (podman, importing
      // k8shost's image, remounts it private), and whatever a script mounts goes away with
      // the namespace, even when the build is killed.
      `unshare --mount --propagation private sh -c 'mount --rbind "$1" "$1" && exec chroot "$1" /bin/sh -eu /usr/lib/ultracloud/customize.sh' customize "$1"`,
    ],
    verbose,
  });
  progress('image', `rootfs ready after ${elapsed(started)}; making disk`);

  const boot = path.join(rootfs, 'boot');
  const kernelName = fs.readdirSync(boot).find((f) => f.startsWith('vmlinuz-'));
  const initrdName = fs.readdirSync(boot).find((f) => f.startsWith('initrd.img-'));
  if (!kernelName || !initrdName) throw new HostError(`image build produced no kernel/initrd in ${boot}`);
  fs.copyFileSync(path.join(boot, kernelName), path.join(tmp, 'vmlinuz'));
  fs.copyFileSync(path.join(boot, initrdName), path.join(tmp, 'initrd.img'));
  fs.copyFileSync(path.join(rootfs, 'usr/lib/ultracloud/probe-initrd.img'), path.join(tmp, 'probe-initrd.img'));
  const manifest = await execa('chroot', [rootfs, 'dpkg-query', '-W', '-f', '${Package} ${Version}\n']);
  fs.writeFileSync(path.join(tmp, 'packages.txt'), manifest.stdout);

  const raw = path.join(tmp, 'disk.raw');
  await execa('mkfs.ext4', ['-q', '-F', '-L', 'ultracloud-root', '-d', rootfs, raw, DISK_SIZE]);
  await execa('qemu-img', ['convert', '-O', 'qcow2', raw, path.join(tmp, 'disk.qcow2')]);
  fs.rmSync(raw);
  fs.rmSync(rootfs, { recursive: true, force: true });
  fs.rmSync(staging, { recursive: true, force: true });

  const image: BuiltImage = {
    stack: stack.name,
    hash: recipe.hash,
    dir: finalDir,
    disk: path.join(finalDir, 'disk.qcow2'),
    kernel: path.join(finalDir, 'vmlinuz'),
    initrd: path.join(finalDir, 'initrd.img'),
    probeInitrd: path.join(finalDir, 'probe-initrd.img'),
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((Date.now() - started) / 1000),
  };
  fs.writeFileSync(path.join(tmp, 'recipe.json'), JSON.stringify(recipe.description, null, 2));
  fs.writeFileSync(path.join(tmp, 'image.json'), JSON.stringify(image, null, 2));
  fs.rmSync(finalDir, { recursive: true, force: true });
  fs.renameSync(tmp, finalDir);
  const size = fs.statSync(image.disk).size;
  progress('image', `built ${path.basename(finalDir)} in ${image.buildSeconds}s (disk ${(size / 2 ** 20).toFixed(0)} MiB)`);
  return image;
}

/** Lays out every role's files plus what the builder generates, to be synced into the rootfs. */
async function stage(stack: Stack, nodes: NodeSpec[], staging: string): Promise<void> {
  fs.mkdirSync(staging, { recursive: true });
  const lib = path.join(staging, 'usr/lib/ultracloud');
  fs.mkdirSync(path.join(lib, 'roles'), { recursive: true });
  fs.mkdirSync(path.join(lib, 'customize.d'), { recursive: true });
  fs.mkdirSync(path.join(staging, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(staging, 'etc/hosts'), hostsFile(nodes));
  const steps: string[] = [];
  for (const [i, role] of stack.roles.entries()) {
    if (role.image.filesDir) fs.cpSync(role.image.filesDir, staging, { recursive: true });
    if (role.image.generated) {
      progress('image', `generating ${role.name} files on the host`);
      await role.image.generated.build(staging);
    }
    const units = allUnits(role, nodes);
    fs.writeFileSync(path.join(lib, 'roles', `${role.name}.units`), units.map((u) => `${u}\n`).join(''));
    // Per-node lists where a role runs different units on different nodes.
    if (typeof role.units === 'function') {
      for (const n of hostsOf(role, nodes)) {
        fs.writeFileSync(path.join(lib, 'roles', `${role.name}.${n.name}.units`), unitsOn(role, n).map((u) => `${u}\n`).join(''));
      }
    }
    // Peers of a role, for its per-node setup script: "name address kind" lines.
    fs.writeFileSync(path.join(lib, 'roles', `${role.name}.nodes`), hostsOf(role, nodes).map((n) => `${n.name} ${n.clusterIp} ${n.kind}\n`).join(''));
    if (role.image.customizeScript) {
      const name = `${String(i).padStart(2, '0')}-${role.name}.sh`;
      fs.copyFileSync(role.image.customizeScript, path.join(lib, 'customize.d', name));
      steps.push(`echo "customize: ${role.name}"`, `/bin/sh -eu /usr/lib/ultracloud/customize.d/${name}`);
    }
    // Role units start only where the kernel command line names the role.
    if (role.name !== 'base' && units.length > 0) steps.push(`systemctl disable ${units.join(' ')} || true`);
    if (role.image.disableUnits?.length) steps.push(`systemctl disable ${role.image.disableUnits.join(' ')} || true`);
    if (role.image.maskUnits?.length) steps.push(`systemctl mask ${role.image.maskUnits.join(' ')}`);
  }
  fs.writeFileSync(path.join(lib, 'customize.sh'), ['set -eu', ...steps, ''].join('\n'));
}

function hostsOf(role: Role, nodes: NodeSpec[]): NodeSpec[] {
  return nodes.filter((n) => role.hostedOn(n));
}

export function hostsFile(nodes: NodeSpec[]): string {
  return [
    '127.0.0.1 localhost',
    '::1 localhost ip6-localhost ip6-loopback',
    ...nodes.map((n) => `${n.clusterIp} ${n.name}`),
    '',
  ].join('\n');
}
