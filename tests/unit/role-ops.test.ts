/**
 * The parsers and rules behind the role ops that negative and agreement
 * checks rest on, fed the servers' real output formats, and the strict
 * getters fed a server that does not answer.
 */
import { describe, expect, it } from 'vitest';
import { CommandError } from '../../harness/errors.js';
import type { Node } from '../../harness/remote/node.js';
import { PROFILES } from '../../harness/topology.js';
import { agreedLeader, parseEtcdJson } from '../../stacks/etcd-v3.js';
import { parseShowStat } from '../../stacks/reference/fiberlb/index.js';
import { udpBoundOn } from '../../stacks/reference/probes.js';
import { parseGeneveInterfaces } from '../../stacks/reference/prismnet/index.js';
import { reference } from '../../stacks/reference/index.js';

/** A node whose every command answers `reply` (stdout, exit code), as Node.execute/succeed would. */
function fakeNode(reply: (cmd: string) => { stdout: string; code: number }): Node {
  const spec = PROFILES.default.nodes[0];
  const execute = async (cmd: string) => ({ ...reply(cmd), stderr: reply(cmd).code === 0 ? '' : 'connection refused', timedOut: false });
  return {
    name: spec.name,
    spec,
    execute,
    async succeed(cmd: string) {
      const r = await execute(cmd);
      if (r.code !== 0) throw new CommandError(spec.name, cmd, r.code, r.stdout, r.stderr);
      return r.stdout;
    },
  } as unknown as Node;
}
const down = fakeNode(() => ({ stdout: '', code: 1 }));

