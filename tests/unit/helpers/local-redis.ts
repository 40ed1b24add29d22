/**
 * Local Redis for the creditservice unit tests (ledger, sentinel): Debian's
 * redis-server (and redis-sentinel) binaries, which `make deps`
 * (scripts/install-deps.sh) installs with their services off, run on
 * 127.0.0.1 in a temp dir. A missing binary is a broken `make deps`, not a
 * reason to skip: missingPackageError names the package for the failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

/** The executable `name` on PATH or in /usr/sbin, /usr/bin; null where there is none. */
export function findBinary(name: string): string | null {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/usr/bin'];
  for (const dir of dirs) {
    try {
      accessSync(path.join(dir, name), constants.X_OK);
      return path.join(dir, name);
    } catch {
      // not here
    }
  }
  return null;
}

/** The failure for a case whose binaries are missing: names the package(s) and `make deps`. */
export function missingPackageError(missing: string): Error {
  return new Error(`no ${missing} on this host: this case needs the ${missing} package(s), which \`make deps\` (scripts/install-deps.sh) installs with their services off`);
}

/**
 * `n` ports free now, below Linux's ephemeral range (32768-60999): a
 * restarted server must get its port back, and an outgoing connection
 * (a test may make many) could otherwise hold it meanwhile.
 */
export async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < n) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (ports.includes(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) ports.push(port);
  }
  return ports;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Retries `probe` (it throws why not yet) every 100 ms until it resolves; after `ms`, throws naming `what` and the last reason. */
export async function waitUntil<T>(what: string, ms: number, probe: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await probe();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms (last: ${err instanceof Error ? err.message : String(err)})`);
    }
    await sleep(100);
  }
}

/** Throws `why` unless `ok`. */
export function check(ok: boolean, why: string): void {
  if (!ok) throw new Error(why);
}

/** One command on a short-lived connection to 127.0.0.1:`port` that never retries. */
export async function once(port: number, password: string | undefined, ...args: string[]): Promise<unknown> {
  const c = new Redis({ port, host: '127.0.0.1', password, lazyConnect: true, retryStrategy: () => null, connectTimeout: 1000, commandTimeout: 1000, maxRetriesPerRequest: 0 });
  c.on('error', () => {});
  try {
    await c.connect();
    return await c.call(args[0]!, ...args.slice(1));
  } finally {
    c.disconnect();
  }
}

const exited = (proc: ChildProcess) => proc.exitCode !== null || proc.signalCode !== null;

/**
 * One throwaway redis-server on 127.0.0.1 on a free port, in its own temp
 * dir, without persistence (`--save '' --appendonly no`) and without a
 * password. start() resolves once it answers PING; stop() resolves once the
 * process is gone (nothing left listening) and the dir removed.
 */
export class LocalRedis {
  dir = '';
  port = 0;
  private proc: ChildProcess | undefined;
  /** The server's stdout and stderr (its log: no logfile), the last 4000 characters, for failure messages. */
  private output = '';

  constructor(readonly bin: string) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.dir ||= mkdtempSync(path.join(tmpdir(), 'creditservice-redis-'));
    // A port free when picked may be taken before the server binds it: then another.
    for (let attempt = 1; ; attempt++) {
      const [port] = await freePorts(1);
      this.port = port!;
      this.output = '';
      const proc = spawn(
        this.bin,
        ['--bind', '127.0.0.1', '--port', String(this.port), '--dir', this.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--logfile', ''],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      this.proc = proc;
      const keep = (d: Buffer) => (this.output = (this.output + d.toString()).slice(-4000));
      proc.stdout!.on('data', keep);
      proc.stderr!.on('data', keep);
      let spawnError: Error | undefined;
      proc.once('error', (err) => (spawnError = err));
      try {
        const state = await waitUntil(`redis-server on 127.0.0.1:${this.port} to answer PING`, 15_000, async () => {
          if (spawnError || exited(proc)) return 'exited';
          check((await once(this.port, undefined, 'ping')) === 'PONG', 'no PONG');
          return 'up';
        });
        if (state === 'up') return;
        throw new Error(`redis-server on 127.0.0.1:${this.port} exited (${spawnError?.message ?? proc.exitCode ?? proc.signalCode})`);
      } catch (err) {
        await this.kill();
        const bindFailed = /Address already in use/i.test(this.output);
        if (bindFailed && attempt < 5) continue;
        throw new Error(`${(err as Error).message}\n--- its output:\n${this.output.trimEnd()}`);
      }
    }
  }

  /** Kills the server and waits until it has exited. */
  private async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = undefined;
    if (!proc || exited(proc) || proc.pid === undefined) return;
    const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await gone;
  }

  async stop(): Promise<void> {
    await this.kill();
    if (this.dir) rmSync(this.dir, { recursive: true, force: true });
    this.dir = '';
  }
}
