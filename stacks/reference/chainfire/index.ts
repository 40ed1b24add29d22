/**
 * chainfire: replicated coordination store = etcd 3.4, one member on each
 * control-plane node (client 2379, peer 2380). Probed and driven with
 * etcdctl on the node.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import type { ChainfireOps } from '../../contracts.js';
import { ETCDCTL, etcdV3Ops } from '../../etcd-v3.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Sized for six TCG guests on two cores: a 2 s heartbeat (hardware: 100 ms)
 * keeps idle etcd cheap (each raft tick is a timer wakeup that emulation
 * makes dear), a 20 s election timeout rides out guest stalls.
 * Most idle wakeups are not raft's but the Go runtime's and etcd's fixed
 * 100 ms loops: the unit runs with a 50 ms timer slack so they batch
 * (files/etc/systemd/system/etcd.service.d/ultracloud.conf).
 * Measured figures for leader change and rejoin are in docs/measurements.md. A KVM
 * host could use 100 ms / 1 s.
 */
export const TIMING = {
  heartbeatMs: 2000,
  electionMs: 20_000,
  /** Deadline for a new leader after the leader stops (measured: 1 s when it hands over, 21-33 s when its VM dies). */
  newLeaderS: 90,
  /** Deadline for a restarted member to be healthy again. */
  rejoinS: 120,
};

export const chainfireOps: ChainfireOps = {
  timing: TIMING,
  unit: 'etcd.service',
  ...etcdV3Ops,
  async stop(node) {
    await node.succeed('systemctl stop etcd.service');
  },
  async start(node) {
    await node.succeed('systemctl start etcd.service', 600_000);
  },
  async healthy(node) {
    const r = await node.execute(`${ETCDCTL} endpoint health`);
    return r.code === 0;
  },
};

export const chainfire: Role = {
  name: 'chainfire',
  description: 'replicated coordination store: etcd 3.4, three members',
  hostedOn: (n) => n.kind === 'control',
  image: {
    packages: ['etcd-server', 'etcd-client'],
    filesDir: path.join(here, 'files'),
    customizeScript: path.join(here, 'customize.sh'),
  },
  units: ['ultracloud-role-setup@chainfire.service', 'etcd.service'],
  probes: [
    expectPorts('chainfire', [{ proto: 'tcp', port: 2379 }, { proto: 'tcp', port: 2380 }]),
    {
      name: 'etcd endpoint health and a member list of three started members',
      async run(node) {
        await node.succeed(`${ETCDCTL} endpoint health`);
        const members = await chainfireOps.members(node);
        const started = members.filter((m) => m.started).map((m) => m.name).sort();
        if (started.length !== 3) {
          throw new NodeError(node.name, 'chainfire member list is not three started members', {
            expected: 'node01, node02, node03 started',
            lastSeen: JSON.stringify(members),
          });
        }
      },
    },
    {
      name: '/metrics exposes etcd server series',
      async run(node) {
        const out = await node.succeed('curl -sf http://127.0.0.1:2379/metrics');
        for (const series of ['etcd_server_has_leader 1', 'etcd_server_is_leader', 'etcd_mvcc_db_total_size_in_bytes']) {
          if (!out.includes(series)) {
            throw new NodeError(node.name, `chainfire /metrics lacks ${series}`, { expected: series, lastSeen: out.slice(0, 400) });
          }
        }
      },
    },
  ],
  ops: chainfireOps,
};
