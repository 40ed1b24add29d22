/**
 * chainfire: replicated coordination store = etcd 3.4, one member on each
 * control-plane node (client 2379, peer 2380). Probed and driven with
 * etcdctl on the node.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError, NodeError } from '../../../harness/errors.js';
import type { Node } from '../../../harness/node.js';
import type { Role } from '../../../harness/stack.js';
import type { ChainfireOps } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Sized for six TCG guests on two cores: a 2 s heartbeat (hardware: 100 ms)
 * keeps idle etcd cheap (each raft tick is a timer wakeup that emulation
 * makes dear), a 20 s election timeout rides out guest stalls.
 * Most idle wakeups are not raft's but the Go runtime's and etcd's fixed
 * 100 ms loops: the unit runs with a 50 ms timer slack so they batch
 * (files/etc/systemd/system/etcd.service.d/ultracloud.conf).
 * Measured figures for leader change and rejoin are in the README. A KVM
 * host could use 100 ms / 1 s.
 */
const TIMING = {
  heartbeatMs: 2000,
  electionMs: 20_000,
  /** Deadline for a new leader after the leader stops (measured: 1 s when it hands over, 21-33 s when its VM dies). */
  newLeaderS: 90,
  /** Deadline for a restarted member to be healthy again. */
  rejoinS: 120,
};

const ETCDCTL = 'ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 --command-timeout=15s';

/**
 * etcdctl's JSON carries 64-bit member ids as bare numbers, which JSON.parse
 * would round (two ids could collide); read them as decimal strings.
 */
export function parseEtcdJson<T>(text: string): T {
  return JSON.parse(text.replace(/"(ID|member_id|leader|cluster_id)":(\d+)/g, '"$1":"$2"')) as T;
}

interface MemberListJson {
  members: { ID: string; name: string; peerURLs: string[]; clientURLs?: string[] }[];
}
interface StatusJson {
  Endpoint: string;
  Status: { header: { member_id: string }; leader: string };
}

async function memberList(node: Node): Promise<MemberListJson['members']> {
  return parseEtcdJson<MemberListJson>(await node.succeed(`${ETCDCTL} member list -w json`)).members;
}

/** The leader's member id as the member on `node` sees it ("0": none). */
async function leaderSeenBy(node: Node): Promise<string> {
  return parseEtcdJson<StatusJson[]>(await node.succeed(`${ETCDCTL} endpoint status -w json`))[0].Status.leader;
}

/**
 * The leader name a quorum agrees on, from each node's answer (a leader id,
 * or the error it gave) and the member list; throws with every answer
 * otherwise. Pure, so the rule is unit-tested.
 */
export function agreedLeader(answers: { node: string; leader?: string; error?: string }[], members: { ID: string; name: string }[]): string {
  const quorum = Math.floor(members.length / 2) + 1;
  const nameOf = (id: string) => members.find((m) => m.ID === id)?.name || `id ${id}`;
  const said = answers.map((a) => `${a.node}: ${a.leader === undefined ? `no answer (${a.error})` : a.leader === '0' ? 'no leader' : `leader ${nameOf(a.leader)}`}`);
  const answered = answers.filter((a) => a.leader !== undefined);
  const leaders = new Set(answered.map((a) => a.leader));
  const [id] = leaders;
  if (members.length === 0 || answered.length < quorum || leaders.size !== 1 || id === '0' || !members.some((m) => m.ID === id)) {
    const need = members.length > 0 ? `${quorum} of ${members.length} members` : 'no member list from any node';
    throw new Error(`chainfire: no leader agreed by a quorum (${need} answering alike): ${said.join('; ')}`);
  }
  return nameOf(id!);
}

export const chainfireOps: ChainfireOps = {
  timing: TIMING,
  async members(node) {
    return (await memberList(node)).map((m) => ({ name: m.name, started: (m.clientURLs ?? []).length > 0 }));
  },
  async leader(nodes) {
    const answers = await Promise.all(
      nodes.map((n) =>
        leaderSeenBy(n).then(
          (leader) => ({ node: n.name, leader }),
          (e: Error) => ({ node: n.name, error: e instanceof CommandError ? `exit ${e.code}: ${(e.stderr || e.stdout).trim().split('\n').pop()}` : e.message.split('\n')[0] }),
        ),
      ),
    );
    // The member list (ids to names, and the cluster size a quorum is a majority of) from a node that answered.
    const first = nodes.find((n) => answers.some((a) => a.node === n.name && 'leader' in a));
    const members = first ? await memberList(first) : [];
    return agreedLeader(answers, members);
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
