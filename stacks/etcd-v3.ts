/**
 * The ChainfireOps contract over etcd's v3 API, driven with etcdctl on the
 * node itself (the host never opens a socket to a cluster address). The
 * reference stack's chainfire is etcd; UltraCloud documents its chainfire as
 * etcd-like (KV/Watch/Lease/Cluster gRPC on 2379), so the ultracloud stack
 * speaks the same API to it.
 */
import { CommandError } from '../harness/errors.js';
import type { Node } from '../harness/remote/node.js';
import type { ChainfireOps } from './contracts.js';

export const ETCDCTL = 'ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 --command-timeout=15s';

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

/** Members, leader, put and a linearizable get over etcd v3; stop, start, health and timing are the stack's. */
export const etcdV3Ops: Pick<ChainfireOps, 'ports' | 'members' | 'leader' | 'put' | 'get'> = {
  ports: { client: 2379, peer: 2380 },
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
};
