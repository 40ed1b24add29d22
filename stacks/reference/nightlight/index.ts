/**
 * nightlight: metrics ingest + query = Prometheus 2.42 with the
 * remote-write receiver, on node06 port 9090 (host-forwarded, see
 * `cluster status`), also routed by the API gateway under /nightlight/.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const NIGHTLIGHT_PORT = 9090;

export const nightlight: Role = {
  name: 'nightlight',
  description: 'Prometheus with the remote-write receiver',
  hostedOn: (n) => n.kind === 'gateway',
  image: {
    packages: ['prometheus'],
    filesDir: path.join(here, 'files'),
    disableUnits: ['prometheus-node-exporter.service', 'prometheus-node-exporter-apt.timer', 'prometheus-node-exporter-ipmitool-sensor.timer', 'prometheus-node-exporter-mellanox-hca-temp.timer', 'prometheus-node-exporter-nvme.timer', 'prometheus-node-exporter-smartmon.timer'],
  },
  units: ['prometheus.service'],
  probes: [
    expectPorts('nightlight', [{ proto: 'tcp', port: NIGHTLIGHT_PORT }]),
    {
      name: 'ready, and answers a PromQL query',
      async run(node) {
        await node.succeed(`curl -sf http://127.0.0.1:${NIGHTLIGHT_PORT}/-/ready`);
        const out = await node.succeed(`curl -sf 'http://127.0.0.1:${NIGHTLIGHT_PORT}/api/v1/query?query=vector(1)'`);
        if ((JSON.parse(out) as { status?: string }).status !== 'success') throw new NodeError(node.name, 'nightlight: PromQL query failed', { lastSeen: out });
      },
    },
  ],
};
