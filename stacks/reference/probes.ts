/** Probes shared by roles of the reference stack. */
import { NodeError } from '../../harness/errors.js';
import type { Probe } from '../../harness/stack.js';

export interface PortSpec {
  proto: 'tcp' | 'udp';
  port: number;
}

/**
 * Each TCP port accepts a connection on the node's cluster address; each UDP
 * port has a bound socket (UDP answers are checked by the role's own probe).
 */
export function expectPorts(role: string, ports: PortSpec[]): Probe {
  return {
    name: `${ports.map((p) => `${p.proto}/${p.port}`).join(', ')} answer on the cluster address`,
    async run(node) {
      const ip = node.spec.clusterIp;
      const failed: string[] = [];
      for (const p of ports) {
        const cmd =
          p.proto === 'tcp'
            ? `timeout 10 bash -c '</dev/tcp/${ip}/${p.port}'`
            : `ss -Hlun 'sport = :${p.port}' | grep -q .`;
        const r = await node.execute(cmd);
        if (r.code !== 0) failed.push(`${p.proto}/${p.port}`);
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
