/**
 * Host preconditions, checked before anything starts so a missing tool or a
 * taken port is one clear line, not a half-booted cluster.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { HostError } from './errors.js';

/** Host tool -> the Debian package that provides it. */
export const HOST_TOOLS: Record<string, string> = {
  'qemu-system-x86_64': 'qemu-system-x86',
  'qemu-img': 'qemu-utils',
  vde_switch: 'vde2',
  mmdebstrap: 'mmdebstrap',
  'mkfs.ext4': 'e2fsprogs',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  'grub-mkrescue': 'grub-common grub-pc-bin grub-efi-amd64-bin',
  xorriso: 'xorriso',
  mformat: 'mtools',
  cpio: 'cpio',
  zstd: 'zstd',
};

export function which(tool: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = path.join(dir, tool);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return undefined;
}

export function requireTools(tools: string[]): void {
  const missing = tools.filter((t) => !which(t));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((t) => HOST_TOOLS[t] ?? t))];
    throw new HostError(`missing host tool${missing.length > 1 ? 's' : ''}: ${missing.join(', ')} (install: apt-get install ${pkgs.join(' ')}, or run 'make deps')`);
  }
}

export function requireRoot(what: string): void {
  if (process.getuid?.() !== 0) throw new HostError(`${what} needs root (debootstrap-style image builds create device nodes and chroots)`);
}

/** Resolves true when 127.0.0.1:port can be bound right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function requirePortsFree(ports: { port: number; what: string }[]): Promise<void> {
  const taken: string[] = [];
  for (const p of ports) if (!(await portFree(p.port))) taken.push(`127.0.0.1:${p.port} (${p.what})`);
  if (taken.length > 0) {
    throw new HostError(`host port taken: ${taken.join(', ')}; free it or set ULTRACLOUD_PORT_BASE`);
  }
}

const GiB = 2 ** 30;
const MiB = 2 ** 20;
/** Free space an image build needs in the image cache: rootfs, raw ext4 and qcow2 side by side, plus the apt downloads. */
export const IMAGE_BUILD_BYTES = 6 * GiB;
/** Free space each booted node needs in the state dir: its qcow2 overlay grows with what the guest writes. */
export const BOOT_BYTES_PER_NODE = 384 * MiB;

export function formatBytes(n: number): string {
  return n >= GiB ? `${(n / GiB).toFixed(1)} GiB` : `${Math.round(n / MiB)} MiB`;
}

/**
 * The one-line complaint when `freeBytes` in `folder` is less than
 * `neededBytes` for `what`, else undefined. Pure, so it is tested alone.
 */
export function diskSpaceProblem(folder: string, freeBytes: number, neededBytes: number, what: string, hint = 'free some space'): string | undefined {
  if (freeBytes >= neededBytes) return undefined;
  return `not enough free disk space for ${what} in ${folder}: ${formatBytes(freeBytes)} free, ${formatBytes(neededBytes)} needed (${hint})`;
}

/** Bytes an unprivileged writer may still use on the filesystem of `folder` (or its nearest existing parent). */
export function freeBytes(folder: string): number {
  let dir = path.resolve(folder);
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const st = fs.statfsSync(dir);
  return Number(st.bavail) * Number(st.bsize);
}

/** Throws a HostError naming the folder, what is free and what is needed, when `folder` is short of space. */
export function requireFreeSpace(folder: string, neededBytes: number, what: string, hint?: string): void {
  const problem = diskSpaceProblem(folder, freeBytes(folder), neededBytes, what, hint);
  if (problem) throw new HostError(problem);
}
