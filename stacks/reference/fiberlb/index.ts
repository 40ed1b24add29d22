/**
 * fiberlb: load balancer = HAProxy 2.6 with its runtime API, on every
 * control-plane node, fronting chainfire's client port.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import type { FiberlbOps } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export const fiberlbOps: FiberlbOps = {
  async info(node) {
    const out = await node.succeed("echo 'show info' | socat stdio unix-connect:/run/haproxy/admin.sock");
    return Object.fromEntries(
      out
        .split('\n')
        .filter((l) => l.includes(': '))
        .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2).trim()]),
    );
  },
};

export const fiberlb: Role = {
  name: 'fiberlb',
  description: 'load balancer: HAProxy with its runtime API',
  hostedOn: (n) => n.kind === 'control',
  image: {
    packages: ['haproxy', 'socat'],
    filesDir: path.join(here, 'files'),
  },
  units: ['haproxy.service'],
  probes: [
    expectPorts('fiberlb', [{ proto: 'tcp', port: 8404 }, { proto: 'tcp', port: 12379 }]),
    {
      name: 'runtime API answers show info',
      async run(node) {
        const info = await fiberlbOps.info(node);
        if (info.Name !== 'HAProxy' || !info.Uptime_sec) {
          throw new NodeError(node.name, 'fiberlb runtime API did not answer show info', { lastSeen: JSON.stringify(info).slice(0, 400) });
        }
      },
    },
    {
      name: 'balances chainfire through the frontend',
      async run(node) {
        await node.succeed('ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:12379 --command-timeout=15s endpoint health');
      },
    },
  ],
  ops: fiberlbOps,
};
