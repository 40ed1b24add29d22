/**
 * prismnet: tenant networking = OVN. `ovn-central` on the control nodes as
 * a 3-member raft cluster of the Northbound and Southbound databases with
 * `ovn-northd` (active/standby through an SB lock); Open vSwitch and
 * `ovn-controller` on the workers, each a chassis named after its node,
 * with Geneve tunnels between them over the cluster network.
 */
import crypto from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Node } from '../../../harness/remote/node.js';
import type { Role } from '../../../harness/stack.js';
import type { PrismnetOps, RaftStatus, TenantGateway, Tunnel } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Raft election timer 16 s (OVN's default 1 s flaps when six emulated guests
 * share two cores; heartbeats go out every third of it), set when the
 * clusters are created (setup.sh). ovn-controller probes the SB every 30 s
 * and its OpenFlow connection every 60 s instead of 5 s. A KVM host may use
 * OVN's defaults.
 */
export const TIMING = {
  electionMs: 16_000,
  /** A port bound by ovn-controller shows up in the SB (measured: docs/measurements.md). */
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

/** MTU of everything on a tenant network (the guests' default): Geneve's 58 bytes under the cluster network's 1500. */
const TENANT_MTU = 1400;
/** Routing protocol number marking the routes a gateway puts on cluster nodes (`ip route ... proto 250`), so they are found again. */
const GW_PROTO = 250;
/** The cluster network's NIC on every node (named by the image's networkd generator). */
const CLUSTER_NIC = 'cluster0';
/** ip_forward of a worker before its first gateway port, restored when its last one goes. */
const FORWARD_ORIG = '/run/ultracloud/prismnet-ip-forward.orig';

/** Dotted quad <-> 32-bit number. */
const ipNum = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const ipStr = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

/** `a.b.c.d/p` (any address inside it) -> its network `w.x.y.z/p`; throws on anything else. */
export function cidrNetwork(cidr: string): { network: string; prefix: number; base: number } {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || m[1].split('.').some((o) => Number(o) > 255) || prefix > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const size = 2 ** (32 - prefix);
  const base = Math.floor(ipNum(m[1]) / size) * size;
  return { network: `${ipStr(base)}/${prefix}`, prefix, base };
}

/** A locally administered unicast MAC derived from `seed`: stable across runs, so a re-run finds what a failed one left. */
function stableMac(seed: string): string {
  const h = crypto.createHash('sha256').update(seed).digest();
  return ['0a', '58', ...[...h.subarray(0, 4)].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}

/** Names and addresses of a router's port on a tenant switch. */
export function routerPortNames(router: string, sw: string): { lrp: string; lsp: string; mac: string } {
  return { lrp: `lrp-${router}-${sw}`, lsp: `lsp-${router}-${sw}`, mac: stableMac(`lrp/${router}/${sw}`) };
}

/** Everything ensureGateway makes, derived from the router's name and the transit network. */
export function gatewayPlan(gw: TenantGateway) {
  const { prefix, base } = cidrNetwork(gw.transit);
  if (prefix > 30) throw new Error(`transit network ${gw.transit} has no room for two addresses (a /30 or larger)`);
  const transitSwitch = `${gw.router}-transit`;
  return {
    transitSwitch,
    /** The router's port on the transit switch. */
    routerPort: { ...routerPortNames(gw.router, transitSwitch), address: `${ipStr(base + 1)}/${prefix}` },
    routerIp: ipStr(base + 1),
    /** The worker's end: an OVS internal port bound to logical port `lsp`. */
    lsp: `${gw.router}-gw`,
    /** Linux interface names are at most 15 characters: a hash of the router's name. */
    iface: `ucgw-${crypto.createHash('sha256').update(gw.router).digest('hex').slice(0, 8)}`,
    workerMac: stableMac(`gw/${gw.router}`),
    workerIp: ipStr(base + 2),
    workerAddress: `${ipStr(base + 2)}/${prefix}`,
  };
}

/** `ip -o -4 route show proto 250`: the gateway routes on a node. */
export function parseGatewayRoutes(text: string): { cidr: string; via: string }[] {
  return text
    .split('\n')
    .map((l) => /^(\S+) via (\S+)/.exec(l.trim()))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ cidr: m[1].includes('/') ? m[1] : `${m[1]}/32`, via: m[2] }));
}

