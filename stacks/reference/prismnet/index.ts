/**
 * prismnet: tenant networking = OVN. `ovn-central` on the control nodes as
 * a 3-member raft cluster of the Northbound and Southbound databases with
 * `ovn-northd` (active/standby through an SB lock); Open vSwitch and
 * `ovn-controller` on the workers, each a chassis named after its node,
 * with Geneve tunnels between them over the cluster network.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Node } from '../../../harness/node.js';
import type { Role } from '../../../harness/stack.js';
import type { PrismnetOps, RaftStatus } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Raft election timer 16 s (OVN's default 1 s flaps when six emulated guests
 * share two cores; heartbeats go out every third of it), set when the
 * clusters are created (setup.sh). ovn-controller probes the SB every 30 s
 * and its OpenFlow connection every 60 s instead of 5 s. A KVM host may use
 * OVN's defaults.
 */
const TIMING = {
  electionMs: 16_000,
  /** A port bound by ovn-controller shows up in the SB (measured in the README). */
  bindS: 90,
  /** Both chassis registered after a worker boots. */
  chassisS: 120,
};

const DB_CTL = { nb: '/var/run/ovn/ovnnb_db.ctl', sb: '/var/run/ovn/ovnsb_db.ctl' } as const;
const DB_NAME = { nb: 'OVN_Northbound', sb: 'OVN_Southbound' } as const;
/** The whole cluster as remotes, from setup.sh's env file; writes go to the leader. */
const NBCTL = '. /etc/ultracloud/prismnet.env && ovn-nbctl --timeout=60 --db="$OVN_NB_DB"';
const SBCTL = '. /etc/ultracloud/prismnet.env && ovn-sbctl --timeout=60 --no-leader-only --db="$OVN_SB_DB"';

