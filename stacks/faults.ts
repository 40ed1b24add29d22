/**
 * Faults for `cluster prove` tables: small builders that say what they
 * break in words and undo it. Each `restore` is idempotent: it also runs
 * after an `apply` that failed half-way, and after an interrupted run.
 */
import type { FaultTarget, ProveRow } from '../harness/prove.js';
import { shellQuote } from '../harness/remote/node.js';

export type Fault = Pick<ProveRow, 'fault' | 'apply' | 'restore'>;

/**
 * Units stopped on a node (a socket-activated service: name the socket too,
 * or a connection starts it again). Restored by starting the sockets, then the rest in reverse.
 */
export function unitsStopped(node: string, units: string[]): Fault {
  const list = units.map(shellQuote).join(' ');
  // Sockets first: a socket-activated service started before its sockets fails ("Job failed").
  const back = [...units.filter((u) => u.endsWith('.socket')), ...units.filter((u) => !u.endsWith('.socket')).reverse()].map(shellQuote).join(' ');
  return {
    fault: `${units.join(' + ')} stopped on ${node}`,
    async apply(c: FaultTarget) {
      await c.node(node).succeed(`systemctl stop ${list}`, 120_000);
    },
    async restore(c: FaultTarget) {
      await c.node(node).succeed(`systemctl reset-failed ${list} 2>/dev/null; systemctl start ${back}`, 180_000);
    },
  };
}

/**
 * New TCP connections to a port (or an inclusive range) on a node refused: a
 * REJECT rule with a TCP reset in front of everything, loopback included
 * unless `peersOnly` (then the node still reaches itself: its own health
 * checks pass while every peer is refused). SSH is never blocked.
 */
export function portRefused(node: string, port: number | readonly [number, number], opts: { peersOnly?: boolean } = {}): Fault {
  const [from, to] = typeof port === 'number' ? [port, port] : port;
  if (from <= 22 && 22 <= to) throw new Error('portRefused: the harness reaches nodes over SSH (22): never block it');
  const ports = from === to ? `${from}` : `${from}-${to}`;
  const rule = `${opts.peersOnly ? '! -i lo ' : ''}-p tcp --dport ${from === to ? from : `${from}:${to}`} -m comment --comment ultracloud-prove -j REJECT --reject-with tcp-reset`;
  return {
    fault: `TCP ${from === to ? 'port' : 'ports'} ${ports} refused on ${node}${opts.peersOnly ? ' to every peer (loopback still served)' : ''} (iptables REJECT)`,
    async apply(c: FaultTarget) {
      await c.node(node).succeed(`iptables -I INPUT ${rule}`);
    },
    async restore(c: FaultTarget) {
      await c.node(node).succeed(`while iptables -D INPUT ${rule} 2>/dev/null; do :; done`);
    },
  };
}

/** A file moved aside (restored by moving it back, and `then` run, e.g. a reload). */
export function fileMovedAside(node: string, file: string, then = ''): Fault {
  const f = shellQuote(file);
  const aside = shellQuote(`${file}.ultracloud-prove`);
  return {
    fault: `${file} moved aside on ${node}`,
    async apply(c: FaultTarget) {
      await c.node(node).succeed(`mv ${f} ${aside}`);
    },
    async restore(c: FaultTarget) {
      await c.node(node).succeed(`if [ -e ${aside} ]; then mv -f ${aside} ${f}; fi${then ? `; ${then}` : ''}`, 180_000);
    },
  };
}

/** A kernel module unloaded on a node (and what uses it): restored by loading it again, then `then` (e.g. a restart of what cached its absence). */
export function modulesUnloaded(node: string, modules: string[], then = ''): Fault {
  return {
    fault: `${modules.join(' + ')} unloaded on ${node}`,
    async apply(c: FaultTarget) {
      await c.node(node).succeed(`modprobe -r ${modules.map(shellQuote).join(' ')}`);
    },
    async restore(c: FaultTarget) {
      await c.node(node).succeed(`${modules.map((m) => `modprobe ${shellQuote(m)}`).reverse().join(' && ')}${then ? ` && ${then}` : ''}`, 180_000);
    },
  };
}

/** Commands of one's own: for faults that belong to one role (a record removed, a replica demoted). */
export function commands(fault: string, node: string, apply: string, restore: string, restoreTimeoutMs = 180_000): Fault {
  return {
    fault,
    async apply(c: FaultTarget) {
      await c.node(node).succeed(apply, 120_000);
    },
    async restore(c: FaultTarget) {
      await c.node(node).succeed(restore, restoreTimeoutMs);
    },
  };
}

/** The protocols layer's checks of a role on a node (tests/smoke/protocols.test.ts): its units, and the probes named. */
export function protocolChecks(role: string, node: string, probes: string[], units = true): Pick<ProveRow, 'suite' | 'file' | 'checks'> {
  return {
    suite: 'smoke',
    file: 'tests/smoke/protocols.test.ts',
    checks: [...(units ? [`${role} > on ${node} > units are active`] : []), ...probes.map((p) => `${role} > on ${node} > ${p}`)],
  };
}

/** Several faults as one (e.g. a unit stopped on every node that runs it); restored in reverse, each attempted. */
export function allOf(fault: string, parts: Fault[]): Fault {
  return {
    fault,
    async apply(c: FaultTarget) {
      for (const p of parts) await p.apply(c);
    },
    async restore(c: FaultTarget) {
      const errors: Error[] = [];
      for (const p of [...parts].reverse()) await p.restore(c).catch((e: Error) => errors.push(e)); // swallow-ok: each part is restored, then the first error is thrown
      if (errors.length > 0) throw errors[0];
    },
  };
}
