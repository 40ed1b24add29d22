/**
 * One pooled SSH connection per node (node-ssh over ssh2), reached through
 * the node's 127.0.0.1 forward with the cluster's own key.
 */
import net from 'node:net';
import { NodeSSH } from 'node-ssh';
import type { Client, ClientChannel } from 'ssh2';
import { NodeError } from '../errors.js';
import { type ExecResult, RemoteShell, SHELL_MAX_COMMAND_BYTES } from './ssh-shell.js';

export type { ExecResult };
import { AbortedError, abortReason, waitFor } from './wait.js';

export interface SshTarget {
  port: number;
  privateKeyPath: string;
  /** Login name; root on the nodes. */
  username?: string;
}

export interface Forward {
  /** Local port on 127.0.0.1 that reaches the guest port through SSH. */
  port: number;
  close(): Promise<void>;
}

/** Returns an error to abort a wait early (the VM died), or undefined to go on. */
export type FailFast = () => Promise<Error | undefined> | Error | undefined;

/** Idle shells kept per node; more run at once when commands overlap (sshd's MaxSessions is 10). */
const IDLE_SHELLS = 3;

export class SshPool {
  private readonly conns = new Map<string, Promise<NodeSSH>>();
  private readonly idle = new Map<string, { conn: NodeSSH; shell: RemoteShell }[]>();
  /** Nodes whose sshd gave a shell that could not run the loop: every command gets its own channel there. */
  private readonly noShell = new Set<string>();

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
      username: t.username ?? 'root',
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

  /**
   * Runs `command` on the node: evaluated by bash in one of the node's
   * pooled shells (see ssh-shell.ts), or, when long, in a channel of its
   * own under root's login shell. On timeout or abort the channel is closed
   * and the command is killed on the node with every process it started
   * (see `killOnClose`). A timeout
   * returns what was seen with `timedOut`; an abort throws AbortedError.
   */
  async exec(node: string, command: string, timeoutMs = 60_000, signal?: AbortSignal): Promise<ExecResult> {
    const aborted = () => new AbortedError(node, `aborted while running: ${command}`, { lastSeen: signal ? abortReason(signal) : '' });
    if (signal?.aborted) throw aborted();
    const ssh = await untilAbort(this.connection(node), signal, aborted);
    if (!ssh.connection) throw new NodeError(node, 'SSH connection closed');
    if (this.noShell.has(node) || Buffer.byteLength(command) > SHELL_MAX_COMMAND_BYTES) {
      return execKilledOnClose(ssh.connection, command, timeoutMs, signal, aborted);
    }
    const shell = await untilAbort(this.takeShell(node, ssh), signal, aborted);
    const r = await shell.run(command, timeoutMs, signal, aborted);
    if (r.code === null && !r.timedOut && /^ultracloud shell: /m.test(r.stderr)) {
      this.noShell.add(node);
      return execKilledOnClose(ssh.connection, command, timeoutMs, signal, aborted);
    }
    this.giveBack(node, ssh, shell);
    return r;
  }

  private async takeShell(node: string, conn: NodeSSH): Promise<RemoteShell> {
    const list = this.idle.get(node) ?? [];
    while (list.length > 0) {
      const s = list.pop()!;
      if (s.conn === conn && s.shell.usable) return s.shell;
      s.shell.close();
    }
    return RemoteShell.open(conn.connection!);
  }

  private giveBack(node: string, conn: NodeSSH, shell: RemoteShell): void {
    if (!shell.usable || this.conns.get(node) === undefined) return shell.close();
    const list = this.idle.get(node) ?? [];
    this.idle.set(node, list);
    if (list.length >= IDLE_SHELLS) return shell.close();
    list.push({ conn, shell });
  }

  private closeShells(node: string): void {
    for (const s of this.idle.get(node) ?? []) s.shell.close();
    this.idle.delete(node);
  }

  /**
   * Polls until root can log in, or fails fast when `failFast` reports an
   * error. Any failed try (refused, reset, a login that hangs) is "not yet";
   * the pooled connection is dropped after it, as it may be half-open.
   */
  async waitForSsh(node: string, deadlineMs: number, failFast?: FailFast, consoleTail?: () => string, signal?: AbortSignal): Promise<void> {
    const { port } = this.target(node);
    await waitFor(
      // Short pauses between attempts: after a snapshot restore every second counts.
      { node, what: 'SSH login', expected: `root login with the cluster key on 127.0.0.1:${port}`, timeoutMs: deadlineMs, intervalMs: 500, failFast, consoleTail, signal, quiet: true },
      async (sig) => {
        try {
          await this.connection(node, 15_000);
          const r = await this.exec(node, 'true', 15_000, sig);
          if (r.code === 0) return { ok: true };
          this.drop(node);
          return { ok: false, seen: r.timedOut ? "login worked but 'true' did not finish within 15 s" : `login worked but 'true' exited ${r.code}` };
        } catch (e) {
          this.drop(node);
          throw e;
        }
      },
    );
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
    this.closeShells(node);
    const c = this.conns.get(node);
    this.conns.delete(node);
    void c?.then((s) => s.dispose()).catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    for (const node of [...this.idle.keys()]) this.closeShells(node);
    const all = [...this.conns.values()];
    this.conns.clear();
    await Promise.all(all.map((c) => c.then((s) => s.dispose()).catch(() => undefined)));
  }
}

