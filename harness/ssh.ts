/**
 * One pooled SSH connection per node (node-ssh over ssh2), reached through
 * the node's 127.0.0.1 forward with the cluster's own key.
 */
import net from 'node:net';
import { NodeSSH } from 'node-ssh';
import { NodeError, WaitTimeoutError } from './errors.js';
import { sleep } from './proc.js';

export interface SshTarget {
  port: number;
  privateKeyPath: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the command was killed by a signal or timed out. */
  code: number | null;
  timedOut: boolean;
}

export interface Forward {
  /** Local port on 127.0.0.1 that reaches the guest port through SSH. */
  port: number;
  close(): Promise<void>;
}

/** Returns an error to abort a wait early (the VM died), or undefined to go on. */
export type FailFast = () => Promise<Error | undefined> | Error | undefined;

export class SshPool {
  private readonly conns = new Map<string, Promise<NodeSSH>>();

  constructor(private readonly targets: Map<string, SshTarget>) {}

  private target(node: string): SshTarget {
    const t = this.targets.get(node);
    if (!t) throw new NodeError(node, 'no such node in this cluster');
    return t;
  }

  private async open(node: string, readyTimeoutMs: number): Promise<NodeSSH> {
    const t = this.target(node);
    const ssh = new NodeSSH();
    await ssh.connect({
      host: '127.0.0.1',
      port: t.port,
      username: 'root',
      privateKeyPath: t.privateKeyPath,
      readyTimeout: readyTimeoutMs,
      // A TCG guest can stall for seconds; don't call that a dead link.
      keepaliveInterval: 5000,
      keepaliveCountMax: 12,
    });
    const drop = () => {
      this.conns.delete(node);
    };
    ssh.connection?.on('error', drop);
    ssh.connection?.on('close', drop);
    ssh.connection?.on('end', drop);
    return ssh;
  }

  connection(node: string, readyTimeoutMs = 20_000): Promise<NodeSSH> {
    let c = this.conns.get(node);
    if (!c) {
      c = this.open(node, readyTimeoutMs);
      this.conns.set(node, c);
      c.catch(() => this.conns.delete(node));
    }
    return c;
  }

  async exec(node: string, command: string, timeoutMs = 60_000): Promise<ExecResult> {
    const ssh = await this.connection(node);
    let channel: { close(): void; signal?(s: string): void } | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      channel?.signal?.('KILL');
      channel?.close();
    }, timeoutMs);
    try {
      const r = await ssh.execCommand(command, { onChannel: (ch) => (channel = ch), noTrim: true });
      return { stdout: r.stdout, stderr: r.stderr, code: timedOut ? null : r.code, timedOut };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Polls until root can log in, or fails fast when `failFast` reports an error. */
  async waitForSsh(node: string, deadlineMs: number, failFast?: FailFast, consoleTail?: () => string): Promise<void> {
    const { port } = this.target(node);
    const start = Date.now();
    let last = 'no attempt yet';
    while (Date.now() - start < deadlineMs) {
      const fatal = await failFast?.();
      if (fatal) throw fatal;
      try {
        const ssh = await this.connection(node, 15_000);
        const r = await ssh.execCommand('true');
        if (r.code === 0) return;
        last = `login worked but 'true' exited ${r.code}`;
      } catch (e) {
        last = (e as Error).message;
        this.conns.delete(node);
      }
      await sleep(2000);
    }
    throw new WaitTimeoutError(node, `SSH not ready after ${Math.round(deadlineMs / 1000)}s`, {
      expected: `root login with the cluster key on 127.0.0.1:${port}`,
      lastSeen: last,
      consoleTail: consoleTail?.(),
    });
  }

  async putFile(node: string, local: string, remote: string): Promise<void> {
    await (await this.connection(node)).putFile(local, remote);
  }

  async getFile(node: string, remote: string, local: string): Promise<void> {
    await (await this.connection(node)).getFile(local, remote);
  }

  /** A 127.0.0.1 port on the host that reaches `remoteHost:remotePort` as seen from the node. */
  async forward(node: string, remotePort: number, remoteHost = '127.0.0.1'): Promise<Forward> {
    const ssh = await this.connection(node);
    const sockets = new Set<net.Socket>();
    const server = net.createServer((sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
      ssh.forwardOut('127.0.0.1', 0, remoteHost, remotePort).then(
        (ch) => {
          sock.pipe(ch).pipe(sock);
          ch.on('error', () => sock.destroy());
          sock.on('error', () => ch.close());
        },
        () => sock.destroy(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const port = (server.address() as net.AddressInfo).port;
    return {
      port,
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          server.close(() => resolve());
        }),
    };
  }

  drop(node: string): void {
    const c = this.conns.get(node);
    this.conns.delete(node);
    void c?.then((s) => s.dispose()).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    const all = [...this.conns.values()];
    this.conns.clear();
    await Promise.all(all.map((c) => c.then((s) => s.dispose()).catch(() => undefined)));
  }
}
