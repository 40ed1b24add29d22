/**
 * flaredb on 127.0.0.1 for unit tests: a primary, two replicas and three
 * Sentinels (Debian's redis-server and redis-sentinel) in a temp dir, with
 * failover timings cut to a second. Used by the creditservice failover test
 * and the flaredb register workload's test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { check, once, waitUntil } from './local-redis.js';

export const PASSWORD = 'cafe0123';
export const MASTER = 'flaredb';

/** Primary, two replicas, three Sentinels on 127.0.0.1 in a temp dir. */
export class LocalFlaredb {
  readonly dir = mkdtempSync(path.join(tmpdir(), 'creditservice-sentinel-'));
  readonly procs = new Map<number, ChildProcess>();
  constructor(
    readonly bins: { server: string; sentinel: string },
    readonly redisPorts: number[],
    readonly sentinelPorts: number[],
  ) {}

  private conf(kind: 'redis' | 'sentinel', port: number): string {
    return path.join(this.dir, `${kind}-${port}.conf`);
  }

  log(kind: 'redis' | 'sentinel', port: number): string {
    return path.join(this.dir, `${kind}-${port}.log`);
  }

  /** The last lines of a server's log, for a failure message. */
  tail(kind: 'redis' | 'sentinel', port: number, lines = 15): string {
    try {
      return readFileSync(this.log(kind, port), 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch (err) {
      return String(err);
    }
  }

  writeRedisConf(port: number, replicaOf: number | null): void {
    writeFileSync(
      this.conf('redis', port),
      [
        'bind 127.0.0.1',
        `port ${port}`,
        'daemonize no',
        'save ""',
        'appendonly no',
        `dir ${this.dir}`,
        `dbfilename dump-${port}.rdb`,
        `logfile ${this.log('redis', port)}`,
        `requirepass ${PASSWORD}`,
        `masterauth ${PASSWORD}`,
        // A replica that (re)joins is sent the data at once, not after 5 s.
        'repl-diskless-sync-delay 0',
        replicaOf === null ? '' : `replicaof 127.0.0.1 ${replicaOf}`,
        '',
      ].join('\n'),
    );
  }

  readonly stderr = new Map<number, string>();

  private run(port: number, bin: string, conf: string): void {
    // stderr kept for failure messages: what Redis says before its log file is open.
    const proc = spawn(bin, [conf], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.stderr.set(port, '');
    proc.stderr!.on('data', (d: Buffer) => this.stderr.set(port, (this.stderr.get(port)! + d.toString()).slice(-2000)));
    this.procs.set(port, proc);
  }

  startRedis(port: number): void {
    this.run(port, this.bins.server, this.conf('redis', port));
  }

  startSentinel(port: number, fresh: boolean): void {
    if (fresh) {
      writeFileSync(
        this.conf('sentinel', port),
        [
          'bind 127.0.0.1',
          `port ${port}`,
          'daemonize no',
          `dir ${this.dir}`,
          `logfile ${this.log('sentinel', port)}`,
          'sentinel resolve-hostnames no',
          `sentinel monitor ${MASTER} 127.0.0.1 ${this.redisPorts[0]} 2`,
          `sentinel auth-pass ${MASTER} ${PASSWORD}`,
          // The cluster uses 8 s / 20 s (sized for TCG); short here.
          `sentinel down-after-milliseconds ${MASTER} 1000`,
          `sentinel failover-timeout ${MASTER} 3000`,
          `sentinel parallel-syncs ${MASTER} 1`,
          '',
        ].join('\n'),
      );
    }
    // Restarted from the config file it rewrote: it keeps what it learned.
    this.run(port, this.bins.sentinel, this.conf('sentinel', port));
  }

  async start(): Promise<void> {
    const [p0, p1, p2] = this.redisPorts as [number, number, number];
    this.writeRedisConf(p0, null);
    this.writeRedisConf(p1, p0);
    this.writeRedisConf(p2, p0);
    for (const p of this.redisPorts) this.startRedis(p);
    for (const p of [p1, p2]) await this.waitReplica(p, p0);
    for (const p of this.sentinelPorts) this.startSentinel(p, true);
    // Ready for a failover: every Sentinel knows both replicas and the other two Sentinels.
    for (const p of this.sentinelPorts) {
      await waitUntil(`sentinel ${p} to know the replicas and the other sentinels`, 30_000, async () => {
        const info = (await once(p, undefined, 'sentinel', 'master', MASTER)) as string[];
        const field = (k: string) => info[info.indexOf(k) + 1];
        check(field('num-slaves') === '2' && field('num-other-sentinels') === '2', `num-slaves ${field('num-slaves')}, num-other-sentinels ${field('num-other-sentinels')}`);
      });
    }
  }

  /** Until `port` is a replica, in sync, of `primary` (by default the one the sentinels name). */
  async waitReplica(port: number, primaryPort?: number): Promise<void> {
    try {
      await waitUntil(`127.0.0.1:${port} to replicate from the primary`, 60_000, async () => {
        const primary = primaryPort ?? (await this.primary());
        const info = String(await once(port, PASSWORD, 'info', 'replication'));
        const role = /role:(\w+)/.exec(info)?.[1];
        const from = /master_port:(\d+)/.exec(info)?.[1];
        const link = /master_link_status:(\w+)/.exec(info)?.[1];
        check(role === 'slave' && from === String(primary) && link === 'up', `role ${role}, master_port ${from}, link ${link}; the primary is ${primary}`);
      });
    } catch (err) {
      const proc = this.procs.get(port)!;
      const state = proc.exitCode !== null || proc.signalCode !== null ? `exited (${proc.exitCode ?? proc.signalCode})` : 'running';
      throw new Error(`${(err as Error).message}\n--- process ${proc.pid} ${state}, stderr: ${this.stderr.get(port)}\n--- its log:\n${this.tail('redis', port)}`);
    }
  }

  /** The primary as the first Sentinel that answers sees it. */
  async primary(): Promise<number> {
    for (const p of this.sentinelPorts) {
      try {
        const addr = (await once(p, undefined, 'sentinel', 'get-master-addr-by-name', MASTER)) as [string, string];
        return Number(addr[1]);
      } catch {
        // next one
      }
    }
    throw new Error('no sentinel answered');
  }

  /** Sends `signal` to the process on `port`; resolves once it exited (not for SIGSTOP). */
  signal(port: number, signal: NodeJS.Signals): Promise<void> {
    const proc = this.procs.get(port)!;
    if (signal === 'SIGSTOP') {
      proc.kill(signal);
      return Promise.resolve();
    }
    const exited = proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    return exited;
  }

  stop(): void {
    for (const proc of this.procs.values()) proc.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
