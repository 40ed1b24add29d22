/**
 * When a node counts as ready (SSH, its roles' units, the end of boot), the
 * wait for a tier of nodes with its heartbeat line, and the QMP watch that
 * ends a node's wait when its QEMU pauses on a disk I/O error.
 */
import net from 'node:net';
import { NodeError, WaitTimeoutError } from '../errors.js';
import { formatBytes, freeBytes } from '../host.js';
import { elapsed, progress, withHeartbeat } from '../log.js';
import { shellQuote } from '../remote/node.js';
import { waitFor } from '../remote/wait.js';
import { readyChecks, readyUnits } from '../stack.js';
import type { NodeSpec } from '../topology.js';
import { appendBootRecord } from './boot-record.js';
import type { ClusterCore } from './core.js';

/** A boot wait prints which nodes it still waits for, and on what, this often. */
const HEARTBEAT_MS = 30_000;
/** How often a boot wait asks QMP whether a node's QEMU paused on an I/O error. */
const IO_ERROR_POLL_MS = 5_000;

export class ClusterStartError extends Error {
  override name = 'ClusterStartError';
  constructor(readonly failures: Map<string, Error>) {
    super(
      `cluster start failed on ${[...failures.keys()].join(', ')}:\n` +
        [...failures.values()].map((e) => e.message).join('\n\n'),
    );
  }
}

/**
 * SSH, then each unit the node's roles need, then the end of boot; fails
 * fast. A boot (`record`) is written to the state dir's boot timeline
 * (boot-record.ts); a check of nodes that were up already is not.
 */
export async function waitReady(c: ClusterCore, s: NodeSpec, deadlineMs: number, since = Date.now(), record = true): Promise<void> {
  const node = c.node(s.name);
  const vm = node.vm;
  const deadline = since + deadlineMs;
  await c.ssh.waitForSsh(
    s.name,
    deadline - Date.now(),
    () =>
      vm.pid()
        ? undefined
        : new NodeError(s.name, 'QEMU exited while waiting for SSH', {
            expected: 'a running QEMU and SSH login',
            lastSeen: `no live QEMU (pid file ${vm.pidFile})`,
            consoleTail: vm.consoleTail(),
          }),
    () => vm.consoleTail(),
  );
  progress(s.name, `SSH up (${elapsed(since)})`);
  const sshAt = Date.now();
  const units = readyUnits(c.stack, s);
  // One round trip when all is well (each one costs a TCG guest a fraction of a second); the unit-by-unit wait below names what is not.
  const quick = await node.execute(
    `systemctl is-system-running --wait; systemctl show -p Id -p ActiveState ${units.map(shellQuote).join(' ')}`,
    Math.max(1000, deadline - Date.now()),
  );
  const [head, ...props] = quick.stdout.trim().split('\n');
  const active = props.filter((l) => l === 'ActiveState=active').length;
  /** Units active and the system in `state`: the ready checks, then the boot on the timeline. */
  const finish = async (state: string) => {
    const unitsAt = Date.now();
    await passChecks(c, s, deadline, since);
    if (record) appendBootRecord(c.stateDir, { node: s.name, startedAt: since, sshAt, unitsAt, readyAt: Date.now() });
    progress(s.name, `ready: ${units.join(', ')} active, system ${state} (${elapsed(since)})`);
  };
  if (head === 'running' && active === units.length) return finish('running');
  for (const unit of units) await node.waitForUnit(unit, Math.max(1000, deadline - Date.now()));
  const r = await node.execute('systemctl is-system-running --wait', Math.max(1000, deadline - Date.now()));
  const state = r.stdout.trim();
  // Degraded means a unit failed during boot: not ready, whatever the role units say. Name them, with their journals.
  if (state === 'degraded') {
    const failed = await node.failedUnits();
    const journals = await Promise.all(failed.map(async (u) => `--- ${u} ---\n${await node.journal(u, 20)}`));
    throw new NodeError(s.name, `boot finished degraded: failed ${failed.join(', ') || '(no unit listed)'}`, {
      expected: 'systemctl is-system-running: running (no failed unit)',
      lastSeen: `degraded; systemctl --failed: ${failed.join(', ') || '(none)'}`,
      journal: journals.join('\n'),
      consoleTail: vm.consoleTail(),
    });
  }
  if (state !== 'running') {
    throw new WaitTimeoutError(s.name, `boot did not finish (systemctl is-system-running: ${state || 'no answer'})`, {
      expected: 'running',
      lastSeen: state,
      consoleTail: vm.consoleTail(),
    });
  }
  await finish(state);
}