/** The tenant networks (CIDRs) behind a router: its ports' networks but the transit one. */
async function routerNetworks(node: Node, router: string, transitLrp: string): Promise<string[]> {
  const out = await node.succeed(`${NBCTL} --format=json --columns=name,networks list Logical_Router_Port`);
  const { data } = JSON.parse(out) as { data: [string, string | ['set', string[]]][] };
  const mine = (await node.succeed(`${NBCTL} lrp-list ${q(router)}`)).split('\n').map((l) => /\((.+)\)/.exec(l)?.[1]).filter(Boolean);
  return data
    .filter(([name]) => name !== transitLrp && mine.includes(name))
    .flatMap(([, nets]) => (typeof nets === 'string' ? [nets] : nets[1]))
    .map((n) => cidrNetwork(n).network);
}

/** The networks (CIDRs) of every router's ports but `except`'s: a client's gateway route to one of them belongs to that router's gateway. */
async function otherRoutersNetworks(node: Node, except: string): Promise<Set<string>> {
  type Col = string | ['uuid', string] | ['set', (string | ['uuid', string])[]];
  const list = async (table: string, cols: string) => (JSON.parse(await node.succeed(`${NBCTL} --format=json --columns=${cols} list ${table}`)) as { data: Col[][] }).data;
  const values = (c: Col): string[] => (Array.isArray(c) && c[0] === 'set' ? (c[1] as (string | ['uuid', string])[]) : [c as string | ['uuid', string]]).map((v) => (Array.isArray(v) ? v[1] : v));
  const ports = new Map((await list('Logical_Router_Port', '_uuid,networks')).map(([id, nets]) => [values(id)[0], values(nets)]));
  const nets = new Set<string>();
  for (const [name, lrps] of await list('Logical_Router', 'name,ports')) {
    if (name === except) continue;
    for (const id of values(lrps)) for (const n of ports.get(id) ?? []) nets.add(cidrNetwork(n).network);
  }
  return nets;
}

