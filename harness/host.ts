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