export function parseClusterStatus(text: string): RaftStatus {
  const field = (k: string) => new RegExp(`^${k}: (.*)$`, 'm').exec(text)?.[1]?.trim();
  const servers = text.split(/^Servers:\s*$/m)[1] ?? '';
  return {
    status: field('Status') ?? 'unknown',
    role: field('Role') ?? 'unknown',
    leader: field('Leader'),
    servers: servers.split('\n').filter((l) => /\bat (tcp|ssl):/.test(l)).length,
  };
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export const prismnetOps: PrismnetOps = {
  timing: TIMING,
  async clusterStatus(node, db) {
    return parseClusterStatus(await node.succeed(`ovs-appctl -t ${DB_CTL[db]} cluster/status ${DB_NAME[db]}`));
  },
  async chassis(node) {
    const out = await node.succeed(`${SBCTL} --bare --columns=name list Chassis`);
    return out.split('\n').map((l) => l.trim()).filter(Boolean).sort();
  },
  async createSwitch(node, name) {
    await node.succeed(`${NBCTL} --may-exist ls-add ${q(name)}`);
  },
  async deleteSwitch(node, name) {
    await node.succeed(`${NBCTL} --if-exists ls-del ${q(name)}`);
  },
  async createPort(node, sw, port, mac, ip) {
    await node.succeed(`${NBCTL} --may-exist lsp-add ${q(sw)} ${q(port)} -- lsp-set-addresses ${q(port)} ${q(`${mac} ${ip}`)}`);
  },
  async deletePort(node, port) {
    await node.succeed(`${NBCTL} --if-exists lsp-del ${q(port)}`);
  },
  async ports(node, sw) {
    // Strict: "no ports" must mean the database said so, not that it was down.
    const out = await node.succeed(`${NBCTL} lsp-list ${q(sw)}`);
    return out.split('\n').map((l) => /\((.+)\)/.exec(l)?.[1]).filter((p): p is string => !!p);
  },
  async switches(node) {
    const out = await node.succeed(`${NBCTL} --bare --columns=name list Logical_Switch`);
    return out.split('\n').map((l) => l.trim()).filter(Boolean);
  },
  async binding(node, port) {
    const out = await node.succeed(`${SBCTL} --format=json --columns=chassis,up find Port_Binding logical_port=${q(port)}`);
    const rows = (JSON.parse(out) as { data: unknown[][] }).data;
    if (rows.length === 0) return undefined;
    const [chassisRef, up] = rows[0] as [unknown, unknown];
    let chassis: string | undefined;
    if (Array.isArray(chassisRef) && chassisRef[0] === 'uuid') {
      chassis = (await node.succeed(`${SBCTL} --bare --columns=name list Chassis ${chassisRef[1] as string}`)).trim() || undefined;
    }
    // `up` is a set: ["set", []] when unset, or a boolean.
    return { chassis, up: up === true };
  },
  async ovsPorts(node) {
    // Strict, as ports(): a switch that does not answer has not "no ports".
    const out = await node.succeed('ovs-vsctl --timeout=30 list-ports br-int');
    return out.split('\n').map((l) => l.trim()).filter(Boolean);
  },
  async portInterface(node, port) {
    const out = await node.succeed(`ovs-vsctl --timeout=30 --bare --columns=name find Interface external_ids:iface-id=${q(port)}`);
    return out.trim().split('\n')[0] || undefined;
  },
  async tunnels(node) {
    return parseGeneveInterfaces(await node.succeed('ovs-vsctl --timeout=30 --format=json --columns=name,options,ofport,error find Interface type=geneve'));
  },
};

/**
 * `ovs-vsctl --format=json --columns=name,options,ofport,error find Interface
 * type=geneve`: options is ["map", [[k, v], ...]], ofport a number (-1 when
 * the switch could not make the port; ["set", []] before it tried), error a
 * string or ["set", []].
 */
export function parseGeneveInterfaces(json: string): { remoteIp: string; up: boolean }[] {
  const { headings, data } = JSON.parse(json) as { headings: string[]; data: unknown[][] };
  const col = (row: unknown[], name: string) => row[headings.indexOf(name)];
  return data.map((row) => {
    const options = col(row, 'options') as ['map', [string, string][]];
    const ofport = col(row, 'ofport');
    const error = col(row, 'error');
    return {
      remoteIp: Object.fromEntries(options[1]).remote_ip ?? '',
      up: typeof ofport === 'number' && ofport > 0 && typeof error !== 'string',
    };
  });
}

async function expectRaft(node: Node, db: 'nb' | 'sb'): Promise<void> {
  const st = await prismnetOps.clusterStatus(node, db);
  if (st.status !== 'cluster member' || st.servers !== 3 || !st.leader || st.leader === 'unknown') {
    throw new NodeError(node.name, `prismnet ${DB_NAME[db]} raft cluster not whole`, {
      expected: 'cluster member, 3 servers, a known leader',
      lastSeen: JSON.stringify(st),
    });
  }
}

export const prismnet: Role = {
  name: 'prismnet',
  description: 'OVN: clustered NB/SB ovn-central + northd on the control plane, OVS + ovn-controller chassis on workers',
  hostedOn: (n) => n.kind === 'control' || n.kind === 'worker',
  image: {
    packages: ['ovn-central', 'ovn-host', 'openvswitch-switch'],
    filesDir: path.join(here, 'files'),
    // Installed enabled by the packages; started only through the units below.
    disableUnits: ['ovn-central.service', 'ovn-host.service', 'openvswitch-switch.service', 'ovs-record-hostname.service'],
  },
  units: (n) =>
    n.kind === 'control'
      ? ['ultracloud-role-setup@prismnet.service', 'ovn-ovsdb-server-nb.service', 'ovn-ovsdb-server-sb.service', 'ovn-northd.service']
      : ['ovsdb-server.service', 'ovs-vswitchd.service', 'ultracloud-ovn-chassis.service', 'ovn-controller.service'],
  probes: [
    {
      name: 'OVN answers (control: NB/SB raft clusters of 3 with a leader; worker: chassis connected)',
      async run(node) {
        if (node.spec.kind === 'control') {
          await expectPorts('prismnet', [6641, 6642, 6643, 6644].map((port) => ({ proto: 'tcp' as const, port }))).run(node);
          await expectRaft(node, 'nb');
          await expectRaft(node, 'sb');
        } else {
          const conn = (await node.succeed('ovn-appctl -t ovn-controller connection-status')).trim();
          const bridges = await node.succeed('ovs-vsctl list-br');
          if (conn !== 'connected' || !bridges.split('\n').includes('br-int')) {
            throw new NodeError(node.name, 'prismnet chassis not connected to the Southbound database', {
              expected: 'connection-status connected, bridge br-int',
              lastSeen: `connection-status: ${conn}; bridges: ${bridges.trim()}`,
            });
          }
        }
      },
    },
    {
      name: 'control: both worker chassis registered; worker: a working Geneve tunnel to each other worker',
      async run(node) {
        if (node.spec.kind === 'control') {
          const chassis = await prismnetOps.chassis(node);
          const want = ['node04', 'node05'];
          if (!want.every((c) => chassis.includes(c))) {
            throw new NodeError(node.name, 'prismnet: chassis missing from the Southbound database', { expected: want.join(', '), lastSeen: chassis.join(', ') || '(none)' });
          }
        } else {
          // Every other worker of the role (ROLE_NODES lines: "name address kind") must be at the far end of a working tunnel.
          const peers = (await node.succeed('cat /usr/lib/ultracloud/roles/prismnet.nodes'))
            .split('\n')
            .map((l) => l.trim().split(/\s+/))
            .filter(([name, , kind]) => kind === 'worker' && name !== node.name)
            .map(([name, addr]) => ({ name, addr }));
          const tunnels = await prismnetOps.tunnels(node);
          const missing = peers.filter((p) => !tunnels.some((t) => t.remoteIp === p.addr && t.up));
          if (peers.length === 0 || missing.length > 0) {
            throw new NodeError(node.name, `prismnet: no working Geneve tunnel to ${missing.map((p) => `${p.name} (${p.addr})`).join(', ') || 'any other worker'}`, {
              expected: `a geneve interface with an OpenFlow port to each of ${peers.map((p) => p.addr).join(', ') || '(no other workers listed)'}`,
              lastSeen: JSON.stringify(tunnels),
            });
          }
        }
      },
    },
  ],
  ops: prismnetOps,
};
