/**
 * A one-member etcd for unit tests: Debian's etcd-server binary (which
 * `make deps` installs with its service off), on free ports of 127.0.0.1
 * in a temp dir. A missing binary is a broken `make deps`, not a skip.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findBinary, freePorts, missingPackageError, waitUntil } from './local-redis.js';

export class LocalEtcd {
  private constructor(
    private readonly proc: ChildProcess,
    /** The temp dir (its data dir inside); free for the test's own files too. */
    readonly dir: string,
    /** `127.0.0.1:<client port>`. */
    readonly endpoint: string,
  ) {}

  /** `http://127.0.0.1:<client port>`: the v3 JSON gateway is under /v3. */
  get url(): string {
    return `http://${this.endpoint}`;
  }

  /** Starts it and waits until /health answers. */
  static async start(): Promise<LocalEtcd> {
    const bin = findBinary('etcd');
    if (!bin) throw missingPackageError('etcd-server');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-etcd-'));
    const [client, peer] = await freePorts(2);
    const endpoint = `127.0.0.1:${client}`;
    const proc = spawn(bin, ['--name', 'unit', '--data-dir', path.join(dir, 'data'), '--listen-client-urls', `http://${endpoint}`, '--advertise-client-urls', `http://${endpoint}`,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `unit=http://127.0.0.1:${peer}`], { stdio: 'ignore' });
    const etcd = new LocalEtcd(proc, dir, endpoint);
    await waitUntil('etcd answers /health', 30_000, async () => {
      const r = await fetch(`${etcd.url}/health`);
      if (!r.ok) throw new Error(`HTTP ${r.status}`);
    });
    return etcd;
  }

  signal(sig: NodeJS.Signals): void {
    this.proc.kill(sig);
  }

  /** Kills it and removes its dir (afterAll). */
  stop(): void {
    this.proc.kill('SIGKILL');
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