describe('chainfire: etcd 3.4 JSON and the leader a quorum agrees on', () => {
  // `etcdctl endpoint status -w json` and `member list -w json` of etcd 3.4: 64-bit ids as bare numbers.
  const status = '[{"Endpoint":"http://127.0.0.1:2379","Status":{"header":{"cluster_id":17237436991929493444,"member_id":9372538179322589801,"revision":12,"raft_term":3},"version":"3.4.23","dbSize":20480,"leader":10501334649042878790,"raftIndex":40,"raftTerm":3,"raftAppliedIndex":40,"dbSizeInUse":16384}}]';
  const list =
    '{"header":{"cluster_id":17237436991929493444,"member_id":9372538179322589801,"raft_term":3},"members":[' +
    '{"ID":9372538179322589801,"name":"node01","peerURLs":["http://10.100.0.11:2380"],"clientURLs":["http://10.100.0.11:2379"]},' +
    '{"ID":10501334649042878790,"name":"node02","peerURLs":["http://10.100.0.12:2380"],"clientURLs":["http://10.100.0.12:2379"]},' +
    '{"ID":10501334649042878791,"name":"node03","peerURLs":["http://10.100.0.13:2380"],"clientURLs":["http://10.100.0.13:2379"]}]}';
  const members = parseEtcdJson<{ members: { ID: string; name: string }[] }>(list).members;

  it('keeps 64-bit ids exact (JSON.parse alone would round node02 and node03 to one id)', () => {
    const st = parseEtcdJson<{ Status: { header: { member_id: string }; leader: string } }[]>(status)[0].Status;
    expect(st.header.member_id).toBe('9372538179322589801');
    expect(st.leader).toBe('10501334649042878790');
    expect(members.map((m) => m.ID)).toEqual(['9372538179322589801', '10501334649042878790', '10501334649042878791']);
    expect(String(JSON.parse(list).members[1].ID)).toBe(String(JSON.parse(list).members[2].ID));
  });

  it('names the leader when all three, or two of three, answer alike', () => {
    const l = '10501334649042878790';
    expect(agreedLeader([{ node: 'node01', leader: l }, { node: 'node02', leader: l }, { node: 'node03', leader: l }], members)).toBe('node02');
    expect(agreedLeader([{ node: 'node01', leader: l }, { node: 'node02', leader: l }, { node: 'node03', error: 'exit 1: connection refused' }], members)).toBe('node02');
  });

  it('refuses one answering member, a disagreement, or no leader, saying what each node said', () => {
    const l = '10501334649042878790';
    expect(() => agreedLeader([{ node: 'node01', leader: l }, { node: 'node02', error: 'exit 1' }, { node: 'node03', error: 'exit 1' }], members)).toThrow(
      /no leader agreed by a quorum \(2 of 3.*node01: leader node02; node02: no answer \(exit 1\)/,
    );
    expect(() => agreedLeader([{ node: 'node01', leader: l }], members)).toThrow(/quorum/);
    expect(() => agreedLeader([{ node: 'node01', leader: l }, { node: 'node02', leader: '9372538179322589801' }], members)).toThrow(/leader node02; node02: leader node01/);
    expect(() => agreedLeader([{ node: 'node01', leader: '0' }, { node: 'node02', leader: '0' }], members)).toThrow(/no leader;/);
    expect(() => agreedLeader([{ node: 'node01', leader: '42' }, { node: 'node02', leader: '42' }], members)).toThrow(/leader id 42/);
  });

  it('asks every given node and throws when too few answer', async () => {
    const ops = reference.ops.chainfire;
    await expect(ops.leader([down, down])).rejects.toThrow(/no leader agreed by a quorum \(no member list from any node answering alike\): node01: no answer \(exit 1: connection refused\)/);
    const one = fakeNode((cmd) => (cmd.includes('endpoint status') ? { stdout: status, code: 0 } : { stdout: list, code: 0 }));
    await expect(ops.leader([one, down, down])).rejects.toThrow(/node01: leader node02; node01: no answer/);
    await expect(ops.leader([one, one])).resolves.toBe('node02');
  });
});

describe('flaredb: INFO replication in role words', () => {
  const replica = '# Replication\r\nrole:slave\r\nmaster_host:10.100.0.12\r\nmaster_port:6379\r\nmaster_link_status:up\r\nmaster_last_io_seconds_ago:1\r\n';
  const primary = '# Replication\r\nrole:master\r\nconnected_slaves:2\r\nslave0:ip=10.100.0.11,port=6379,state=online,offset=1,lag=0\r\n';
  const hosts = '127.0.0.1 localhost\n10.100.0.11 node01\n10.100.0.12 node02\n10.100.0.13 node03\n';
  const node = (info: string) => fakeNode((cmd) => ({ stdout: cmd.includes('/etc/hosts') ? hosts : info, code: 0 }));
  const ops = reference.ops.flaredb;

  it('a replica names its primary and link; a primary is one', async () => {
    expect(await ops.replicaOf(node(replica))).toEqual({ primary: 'node02', linked: true });
    expect(await ops.replicaOf(node(replica.replace('master_link_status:up', 'master_link_status:down')))).toEqual({ primary: 'node02', linked: false });
    expect(await ops.isPrimary(node(replica))).toBe(false);
    expect(await ops.isPrimary(node(primary))).toBe(true);
    expect(await ops.replicaOf(node(primary))).toBeUndefined();
  });

  it('throws on an error reply or a dead server instead of guessing a role', async () => {
    await expect(ops.isPrimary(node('NOAUTH Authentication required.\n'))).rejects.toThrow(/names no role/);
    await expect(ops.replicaOf(down)).rejects.toThrow(/command failed/);
  });
});

describe('fiberlb: HAProxy 2.6 show stat', () => {
  const header =
    '# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,';
  const keys = header.slice(2).split(',');
  const row = (v: Record<string, string>) => keys.map((k) => v[k] ?? '').join(',');
  const csv = [
    header,
    row({ pxname: 'stats', svname: 'FRONTEND', stot: '0', status: 'OPEN' }),
    row({ pxname: 'chainfire', svname: 'FRONTEND', stot: '9', status: 'OPEN' }),
    row({ pxname: 'chainfire', svname: 'node01', stot: '3', status: 'UP', check_status: 'L4OK' }),
    row({ pxname: 'chainfire', svname: 'node02', stot: '3', status: 'UP 1/2', check_status: 'L4CON' }),
    row({ pxname: 'chainfire', svname: 'node03', stot: '3', status: 'DOWN', check_status: 'L4CON' }),
    row({ pxname: 'chainfire', svname: 'BACKEND', stot: '9', status: 'UP' }),
    '',
  ].join('\n');

  it('reads rows by the header', () => {
    const rows = parseShowStat(csv);
    expect(rows).toHaveLength(6);
    expect(rows[2]).toMatchObject({ pxname: 'chainfire', svname: 'node01', stot: '3', status: 'UP' });
    expect(() => parseShowStat('Unknown command\n')).toThrow(/no header/);
  });

  it("gives the pool's members with their state and session counts", async () => {
    const node = fakeNode(() => ({ stdout: csv, code: 0 }));
    expect(await reference.ops.fiberlb.pool(node, 'chainfire')).toEqual([
      { member: 'node01', up: true, sessions: 3 },
      { member: 'node02', up: true, sessions: 3 },
      { member: 'node03', up: false, sessions: 3 },
    ]);
    await expect(reference.ops.fiberlb.pool(down, 'chainfire')).rejects.toThrow(/command failed/);
  });
});

describe('prismnet: strict getters and Geneve tunnels', () => {
  const ops = reference.ops.prismnet;

  it('throws when the Northbound database or the switch does not answer, instead of "no ports"', async () => {
    await expect(ops.ports(down, 'tenant-smoke')).rejects.toThrow(/command failed.*lsp-list/);
    await expect(ops.ovsPorts(down)).rejects.toThrow(/list-ports br-int/);
    await expect(ops.portInterface(down, 'p')).rejects.toThrow(/iface-id/);
    await expect(ops.tunnels(down)).rejects.toThrow(/type=geneve/);
  });

  it('reads ports and the attaching interface when they answer', async () => {
    const nb = fakeNode(() => ({ stdout: '7e5a0000-0000-4000-8000-00000000000a (7e5a0000-0000-4000-8000-00000000000a)\n', code: 0 }));
    expect(await ops.ports(nb, 'tenant-smoke')).toEqual(['7e5a0000-0000-4000-8000-00000000000a']);
    expect(await ops.portInterface(fakeNode(() => ({ stdout: 'vnet0\n', code: 0 })), 'p')).toBe('vnet0');
    expect(await ops.portInterface(fakeNode(() => ({ stdout: '\n', code: 0 })), 'p')).toBeUndefined();
  });

  it('reads remote address and health of each geneve interface (ovs-vsctl --format=json)', () => {
    const json = JSON.stringify({
      data: [
        ['ovn-node05-0', ['map', [['csum', 'true'], ['key', 'flow'], ['remote_ip', '10.100.0.22']]], 2, ['set', []]],
        ['ovn-node06-0', ['map', [['key', 'flow'], ['remote_ip', '10.100.0.23']]], -1, 'could not add network device ovn-node06-0 to ofproto (File exists)'],
        ['ovn-node07-0', ['map', [['remote_ip', '10.100.0.24']]], ['set', []], ['set', []]],
      ],
      headings: ['name', 'options', 'ofport', 'error'],
    });
    expect(parseGeneveInterfaces(json)).toEqual([
      { remoteIp: '10.100.0.22', up: true },
      { remoteIp: '10.100.0.23', up: false },
      { remoteIp: '10.100.0.24', up: false },
    ]);
    expect(parseGeneveInterfaces('{"data":[],"headings":["name","options","ofport","error"]}')).toEqual([]);
  });
});

describe('expectPorts: a UDP socket bound on the cluster address', () => {
  const ss = (...locals: string[]) => locals.map((l) => `UNCONN 0      0      ${l}        0.0.0.0:*`).join('\n');

  it('counts the cluster address or every address, not loopback only', () => {
    expect(udpBoundOn(ss('10.100.0.11:53', '127.0.0.1:53'), '10.100.0.11', 53)).toBe(true);
    expect(udpBoundOn(ss('0.0.0.0:53'), '10.100.0.11', 53)).toBe(true);
    expect(udpBoundOn(ss('[::]:53'), '10.100.0.11', 53)).toBe(true);
    expect(udpBoundOn(ss('*:53'), '10.100.0.11', 53)).toBe(true);
    expect(udpBoundOn(ss('127.0.0.1:53'), '10.100.0.11', 53)).toBe(false);
    expect(udpBoundOn(ss('10.100.0.12:53'), '10.100.0.11', 53)).toBe(false);
    expect(udpBoundOn(ss('10.100.0.11:5353'), '10.100.0.11', 53)).toBe(false);
    expect(udpBoundOn('', '10.100.0.11', 53)).toBe(false);
  });
});
