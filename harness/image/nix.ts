/**
 * The nix image backend: a stack whose node images come from one
 * `nix build <flake>#cluster-images` (the `ultracloud` stack, flake.nix and
 * nix/ at the top of this project). The build's output holds one NixOS disk,
 * kernel and initrd per node plus a busybox probe initramfs, described by its
 * `manifest.json`; the harness boots them with the same QEMU wrapper as the
 * Debian image (BuiltImage.nodes carries the per-node parts).
 *
 * Knows nix and the manifest, nothing of roles. Every host check happens in
 * preflight(), before the cluster writes or boots anything: a missing nix or
 * a missing UltraCloud flake is one line (HostError, exit 1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa, execaSync } from 'execa';
import { HostError } from '../errors.js';
import { which } from '../host.js';
import { progress } from '../log.js';
import { cachedBuild } from './cache.js';
import type { NodeSpec } from '../topology.js';
import type { ImageBackend } from '../stack.js';
import type { BuiltImage, NodeImage } from './built.js';
import { imageDir } from './debian.js';
import { pathDigest, sha256 } from './digest.js';

/** Flakes came with nix 2.4. */
const MIN_NIX: [number, number] = [2, 4];
/** The folder of the flake that stands in for UltraCloud's until overridden (every output throws). */
export const PLACEHOLDER = 'ultracloud-unset';
/** What the flake's cluster-images output writes; bumped when its shape changes. */
export const MANIFEST_FORMAT = 1;

export interface NixImageOptions {
  /** The stack's name (image cache folder prefix). */
  stack: string;
  /** The flake that has the output (this project's root). */
  flakeDir: string;
  /** The package attribute, built for x86_64-linux (`cluster-images`). */
  attr: string;
  /** The flake input a user points at UltraCloud's flake (`ultracloud`). */
  input: string;
  /** Files and folders of flakeDir that make the image recipe (flake.nix, flake.lock, nix/). */
  recipeInputs: string[];
}

/** What the environment gives the backend (a seam for tests). */
export interface NixHost {
  /** `which nix`, undefined when absent. */
  nixPath(): string | undefined;
  /** `nix --version` output, undefined when it does not run. */
  nixVersion(): string | undefined;
  /** UltraCloud's flake reference (ULTRACLOUD_FLAKE), if set. */
  flakeRef: string | undefined;
  /** A cluster-images output built beforehand (ULTRACLOUD_NIX_IMAGES): booted as it is, no nix build. */
  prebuilt: string | undefined;
  isRoot: boolean;
  exists(p: string): boolean;
  canWrite(p: string): boolean;
  readFile(p: string): string | undefined;
}

export function realNixHost(env: NodeJS.ProcessEnv = process.env): NixHost {
  return {
    nixPath: () => which('nix'),
    nixVersion: () => {
      try {
        return execaSync('nix', ['--version'], { timeout: 20_000 }).stdout;
      } catch {
        return undefined;
      }
    },
    flakeRef: env.ULTRACLOUD_FLAKE || undefined,
    prebuilt: env.ULTRACLOUD_NIX_IMAGES || undefined,
    isRoot: process.getuid?.() === 0,
    exists: (p) => fs.existsSync(p),
    canWrite: (p) => {
      try {
        fs.accessSync(p, fs.constants.W_OK);
        return true;
      } catch {
        return false;
      }
    },
    readFile: (p) => {
      try {
        return fs.readFileSync(p, 'utf8');
      } catch {
        return undefined;
      }
    },
  };
}

