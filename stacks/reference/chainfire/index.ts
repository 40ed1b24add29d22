/**
 * chainfire: replicated coordination store = etcd 3.4, one member on each
 * control-plane node (client 2379, peer 2380). Probed and driven with
 * etcdctl on the node.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Node } from '../../../harness/node.js';
import type { Role } from '../../../harness/stack.js';
import type { ChainfireOps } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Sized for six TCG guests on two cores: a 2 s heartbeat (hardware: 100 ms)
 * keeps idle etcd cheap (each raft tick is a timer wakeup that emulation
 * makes dear), a 20 s election timeout rides out guest stalls.
 * Measured figures for leader change and rejoin are in the README. A KVM
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

const ETCDCTL = 'ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 --command-timeout=15s';

interface StatusJson {
  Endpoint: string;
  Status: { header: { member_id: number }; leader: number };
}

async function leaderOf(node: Node): Promise<{ self: string; leader: string }> {
  const out = await node.succeed(`${ETCDCTL} endpoint status -w json`);
  const st = (JSON.parse(out) as StatusJson[])[0].Status;
  return { self: String(st.header.member_id), leader: String(st.leader) };
}

export const chainfireOps: ChainfireOps = {
  timing: TIMING,
  async members(node) {
    const out = await node.succeed(`${ETCDCTL} member list -w json`);
    const members = (JSON.parse(out) as { members: { name: string; peerURLs: string[]; clientURLs?: string[] }[] }).members;
    return members.map((m) => ({ name: m.name, started: (m.clientURLs ?? []).length > 0 }));
  },
  async leader(nodes) {
    const seen = new Map<string, string>();
    const ids = new Map<string, string>();
    for (const n of nodes) {
      const r = await leaderOf(n).catch(() => undefined);
      if (!r) continue;
      ids.set(r.self, n.name);
      seen.set(n.name, r.leader);
    }
    const leaders = new Set([...seen.values()].filter((l) => l !== '0'));
    if (leaders.size !== 1) return undefined;
    return ids.get([...leaders][0]);
  },
  async put(node, key, value) {
    await node.succeed(`${ETCDCTL} put ${key} ${value}`);
  },
  async get(node, key) {
    const out = await node.succeed(`${ETCDCTL} get ${key} --print-value-only --consistency=l`);
    return out.trim() === '' ? undefined : out.trim();
  },
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