/**
 * Wraps `command` so that it dies, with everything it started, when its SSH
 * channel closes. Closing the channel is all a client can do for sure: a
 * channel `signal` request is ignored by many servers and reaches at most
 * the process group of the session's shell in OpenSSH (>= 7.9), and a pty
 * (sshd hangs up the terminal's foreground process group on close) would
 * merge stderr into stdout, turn "\n" into "\r\n" and make tools page and
 * colour; both miss `timeout`(1) and any other command that makes a process
 * group of its own. Without a pty, sshd closes the command's stdin when the
 * channel closes, so: the command runs in a session of its own (setsid, with
 * stdin from /dev/null, under the same login shell sshd would use), and a
 * watcher reads the channel's stdin; at EOF it kills every process of that
 * session (found in /proc, so nothing beyond the shell is needed on the
 * node). stdout, stderr and the exit code are the command's own. The client
 * must therefore never send EOF on stdin (node-ssh's execCommand does).
 * One difference: a command killed by a signal exits 128+n, not "by signal".
 */
export function killOnClose(command: string): string {
  return [
    `c=${quote(command)}`,
    'exec 3<&0',
    'setsid "${SHELL:-/bin/sh}" -c "$c" </dev/null 3<&- &',
    'p=$!',
    KILL_SESSION_AT_EOF,
    'w=$!',
    'exec 3<&-',
    'wait "$p"; r=$?',
    'kill "$w" 2>/dev/null',
    'exit "$r"',
  ].join('\n');
}

/**
 * The watcher: waits for EOF on fd 3 (the channel's stdin), then kills
 * session $p. It ignores TERM from then on, so the wrapper, woken by $p's
 * death, cannot stop it halfway; it goes round again while it still finds
 * members, as one may fork while the others die (zombies are skipped).
 * Field 4 after the last ")" of /proc/PID/stat is the session id.
 */
const KILL_SESSION_AT_EOF = `{
  while read -r x <&3; do :; done
  trap '' TERM
  for round in 1 2 3 4 5; do
    n=0
    for s in /proc/[0-9]*/stat; do
      { read -r l <"$s"; } 2>/dev/null || continue
      set -- \${l##*)}
      [ "$4" = "$p" ] && [ "$1" != Z ] || continue
      d=\${s%/stat}
      kill -9 "\${d#/proc/}" 2>/dev/null && n=1
    done
    [ "$n" = 1 ] || break
  done
} >/dev/null 2>&1 &`;

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `p`, or AbortedError as soon as `signal` aborts (`p` then settles unobserved). */
function untilAbort<T>(p: Promise<T>, signal: AbortSignal | undefined, aborted: () => Error): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** ssh2 exec of `killOnClose(command)`, stdin left open; output kept as bytes until the end (no split UTF-8). */
function execKilledOnClose(
  client: Client,
  command: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  aborted: () => Error,
): Promise<ExecResult> {
  return new Promise<ExecResult>((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let code: number | null = null;
    let channel: ClientChannel | undefined;
    let done = false;
    const text = (b: Buffer[]) => Buffer.concat(b).toString('utf8');
    const finish = (r: { timedOut: boolean } | { error: Error }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if ('error' in r) reject(r.error);
      else resolve({ stdout: text(out), stderr: text(err), code: r.timedOut ? null : code, timedOut: r.timedOut });
    };
    // Closing is the kill (killOnClose); don't wait for the node to confirm: a stalled guest would hold the caller.
    const stop = (r: { timedOut: boolean } | { error: Error }) => {
      channel?.close();
      finish(r);
    };
    const timer = setTimeout(() => stop({ timedOut: true }), timeoutMs);
    const onAbort = () => stop({ error: aborted() });
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      client.exec(killOnClose(command), (e, ch) => {
        if (e) return finish({ error: e });
        channel = ch;
        if (done) return void ch.close();
        ch.on('data', (b: Buffer) => out.push(b));
        ch.stderr.on('data', (b: Buffer) => err.push(b));
        ch.on('exit', (c: number | null) => (code = typeof c === 'number' ? c : null));
        ch.on('close', () => finish({ timedOut: false }));
      });
    } catch (e) {
      // ssh2 throws at once on a connection that is no longer up.
      finish({ error: e as Error });
    }
  });
}