async function routerExists(node: Node, name: string): Promise<boolean> {
  const out = await node.succeed(`${NBCTL} --bare --columns=name list Logical_Router`);
  return out.split('\n').map((l) => l.trim()).includes(name);
}

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
  async beginMove(node, port, from, to) {
    // Without it the destination's interface (created when the migration starts) claims the port while the guest still runs on the source.
    await node.succeed(`${NBCTL} set Logical_Switch_Port ${q(port)} options:requested-chassis=${q(`${from},${to}`)} options:activation-strategy=rarp`);
  },
  async endMove(node, port) {
    await node.succeed(`${NBCTL} --if-exists remove Logical_Switch_Port ${q(port)} options requested-chassis -- --if-exists remove Logical_Switch_Port ${q(port)} options activation-strategy`);
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
  async genevePackets(node, peerIp) {
    // OVS reports no per-tunnel counters for the kernel datapath: count Geneve (UDP 6081) to and from the
    // peer with two verdict-less iptables rules (they count, nothing else), added once.
    const rules = [`OUTPUT -p udp --dport 6081 -d ${peerIp}`, `INPUT -p udp --dport 6081 -s ${peerIp}`].map((r) => `${r} -m comment --comment ultracloud-geneve-count`);
    const out = await node.succeed(
      `${rules.map((r) => `iptables -C ${r} 2>/dev/null || iptables -A ${r}`).join('; ')}; ` +
        "for c in OUTPUT INPUT; do echo \"$c $(iptables -L $c -v -x -n | grep ultracloud-geneve-count | grep -F " + `'${peerIp}'` + " | awk '{print $1}')\"; done",
    );
    const count = (chain: string) => {
      const m = new RegExp(`^${chain} (\\d+)$`, 'm').exec(out);
      if (!m) throw new NodeError(node.name, `prismnet: no Geneve packet counter (${chain}, peer ${peerIp})`, { lastSeen: out.trim() });
      return Number(m[1]);
    };
    return { tx: count('OUTPUT'), rx: count('INPUT') };
  },
  async tunnels(node) {
    return parseGeneveInterfaces(await node.succeed('ovs-vsctl --timeout=30 --format=json --columns=name,options,ofport,error find Interface type=geneve'));
  },
  async ensureRouter(node, router) {
    const cmds = [`--may-exist lr-add ${q(router.name)}`];
    for (const net of router.networks) {
      cidrNetwork(net.address);
      const p = routerPortNames(router.name, net.switch);
      cmds.push(
        `--may-exist lrp-add ${q(router.name)} ${q(p.lrp)} ${p.mac} ${q(net.address)}`,
        `--may-exist lsp-add ${q(net.switch)} ${q(p.lsp)}`,
        `lsp-set-type ${q(p.lsp)} router`,
        `lsp-set-addresses ${q(p.lsp)} router`,
        `lsp-set-options ${q(p.lsp)} router-port=${q(p.lrp)}`,
      );
    }
    await node.succeed(`${NBCTL} ${cmds.join(' -- ')}`);
  },
  async deleteRouter(node, name) {
    if (!(await routerExists(node, name))) return;
    const lrps = (await node.succeed(`${NBCTL} lrp-list ${q(name)}`)).split('\n').map((l) => /\((.+)\)/.exec(l)?.[1]).filter((p): p is string => !!p);
    // Each lrp-<router>-<switch> has its switch-side twin lsp-<router>-<switch>.
    const lsps = lrps.filter((p) => p.startsWith(`lrp-${name}-`)).map((p) => `lsp-${p.slice(4)}`);
    await node.succeed(`${NBCTL} ${[...lsps.map((p) => `--if-exists lsp-del ${q(p)}`), `--if-exists lr-del ${q(name)}`].join(' -- ')}`);
  },
  async routers(node) {
    const out = await node.succeed(`${NBCTL} --bare --columns=name list Logical_Router`);
    return out.split('\n').map((l) => l.trim()).filter(Boolean);
  },
  async ensureGateway(node, worker, gw, clients) {
    const plan = gatewayPlan(gw);
    if (!(await routerExists(node, gw.router))) throw new NodeError(node.name, `prismnet: no logical router ${gw.router} to make a gateway for`);
    // The cluster network as the worker has it on its cluster NIC (kernel route, e.g. 10.100.0.0/24).
    const clusterNet = (await worker.succeed(`ip -o -4 route show dev ${CLUSTER_NIC} proto kernel scope link`)).trim().split(/\s+/)[0];
    cidrNetwork(clusterNet);
    const rp = plan.routerPort;
    await node.succeed(
      `${NBCTL} ${[
        `--may-exist ls-add ${q(plan.transitSwitch)}`,
        `--may-exist lrp-add ${q(gw.router)} ${q(rp.lrp)} ${rp.mac} ${rp.address}`,
        `--may-exist lsp-add ${q(plan.transitSwitch)} ${q(rp.lsp)}`,
        `lsp-set-type ${q(rp.lsp)} router`,
        `lsp-set-addresses ${q(rp.lsp)} router`,
        `lsp-set-options ${q(rp.lsp)} router-port=${q(rp.lrp)}`,
        `--may-exist lsp-add ${q(plan.transitSwitch)} ${q(plan.lsp)}`,
        `lsp-set-addresses ${q(plan.lsp)} ${q(`${plan.workerMac} ${plan.workerIp}`)}`,
        `--may-exist lr-route-add ${q(gw.router)} ${clusterNet} ${plan.workerIp}`,
      ].join(' -- ')}`,
    );
    const nets = await routerNetworks(node, gw.router, rp.lrp);
    if (nets.length === 0) throw new NodeError(node.name, `prismnet: router ${gw.router} has no tenant network to make reachable`);
    // The worker's end: an internal port on br-int carrying the logical port's iface-id, addressed on the transit network.
    await worker.succeed(
      [
        'set -e',
        `[ -e ${FORWARD_ORIG} ] || sysctl -n net.ipv4.ip_forward > ${FORWARD_ORIG}`,
        `ovs-vsctl --timeout=30 --may-exist add-port br-int ${plan.iface} -- set Interface ${plan.iface} type=internal external_ids:iface-id=${q(plan.lsp)} mac='"${plan.workerMac}"'`,
        `for i in $(seq 50); do [ -e /sys/class/net/${plan.iface} ] && break; sleep 0.2; done`,
        `ip link set ${plan.iface} address ${plan.workerMac} mtu ${TENANT_MTU} up`,
        `ip addr replace ${plan.workerAddress} dev ${plan.iface}`,
        ...nets.map((n) => `ip route replace ${n} via ${plan.routerIp} dev ${plan.iface}`),
        'sysctl -qw net.ipv4.ip_forward=1',
      ].join('\n'),
    );
    const via = worker.spec.clusterIp;
    for (const c of clients) {
      if (c.name === worker.name) continue;
      await c.succeed(nets.map((n) => `ip route replace ${n} via ${via} dev ${CLUSTER_NIC} mtu ${TENANT_MTU} proto ${GW_PROTO}`).join(' && '));
    }
  },
  async removeGateway(node, worker, gw, clients) {
    const plan = gatewayPlan(gw);
    const via = worker.spec.clusterIp;
    // Another router's gateway on the same worker keeps its routes (their networks are its router's).
    const others = await otherRoutersNetworks(node, gw.router);
    for (const c of clients) {
      if (c.name === worker.name) continue;
      const routes = parseGatewayRoutes(await c.succeed(`ip -o -4 route show proto ${GW_PROTO}`)).filter((r) => r.via === via && !others.has(r.cidr));
      if (routes.length) await c.succeed(routes.map((r) => `ip route del ${r.cidr} via ${r.via} proto ${GW_PROTO}`).join(' && '));
    }
    // Its routes go with the interface; forwarding goes back to what it was once no gateway port is left.
    await worker.succeed(
      [
        `ovs-vsctl --timeout=30 --if-exists del-port br-int ${plan.iface}`,
        `if [ -e ${FORWARD_ORIG} ] && ! ls /sys/class/net | grep -q '^ucgw-'; then sysctl -qw net.ipv4.ip_forward=$(cat ${FORWARD_ORIG}) && rm -f ${FORWARD_ORIG}; fi`,
      ].join('\n'),
    );
    const rp = plan.routerPort;
    const cmds = [`--if-exists lsp-del ${q(plan.lsp)}`, `--if-exists lsp-del ${q(rp.lsp)}`, `--if-exists ls-del ${q(plan.transitSwitch)}`];
    if (await routerExists(node, gw.router)) {
      cmds.push(`--if-exists lrp-del ${q(rp.lrp)}`);
      const routes = await node.succeed(`${NBCTL} lr-route-list ${q(gw.router)}`);
      for (const m of routes.matchAll(/^\s*(\S+)\s+(\S+)\s/gm)) {
        if (m[2] === plan.workerIp) cmds.push(`--if-exists lr-route-del ${q(gw.router)} ${m[1]} ${m[2]}`);
      }
    }
    await node.succeed(`${NBCTL} ${cmds.join(' -- ')}`);
  },
  async gatewayRoutes(node) {
    return parseGatewayRoutes(await node.succeed(`ip -o -4 route show proto ${GW_PROTO}`));
  },
  async ensureMetadataPort(node, workers, sw, address) {
    const md = metadataPlan(sw);
    const ip = address.split('/')[0];
    cidrNetwork(address);
    await node.succeed(`${NBCTL} --may-exist lsp-add ${q(sw)} ${q(md.lsp)} -- lsp-set-type ${q(md.lsp)} localport -- lsp-set-addresses ${q(md.lsp)} ${q(`${md.mac} ${ip}`)}`);
    for (const w of workers) {
      // A veth pair: one end on br-int bound to the localport, the other in a namespace of its own
      // (every worker holds the same address), where busybox httpd serves /node.
      await w.succeed(
        [
          'set -e',
          `ip netns add ${md.netns} 2>/dev/null || true`,
          `ip link show ${md.iface} >/dev/null 2>&1 || ip link add ${md.iface} mtu ${TENANT_MTU} type veth peer name ${md.peer} mtu ${TENANT_MTU}`,
          `if ip link show ${md.peer} >/dev/null 2>&1; then ip link set ${md.peer} netns ${md.netns}; fi`,
          `ovs-vsctl --timeout=30 --may-exist add-port br-int ${md.iface} -- set Interface ${md.iface} external_ids:iface-id=${q(md.lsp)}`,
          `ip link set ${md.iface} up`,
          `ip -n ${md.netns} link set lo up`,
          `ip -n ${md.netns} link set ${md.peer} address ${md.mac} up`,
          `ip -n ${md.netns} addr replace ${address} dev ${md.peer}`,
          `mkdir -p ${md.www} && echo ${w.name} > ${md.www}/node`,
          `systemctl is-active -q ${md.unit} || systemd-run --quiet --collect --unit ${md.unit} ip netns exec ${md.netns} busybox httpd -f -p 80 -h ${md.www}`,
        ].join('\n'),
      );
    }
    return { url: `http://${ip}/node` };
  },
  async ensurePortForward(worker, name, listenPort, target) {
    const unit = forwardUnit(name);
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(target.ip) || !Number.isInteger(target.port) || !Number.isInteger(listenPort)) throw new Error(`prismnet: bad port forward ${listenPort} -> ${target.ip}:${target.port}`);
    await prismnetOps.removePortForward(worker, name);
    // systemd's own relay, socket-activated: one transient socket + service pair, gone at reboot.
    await worker.succeed(
      `systemd-run --quiet --collect --unit ${unit} --socket-property=ListenStream=${listenPort} /lib/systemd/systemd-socket-proxyd --connections-max=64 ${target.ip}:${target.port} && systemctl is-active -q ${unit}.socket`,
    );
  },
  async removePortForward(worker, name) {
    const unit = forwardUnit(name);
    await worker.succeed(`systemctl stop ${unit}.socket ${unit}.service 2>/dev/null; systemctl reset-failed ${unit}.socket ${unit}.service 2>/dev/null; ! systemctl is-active -q ${unit}.socket`);
  },
  async removeMetadataPort(node, workers, sw) {
    const md = metadataPlan(sw);
    for (const w of workers) {
      await w.succeed(
        [
          `systemctl stop ${md.unit} 2>/dev/null; systemctl reset-failed ${md.unit} 2>/dev/null`,
          `ovs-vsctl --timeout=30 --if-exists del-port br-int ${md.iface}`,
          `ip link del ${md.iface} 2>/dev/null`,
          `ip netns del ${md.netns} 2>/dev/null`,
          `rm -rf ${md.www}`,
          `! ip netns list | grep -qw ${md.netns}`,
        ].join('\n'),
      );
    }
    await node.succeed(`${NBCTL} --if-exists lsp-del ${q(md.lsp)}`);
  },
};

