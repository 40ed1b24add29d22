/**
 * Warm snapshots of a whole cluster: every node's RAM and device state (a
 * QEMU migration stream) plus its disk overlay, the SSH key and the cluster
 * secrets the nodes booted with, in the cache beside the images. Keyed by
 * everything that decides the booted state, so a snapshot is only loaded
 * into the very QEMU set-up that wrote it.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execaSync } from 'execa';
import { isAlive } from './proc.js';

/**
 * How snapshots are taken and restored. Bump it with any change to that
 * code (SNAPSHOT_CODE below): old snapshots are then never loaded. A unit
 * test holds the code's hash to SNAPSHOT_FORMAT_CODE, so the bump is one
 * conscious line, and an edit anywhere else (a comment, the status table)
 * keeps the warm snapshot.
 */
export const SNAPSHOT_FORMAT = 2;
/** The hash of SNAPSHOT_CODE that SNAPSHOT_FORMAT was set for (tests/unit/snapshot-format.test.ts prints the new one). */
export const SNAPSHOT_FORMAT_CODE = 'bb9e783d41c1fbc6';
/** The functions that capture and restore snapshots, by file (`Class.method`, `Class` or a function's name). */
export const SNAPSHOT_CODE: Record<string, string[]> = {
  'harness/cluster/snapshots.ts': ['tryRestore', 'captureSnapshot', 'afterResume', 'waitQuiet', 'baseDisk'],
  'harness/snapshot.ts': ['SnapshotStore', 'verify', 'fsyncFile'],
  'harness/vm/qemu.ts': ['QemuVm.prepareDisk', 'QemuVm.pause', 'QemuVm.resume', 'QemuVm.saveState', 'QemuVm.loadState'],
};

/** What decides a booted cluster's state, as data; any change means a cold boot. */
export interface SnapshotKeyParts {
  /** SNAPSHOT_FORMAT: how snapshots are taken and restored. */
  format: number;
  stack: string;
  profile: string;
  /** The image recipe hash. */
  recipe: string;
  /** `qemu-system-x86_64 --version`, first line (machine types and `-cpu max` change with it). */
  qemu: string;
  accel: string;
  /** The host CPU model: CPUID is not checked on load, so another CPU could load and crash later. */
  hostCpu: string;
  /** Each node's QEMU command line (kernel command line, fw_cfg names, memory, disks, NICs), with the state dir, the image folder and the per-cluster SSH key replaced by placeholders. */
  nodes: Record<string, string>;
  /** Each node's readiness definition: the units it waits for before it counts as ready, then its ready checks (`check: <command>`). */
  readiness: Record<string, string[]>;
}

