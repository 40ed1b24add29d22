/** Probes shared by roles of the reference stack. */
import { NodeError } from '../../harness/errors.js';
import type { Probe } from '../../harness/stack.js';

export interface PortSpec {
  proto: 'tcp' | 'udp';
  port: number;
}

/**
 * Each TCP port accepts a connection on the node's cluster address; each UDP
 * port has a socket bound on that address (or on all addresses). A UDP
 * answer needs the protocol: the role's own probe asks it on the cluster
 * address (flashdns: a SOA over UDP).
 */
export function expectPorts(role: string, ports: PortSpec[]): Probe {
  const list = (proto: 'tcp' | 'udp') => ports.filter((p) => p.proto === proto).map((p) => `${p.proto}/${p.port}`);
  const [tcp, udp] = [list('tcp'), list('udp')];
  return {
    name: [tcp.length ? `${tcp.join(', ')} answer` : '', udp.length ? `${udp.join(', ')} bound` : ''].filter(Boolean).join(', ') + ' on the cluster address',
    async run(node) {
      const ip = node.spec.clusterIp;
      const failed: string[] = [];
      for (const p of ports) {
        if (p.proto === 'tcp') {
          const r = await node.execute(`timeout 10 bash -c '</dev/tcp/${ip}/${p.port}'`);
          if (r.code !== 0) failed.push(`tcp/${p.port}`);
        } else if (!udpBoundOn(await node.succeed(`ss -Hlun 'sport = :${p.port}'`), ip, p.port)) {
          failed.push(`udp/${p.port}`);
        }
      }
      if (failed.length > 0) {
        const listening = (await node.execute('ss -Hltnu')).stdout;
        throw new NodeError(node.name, `${role}: ${failed.join(', ')} not answering on ${ip}`, {
          expected: ports.map((p) => `${p.proto}/${p.port}`).join(', '),
          lastSeen: `listening sockets:\n${listening.trim()}`,
        });
      }
    },
  };
}

/**
 * Whether `ss -Hlun` output has a socket on `port` bound to `ip` or to every
 * address (0.0.0.0, [::], *); one bound only to 127.0.0.1 does not count.
 */
export function udpBoundOn(ssOut: string, ip: string, port: number): boolean {
  return ssOut.split('\n').some((line) => {
    const local = line.trim().split(/\s+/)[3];
    if (!local?.endsWith(`:${port}`)) return false;
    const host = local.slice(0, local.lastIndexOf(':')).replace(/%.*$/, '').replace(/^\[|\]$/g, '');
    return host === ip || host === '0.0.0.0' || host === '::' || host === '*';
  });
}

/** What curl's exit code means when nothing answered (curl(1), EXIT CODES): for messages naming the server that did not answer. */
export function curlFailure(code: number | null | undefined): string {
  const why: Record<number, string> = { 7: 'connection refused', 28: 'no answer in time', 52: 'empty reply', 56: 'connection reset' };
  return `curl exit ${code}${code != null && why[code] ? `: ${why[code]}` : ''}`;
}