/** `nix (Nix) 2.8.0` -> [2, 8]; undefined when it is not a version line. */
export function parseNixVersion(out: string): [number, number] | undefined {
  const m = /(\d+)\.(\d+)(?:\.\d+)?/.exec(out);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** Whether a flake reference names a local folder (and so can be checked here). */
export function localFlakePath(ref: string, cwd: string): string | undefined {
  if (ref.startsWith('path:')) return path.resolve(cwd, ref.slice('path:'.length).split('?')[0]);
  if (ref.startsWith('git+file:')) return path.resolve(cwd, ref.slice('git+file:'.length).replace(/^\/\//, '').split('?')[0]);
  if (ref.startsWith('/') || ref.startsWith('./') || ref.startsWith('../') || ref === '.') return path.resolve(cwd, ref);
  return undefined;
}

/**
 * The UltraCloud input as flake.lock locks it, if it does: the lock's
 * `original` (how it was named) and `locked` (what it resolved to).
 */
export function lockedInput(lockText: string | undefined, input: string): { original: unknown; locked: Record<string, unknown> } | undefined {
  if (!lockText) return undefined;
  try {
    const lock = JSON.parse(lockText) as { root?: string; nodes?: Record<string, { inputs?: Record<string, string | string[]>; locked?: Record<string, unknown>; original?: unknown }> };
    const root = lock.nodes?.[lock.root ?? 'root'];
    const name = root?.inputs?.[input];
    const node = typeof name === 'string' ? lock.nodes?.[name] : undefined;
    // The placeholder flake (nix/ultracloud-unset) locked is no UltraCloud flake.
    if (!node?.locked || JSON.stringify(node.original ?? node.locked).includes(PLACEHOLDER)) return undefined;
    return { original: node.original, locked: node.locked };
  } catch {
    return undefined;
  }
}

/**
 * Everything `nix build` needs from this host, checked without evaluating
 * anything; throws a one-line HostError naming what is missing. Returns the
 * UltraCloud flake reference to override the input with (undefined: the
 * one flake.lock locks).
 */
export function preflight(o: NixImageOptions, host: NixHost): { flakeRef?: string; prebuilt?: string } {
  if (host.prebuilt) {
    const manifest = path.join(path.resolve(host.prebuilt), 'manifest.json');
    if (!host.exists(manifest)) throw new HostError(`ULTRACLOUD_NIX_IMAGES=${host.prebuilt} is no ${o.attr} output: ${manifest} does not exist`);
    return { prebuilt: path.resolve(host.prebuilt) };
  }
  const what = `the '${o.stack}' stack builds its node images with \`nix build .#${o.attr}\``;
  if (!host.nixPath()) {
    throw new HostError(`${what}, and nix is not installed on this host (Debian: apt-get install nix-bin; or use ULTRACLOUD_STACK=reference)`);
  }
  const out = host.nixVersion();
  const v = out === undefined ? undefined : parseNixVersion(out);
  if (!v) throw new HostError(`${what}, and \`nix --version\` does not run here (${host.nixPath()})`);
  if (v[0] < MIN_NIX[0] || (v[0] === MIN_NIX[0] && v[1] < MIN_NIX[1])) {
    throw new HostError(`${what}, which needs flakes (nix >= ${MIN_NIX.join('.')}); this host has nix ${v.join('.')}`);
  }
  if (!host.isRoot && !host.exists('/nix/var/nix/daemon-socket/socket') && !host.canWrite('/nix/store')) {
    throw new HostError(`${what}, and this user can neither write /nix/store nor reach a nix daemon (/nix/var/nix/daemon-socket/socket): run as root or start nix-daemon`);
  }
  if (host.flakeRef) {
    const local = localFlakePath(host.flakeRef, o.flakeDir);
    if (local && !host.exists(path.join(local, 'flake.nix'))) {
      throw new HostError(`ULTRACLOUD_FLAKE=${host.flakeRef} names no flake: ${path.join(local, 'flake.nix')} does not exist`);
    }
    return { flakeRef: host.flakeRef };
  }
  if (lockedInput(host.readFile(path.join(o.flakeDir, 'flake.lock')), o.input)) return {};
  throw new HostError(
    `${what} from UltraCloud's flake, and none is given: set ULTRACLOUD_FLAKE to it (a path or flake reference; it becomes \`--override-input ${o.input} <ref>\`), or lock the '${o.input}' input in flake.lock`,
  );
}

/** The `nix` arguments of the one build: flakes on, the UltraCloud input overridden when a reference is given. */
export function nixBuildArgs(o: NixImageOptions, outLink: string, flakeRef: string | undefined, verbose = false): string[] {
  return [
    '--extra-experimental-features',
    'nix-command flakes',
    'build',
    ...(verbose ? ['--print-build-logs'] : []),
    '--out-link',
    outLink,
    ...(flakeRef ? ['--override-input', o.input, flakeRef] : []),
    `${o.flakeDir}#packages.x86_64-linux.${o.attr}`,
  ];
}

/**
 * The recipe hash: every file of the flake that decides the images (flake.nix,
 * flake.lock, nix/), the UltraCloud reference and, for a local one, a digest
 * of its flake.nix and flake.lock. A remote reference that moves without
 * changing its name is not seen: lock it (flake.lock) for a fixed recipe.
 */
export function nixRecipe(o: NixImageOptions, nodes: NodeSpec[], flakeRef: string | undefined, host: Pick<NixHost, 'readFile'> = realNixHost()): { hash: string; description: Record<string, unknown> } {
  const inputs = Object.fromEntries(
    o.recipeInputs.map((rel) => {
      const p = path.join(o.flakeDir, rel);
      if (!fs.existsSync(p)) return [rel, null];
      return [rel, pathDigest(p)];
    }),
  );
  const local = flakeRef ? localFlakePath(flakeRef, o.flakeDir) : undefined;
  const ultracloud = flakeRef
    ? { ref: flakeRef, local: local ? Object.fromEntries(['flake.nix', 'flake.lock'].map((f) => [f, sha256(host.readFile(path.join(local, f)) ?? '')])) : null }
    : { locked: lockedInput(host.readFile(path.join(o.flakeDir, 'flake.lock')), o.input)?.locked ?? null };
  const description = { stack: o.stack, attr: o.attr, nodes: nodes.map((n) => n.name), inputs, ultracloud, manifest: MANIFEST_FORMAT };
  return { hash: sha256(JSON.stringify(description)).slice(0, 16), description };
}

interface ManifestNode {
  disk: string;
  kernel: string;
  initrd: string;
  /** The NixOS system's stage-2 init (<toplevel>/init). */
  init: string;
  kernelParams: string[];
}

export interface Manifest {
  format: number;
  probeInitrd: string;
  nodes: Record<string, ManifestNode>;
}

/** The per-node boot parts from the build's manifest; throws (HostError) when a node or a file is missing. */
export function readManifest(text: string, nodes: NodeSpec[], exists: (p: string) => boolean = fs.existsSync): { probeInitrd: string; nodes: Record<string, NodeImage> } {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new HostError(`the nix build's manifest.json is not JSON: ${(e as Error).message}`);
  }
  if (m.format !== MANIFEST_FORMAT) throw new HostError(`the nix build's manifest.json has format ${m.format}, the harness reads format ${MANIFEST_FORMAT}`);
  const out: Record<string, NodeImage> = {};
  for (const n of nodes) {
    const e = m.nodes?.[n.name];
    if (!e) throw new HostError(`the nix build made no image for ${n.name} (manifest nodes: ${Object.keys(m.nodes ?? {}).join(', ') || 'none'})`);
    for (const f of [e.disk, e.kernel, e.initrd, e.init]) if (!exists(f)) throw new HostError(`the nix build's manifest names ${f} for ${n.name}, which does not exist`);
    out[n.name] = { disk: e.disk, kernel: e.kernel, initrd: e.initrd, append: [`init=${e.init}`, ...(e.kernelParams ?? [])] };
  }
  if (!exists(m.probeInitrd)) throw new HostError(`the nix build's manifest names probe initrd ${m.probeInitrd}, which does not exist`);
  return { probeInitrd: m.probeInitrd, nodes: out };
}

/** A prebuilt output is its own recipe: the store path it resolves to names its whole content. */
export function prebuiltHash(p: string): string {
  let real = path.resolve(p);
  try {
    real = fs.realpathSync(p);
  } catch {
    /* preflight says it is missing */
  }
  return sha256(`prebuilt:${real}`).slice(0, 16);
}

/** The images of a cluster-images output built beforehand (the portable check's sandbox, a CI cache): nothing is built or written. */
function fromPrebuilt(o: NixImageOptions, nodes: NodeSpec[], dir: string): BuiltImage {
  const m = readManifest(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'), nodes);
  const first = m.nodes[nodes[0].name];
  progress('image', `${o.stack} images from ${dir} (ULTRACLOUD_NIX_IMAGES; no nix build)`);
  return { stack: o.stack, hash: prebuiltHash(dir), dir, disk: first.disk, kernel: first.kernel, initrd: first.initrd, probeInitrd: m.probeInitrd, nodes: m.nodes, builtAt: fs.statSync(dir).mtime.toISOString(), buildSeconds: 0 };
}

/** The last non-empty line of nix's output, for a one-line error. */
export function lastLine(text: string): string {
  return text.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';
}

export function nixImageBackend(o: NixImageOptions, host: () => NixHost = () => realNixHost()): ImageBackend {
  return {
    kind: 'nix',
    preflight: () => void preflight(o, host()),
    recipeHash(nodes) {
      const h = host();
      if (h.prebuilt) return prebuiltHash(h.prebuilt);
      return nixRecipe(o, nodes, h.flakeRef, h).hash;
    },
    async ensure(nodes, opts): Promise<BuiltImage> {
      const h = host();
      const { flakeRef, prebuilt } = preflight(o, h);
      if (prebuilt) return fromPrebuilt(o, nodes, prebuilt);
      const recipe = nixRecipe(o, nodes, flakeRef, h);
      return cachedBuild<BuiltImage>({
        cacheDir: opts.cacheDir,
        name: path.basename(imageDir(opts.cacheDir, o.stack, recipe.hash)),
        what: 'image build',
        rebuild: opts.rebuild,
        hit: (c) => progress('image', `${o.stack} images ${recipe.hash} cached (built ${c.builtAt}, ${c.buildSeconds}s)`),
        build: (dir) => build(o, nodes, recipe, dir, flakeRef, opts.verbose ?? false),
      });
    },
  };
}

/**
 * One `nix build`; its out-link in the image folder is the GC root that
 * keeps the store paths alive. image.json is written last (temp + rename),
 * so a killed build never looks finished.
 */
async function build(o: NixImageOptions, nodes: NodeSpec[], recipe: { hash: string; description: Record<string, unknown> }, dir: string, flakeRef: string | undefined, verbose: boolean): Promise<BuiltImage> {
  const started = Date.now();
  fs.mkdirSync(dir, { recursive: true });
  const outLink = path.join(dir, 'result');
  const args = nixBuildArgs(o, outLink, flakeRef, verbose);
  progress('image', `building ${o.stack} images ${recipe.hash}: nix ${args.join(' ')}`);
  const r = await execa('nix', args, { cwd: o.flakeDir, reject: false, all: true, stdout: verbose ? 'inherit' : 'pipe', stderr: verbose ? 'inherit' : 'pipe' });
  if (r.exitCode !== 0) {
    const log = path.join(dir, 'nix-build.log');
    if (r.all) fs.writeFileSync(log, r.all);
    throw new HostError(`nix build of .#${o.attr} failed (exit ${r.exitCode}): ${lastLine(r.all ?? '') || 'no output'}${r.all ? ` (log: ${log})` : ''}`);
  }
  const manifestFile = path.join(outLink, 'manifest.json');
  if (!fs.existsSync(manifestFile)) throw new HostError(`the nix build of .#${o.attr} has no manifest.json (${manifestFile})`);
  const m = readManifest(fs.readFileSync(manifestFile, 'utf8'), nodes);
  const first = m.nodes[nodes[0].name];
  const image: BuiltImage = {
    stack: o.stack,
    hash: recipe.hash,
    dir,
    disk: first.disk,
    kernel: first.kernel,
    initrd: first.initrd,
    probeInitrd: m.probeInitrd,
    nodes: m.nodes,
    builtAt: new Date().toISOString(),
    buildSeconds: Math.round((Date.now() - started) / 1000),
  };
  fs.writeFileSync(path.join(dir, 'recipe.json'), JSON.stringify(recipe.description, null, 2));
  const tmp = path.join(dir, `.image.json.${process.pid}`);
  fs.writeFileSync(tmp, JSON.stringify(image, null, 2));
  fs.renameSync(tmp, path.join(dir, 'image.json'));
  progress('image', `built ${path.basename(dir)} in ${image.buildSeconds}s (${nodes.length} node images)`);
  return image;
}