export function snapshotKey(parts: SnapshotKeyParts): string {
  return crypto.createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

/** One line saying why a snapshot made with `old` does not fit `now` (undefined: it fits). */
export function keyChange(old: Partial<SnapshotKeyParts>, now: SnapshotKeyParts): string | undefined {
  const why: string[] = [];
  if (old.format !== now.format) why.push(`snapshot format ${old.format ?? '1 (keyed by harness code)'} -> ${now.format}`);
  if (old.stack !== now.stack) why.push(`stack ${old.stack} -> ${now.stack}`);
  if (old.profile !== now.profile) why.push(`profile ${old.profile} -> ${now.profile}`);
  if (old.recipe !== now.recipe) why.push(`image recipe ${old.recipe} -> ${now.recipe}`);
  if (old.qemu !== now.qemu) why.push(`QEMU version '${old.qemu}' -> '${now.qemu}'`);
  if (old.accel !== now.accel) why.push(`accel ${old.accel} -> ${now.accel}`);
  if (old.hostCpu !== now.hostCpu) why.push(`host CPU '${old.hostCpu}' -> '${now.hostCpu}'`);
  const oldNodes = old.nodes ?? {};
  const names = [...new Set([...Object.keys(oldNodes), ...Object.keys(now.nodes)])].sort();
  const added = names.filter((n) => !(n in oldNodes));
  const gone = names.filter((n) => !(n in now.nodes));
  const changed = names.filter((n) => n in oldNodes && n in now.nodes && oldNodes[n] !== now.nodes[n]);
  if (added.length || gone.length) why.push(`topology changed (${[...added.map((n) => `+${n}`), ...gone.map((n) => `-${n}`)].join(' ')})`);
  if (changed.length) why.push(`QEMU command line of ${changed.join(', ')} changed`);
  if (old.readiness) {
    const ready = names.filter((n) => n in old.readiness! && n in now.readiness && old.readiness![n].join(' ') !== now.readiness[n].join(' '));
    if (ready.length) why.push(`readiness (units or checks) of ${ready.join(', ')} changed`);
  }
  return why.length ? why.join('; ') : undefined;
}

/**
 * A node's QEMU argv as it enters the key: placeholders for what differs per
 * state dir, per image cache folder (the recipe hash stands for the image)
 * and per cluster (the SSH key).
 */
export function normaliseArgs(args: string[], stateDir: string, imageDirs: string[] = []): string {
  // Longest first: one image folder may sit inside another.
  const dirs = [...new Set(imageDirs)].sort((a, b) => b.length - a.length);
  return args
    .map((a) => {
      let out = a.split(stateDir).join('$STATE');
      for (const d of dirs) out = out.split(d).join('$IMAGE');
      return out.replace(/ultracloud\.authkey=\S+/, 'ultracloud.authkey=$KEY');
    })
    .join(' ');
}

let qemuVersionCache: string | undefined;
export function qemuVersion(): string {
  qemuVersionCache ??= execaSync('qemu-system-x86_64', ['--version']).stdout.split('\n')[0].trim();
  return qemuVersionCache;
}

export function hostCpuModel(): string {
  return os.cpus()[0]?.model?.trim() ?? 'unknown';
}

export interface SnapshotNode {
  /** RAM and device state (QEMU migration stream). */
  state: string;
  stateBytes: number;
  /** The disk overlay at the snapshot moment (its backing file is the image). */
  disk: string;
  diskBytes: number;
}

export interface SnapshotMeta {
  key: string;
  parts: SnapshotKeyParts;
  createdAt: string;
  /** Seconds from pausing the cluster to resuming it. */
  captureS: number;
  /** The image disk every overlay is backed by. */
  baseDisk: string;
  nodes: Record<string, SnapshotNode>;
  /** Other files that travel with it (the SSH key, the cluster secrets), relative to its dir. */
  files: string[];
}

const META = 'meta.json';

/**
 * The snapshots of one stack and profile in the cache: at most one kept (a
 * new capture replaces the old), written under a temp name and renamed into
 * place, so a capture killed half-way is never found.
 */
export class SnapshotStore {
  readonly root: string;

  constructor(
    cacheDir: string,
    readonly stack: string,
    readonly profile: string,
  ) {
    this.root = path.join(cacheDir, 'snapshots');
  }

  private get prefix(): string {
    return `${this.stack}-${this.profile}-`;
  }

  dirFor(key: string): string {
    return path.join(this.root, `${this.prefix}${key}`);
  }

  /** The complete snapshots of this stack and profile (temp dirs excluded), newest first. */
  list(): { dir: string; meta?: SnapshotMeta; error?: string }[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.startsWith(this.prefix) && !n.includes('.tmp-') && !n.includes('.trash-'))
      .map((n) => {
        const dir = path.join(this.root, n);
        try {
          return { dir, meta: JSON.parse(fs.readFileSync(path.join(dir, META), 'utf8')) as SnapshotMeta };
        } catch (e) {
          return { dir, error: `unreadable ${META}: ${(e as Error).message.split('\n')[0]}` };
        }
      })
      .sort((a, b) => (b.meta?.createdAt ?? '').localeCompare(a.meta?.createdAt ?? ''));
  }

  /**
   * The snapshot to restore for `parts`, or why there is none (one line).
   * A snapshot with missing or short files is reported, never loaded.
   */
  find(parts: SnapshotKeyParts): { meta: SnapshotMeta; dir: string } | { reason: string } {
    const key = snapshotKey(parts);
    const all = this.list();
    const hit = all.find((s) => path.basename(s.dir) === `${this.prefix}${key}`);
    if (hit) {
      if (!hit.meta) return { reason: `snapshot ${key} is damaged (${hit.error})` };
      const bad = verify(hit.meta, hit.dir);
      if (bad) return { reason: `snapshot ${key} is damaged (${bad})` };
      return { meta: hit.meta, dir: hit.dir };
    }
    const prev = all.find((s) => s.meta);
    if (!prev?.meta) {
      const broken = this.interrupted();
      return { reason: broken ? `no complete warm snapshot (${broken})` : 'no warm snapshot yet for this stack and profile' };
    }
    return { reason: `the snapshot ${prev.meta.key} does not fit: ${keyChange(prev.meta.parts, parts) ?? 'key differs'}` };
  }

  /** A capture whose process died before it finished, in words (undefined: none). */
  interrupted(): string | undefined {
    let names: string[];
    try {
      names = fs.readdirSync(this.root);
    } catch {
      return undefined;
    }
    for (const n of names) {
      const m = /\.tmp-(\d+)$/.exec(n);
      if (n.startsWith(this.prefix) && m && !isAlive(Number(m[1]))) return `the capture by pid ${m[1]} was interrupted and left ${path.join(this.root, n)} half-written`;
    }
    return undefined;
  }

  /** A temp dir for a new capture; temp dirs of dead captures are removed first. */
  begin(key: string): string {
    fs.mkdirSync(this.root, { recursive: true });
    for (const n of fs.readdirSync(this.root)) {
      const m = /\.(?:tmp|trash)-(\d+)$/.exec(n);
      if (m && !isAlive(Number(m[1]))) fs.rmSync(path.join(this.root, n), { recursive: true, force: true });
    }
    const tmp = `${this.dirFor(key)}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.mkdirSync(tmp, { mode: 0o700 });
    return tmp;
  }

  /** Writes meta last and renames the temp dir into place; older snapshots of this stack and profile go. */
  commit(tmp: string, meta: SnapshotMeta): string {
    for (const [name, n] of Object.entries(meta.nodes)) {
      for (const f of [n.state, n.disk]) fsyncFile(path.join(tmp, f));
      if (fs.statSync(path.join(tmp, n.state)).size !== n.stateBytes) throw new Error(`${name}: state file changed size while committing`);
    }
    fs.writeFileSync(path.join(tmp, META), `${JSON.stringify(meta, null, 2)}\n`);
    fsyncFile(path.join(tmp, META));
    const final = this.dirFor(meta.key);
    for (const s of this.list()) this.remove(s.dir);
    fs.renameSync(tmp, final);
    return final;
  }

  /** Removes a snapshot dir: renamed away first, so no reader finds it half-deleted. */
  remove(dir: string): void {
    const trash = `${dir}.trash-${process.pid}`;
    try {
      fs.renameSync(dir, trash);
    } catch {
      return;
    }
    fs.rmSync(trash, { recursive: true, force: true });
  }
}

/** Why a snapshot's files cannot be loaded (undefined: they can). */
export function verify(meta: SnapshotMeta, dir: string): string | undefined {
  if (!fs.existsSync(meta.baseDisk)) return `its image ${meta.baseDisk} is gone`;
  for (const f of meta.files) if (!fs.existsSync(path.join(dir, f))) return `${f} is missing`;
  for (const [name, n] of Object.entries(meta.nodes)) {
    for (const [f, bytes] of [
      [n.state, n.stateBytes],
      [n.disk, n.diskBytes],
    ] as const) {
      let size: number;
      try {
        size = fs.statSync(path.join(dir, f)).size;
      } catch {
        return `${name}: ${f} is missing`;
      }
      if (size !== bytes) return `${name}: ${f} has ${size} bytes, ${bytes} were written`;
    }
  }
  return undefined;
}

function fsyncFile(file: string): void {
  const fd = fs.openSync(file, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