/**
 * The node's ready checks (Role.readyChecks), one after the other, each
 * retried until it exits 0 or the boot deadline passes; the error names the
 * check and its last output. A server that starts on first use answers its
 * first question late, so "not yet" is normal for a while.
 */
async function passChecks(c: ClusterCore, s: NodeSpec, deadline: number, since: number): Promise<void> {
  const node = c.node(s.name);
  for (const check of readyChecks(c.stack, s)) {
    await waitFor(
      {
        node: s.name,
        what: `ready check: ${check.what}`,
        expected: `exit 0 from: ${check.command}`,
        timeoutMs: Math.max(1000, deadline - Date.now()),
        consoleTail: () => node.consoleTail(),
        quiet: true,
      },
      async (signal) => {
        const r = await node.execute(check.command, Math.max(1000, deadline - Date.now()), signal);
        const out = `${r.stdout}\n${r.stderr}`.trim().slice(-800);
        return { ok: r.code === 0, seen: `exit ${r.code ?? (r.timedOut ? 'timeout' : 'signal')}: ${out}` };
      },
    );
    progress(s.name, `ready check passed: ${check.what} (${elapsed(since)})`);
  }
}

/**
 * waitReady for each node of a tier, all at once. Every 30 s a heartbeat
 * line says which nodes are still not ready and what they wait on; a QEMU
 * that pauses its guest on a disk I/O error ends that node's wait at once.
 */
export async function waitTier(c: ClusterCore, specs: NodeSpec[], since: number): Promise<PromiseSettledResult<void>[]> {
  const done = new Set<string>();
  const waits = specs.map(async (s) => {
    try {
      await Promise.race([waitReady(c, s, c.cfg.bootTimeoutS * 1000, since), failOnIoError(c, s, () => done.has(s.name))]);
    } finally {
      done.add(s.name);
    }
  });
  try {
    return await withHeartbeat(
      HEARTBEAT_MS,
      () => void heartbeat(c, specs.filter((s) => !done.has(s.name)), since),
      Promise.allSettled(waits),
    );
  } finally {
    for (const s of specs) done.add(s.name);
  }
}

/** Rejects when `s`'s QEMU reports an I/O-error pause; stays pending (and stops polling) once `over()`. */
export function failOnIoError(c: ClusterCore, s: NodeSpec, over: () => boolean): Promise<never> {
  const vm = c.vm(s.name);
  return new Promise<never>((_, reject) => {
    const tick = async () => {
      if (over()) return;
      if ((await vm.state()) === 'io-error') {
        let free = '?';
        try {
          free = formatBytes(freeBytes(c.stateDir));
        } catch {
          /* the folder is gone: say so with '?' */
        }
        reject(
          new NodeError(s.name, 'QEMU paused the guest on a disk I/O error', {
            expected: 'a running guest',
            lastSeen: `QMP status io-error; ${free} free in ${c.stateDir} (a full host disk does this)`,
            consoleTail: vm.consoleTail(),
          }),
        );
        return;
      }
      if (!over()) setTimeout(() => void tick(), IO_ERROR_POLL_MS).unref();
    };
    setTimeout(() => void tick(), IO_ERROR_POLL_MS).unref();
  });
}

/** One line: the nodes of a tier still not ready, and what each waits on. */
async function heartbeat(c: ClusterCore, pending: NodeSpec[], since: number): Promise<void> {
  if (pending.length === 0) return;
  const what = await Promise.all(
    pending.map(async (s) => {
      const vm = c.vm(s.name);
      const st = await vm.state();
      if (st !== 'running') return `${s.name} (QEMU ${st})`;
      return `${s.name} (${(await sshBanner(c.sshPort(s), 2000)) ? 'sshd up; waiting for login, its units and the end of boot' : 'sshd not answering yet'})`;
    }),
  );
  progress('boot', `still waiting after ${elapsed(since)}: ${what.join(', ')}`);
}

/** Whether something on 127.0.0.1:`port` greets with an SSH banner within `timeoutMs` (sshd is up in the guest). */
export function sshBanner(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.startsWith('SSH-')) finish(true);
      else if (buf.length >= 4) finish(false);
    });
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(false));
  });
}