/** The transient units of a port forward (socket + systemd-socket-proxyd service). */
export function forwardUnit(name: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,40}$/.test(name)) throw new Error(`prismnet: bad port forward name ${JSON.stringify(name)} (a-z 0-9 -)`);
  return `ucfwd-${name}`;
}

/** Names of a switch's metadata port: the localport, and on each worker its veth ends, namespace, folder and server unit. */
export function metadataPlan(sw: string) {
  const h = crypto.createHash('sha256').update(sw).digest('hex').slice(0, 8);
  return {
    lsp: `${sw}-meta`,
    mac: stableMac(`meta:${sw}`),
    iface: `ucmd-${h}`,
    peer: `ucmn-${h}`,
    netns: `ucmeta-${h}`,
    www: `/run/ultracloud/meta-${h}`,
    unit: `ucmeta-${h}.service`,
  };
}

/**
 * `ovs-vsctl --format=json --columns=name,options,ofport,error find Interface
 * type=geneve`: options is ["map", [[k, v], ...]], ofport a number (-1 when
 * the switch could not make the port; ["set", []] before it tried), error a
 * string or ["set", []].
 */
export function parseGeneveInterfaces(json: string): Tunnel[] {
  const { headings, data } = JSON.parse(json) as { headings: string[]; data: unknown[][] };
  const col = (row: unknown[], name: string) => (headings.includes(name) ? row[headings.indexOf(name)] : undefined);
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
