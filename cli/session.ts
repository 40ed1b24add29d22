/**
 * A command's session with the cluster: `withCluster` takes the cluster
 * lock, brings the cluster up (fresh: after the image preflight and the
 * clean) and releases it all however the command ends. Every suite and
 * bench command runs inside one; `start` uses `startCluster` alone.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import type { Cluster } from '../harness/cluster.js';
import { PROJECT_ROOT } from '../harness/config.js';
import { progress } from '../harness/log.js';
import type { StackOps } from '../stacks/contracts.js';
import { openCluster } from './command.js';

/** What a session uses of a cluster (a Cluster; a stand-in in unit tests). */
export type SessionCluster = Pick<Cluster<StackOps>, 'lock' | 'preflightImage' | 'clean' | 'runningNodes' | 'start' | 'stop' | 'close' | 'specs' | 'vm'>;

/** Stops what this invocation booted if the operator interrupts it. */
export function stopOnSignal(cluster: SessionCluster, before: Set<string>): () => void {
  const handler = (sig: NodeJS.Signals) => {
    progress('cluster', `${sig}: stopping the nodes this run started`);
    const started = cluster.specs.filter((s) => !before.has(s.name)).map((s) => s.name);
    void Promise.all(started.map((n) => cluster.vm(n).stop(0)))
      .then(() => (before.size === 0 ? cluster.stop() : undefined))
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', handler);
  process.once('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}

/** Runs `run` holding the cluster lock; the SSH pool is closed and the lock released however it ends. */
export async function holdingLock<T>(cluster: Pick<SessionCluster, 'lock' | 'close'>, purpose: string, run: () => Promise<T>): Promise<T> {
  const lock = cluster.lock(purpose);
  try {
    return await run();
  } finally {
    await cluster.close();
    lock.release();
  }
}

/** `cluster start` without a node: every node that is not running, under the lock; Ctrl-C stops what it booted. */
export async function startCluster(cluster: SessionCluster, fresh: boolean, cold = false): Promise<void> {
  await holdingLock(cluster, 'cluster start', async () => {
    const restore = stopOnSignal(cluster, new Set(cluster.runningNodes().map((s) => s.name)));
    try {
      await cluster.start({ fresh, cold });
    } finally {
      restore();
    }
  });
}

/** `vitest run <args>` in the project; a lock this process holds passes to it through ULTRACLOUD_LOCK_TOKEN. */
export async function runVitest(cluster: Pick<SessionCluster, 'close'>, args: string[], env: Record<string, string> = {}): Promise<number> {
  const vitest = path.join(PROJECT_ROOT, 'node_modules', 'vitest', 'vitest.mjs');
  const child = spawn(process.execPath, [vitest, 'run', ...args], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  const code = await new Promise<number>((resolve) => child.on('exit', (c, sig) => resolve(c ?? (sig ? 128 : 1))));
  await cluster.close();
  return code;
}

export interface SessionOptions<C extends SessionCluster> {
  /** What the lock says it is held for (a refused lock names it): `cluster <command>`. */
  purpose: string;
  /** Throw the runtime state away and boot every node on fresh disks (the image preflight first). */
  fresh?: boolean;
  /** Boot from the image even if a warm snapshot fits. */
  cold?: boolean;
  /** The cluster, when the command opened it already; else the one the environment names. */
  cluster?: C;
}

/**
 * One command's session: image preflight (fresh only: a host that cannot
 * build keeps its state), the cluster lock, the clean (fresh), the start
 * (fresh, or when no node runs: as `cluster start`, reusing a running
 * cluster otherwise), then `run`; the SSH pool is closed and the lock
 * released however it ends. What `run` gives back is the session's result.
 */
export async function withCluster<T, C extends SessionCluster = Cluster<StackOps>>(options: SessionOptions<C>, run: (cluster: C) => Promise<T>): Promise<T> {
  const cluster = options.cluster ?? ((await openCluster()) as unknown as C);
  const fresh = options.fresh ?? false;
  // A stack whose images this host cannot build (nix) says so before the clean throws anything away.
  if (fresh) cluster.preflightImage();
  const lock = cluster.lock(options.purpose);
  try {
    if (fresh) await cluster.clean();
    if (fresh || cluster.runningNodes().length === 0) await startCluster(cluster, fresh, options.cold ?? false);
    return await run(cluster);
  } finally {
    try {
      await cluster.close();
    } finally {
      lock.release();
    }
  }
}
