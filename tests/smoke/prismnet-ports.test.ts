/**
 * PrismNet port binding and cleanup: a tenant logical switch and ports in
 * OVN's Northbound database; libvirt guests on node04 and node05 whose NICs
 * are OVS ports on br-int carrying the logical port's iface-id; the
 * Southbound binding follows; the two guests talk over the Geneve tunnel;
 * deleting a VM leaves no binding, logical port, OVS port or tap behind.
 * Steps run in order and share state; a failed run's leftovers are removed
 * before starting.
 */
import { afterAll, describe } from 'vitest';
import { type TestCluster, clusterInfo, test, timing } from '../../fixtures/cluster.js';
import { budget } from '../../harness/budget.js';

const SWITCH = 'tenant-smoke';
const CENTRAL = 'node01';
// Logical port names are UUIDs, as a cloud's port ids are: libvirt accepts
// only a UUID as the OVS interfaceid it writes into iface-id. Fixed ones, so a
// failed run's leftovers are found by name.
const VMS = {
  a: { node: 'node04', name: 'tenant-a', ovnPort: '7e5a0000-0000-4000-8000-00000000000a', mac: '52:54:00:7e:00:0a', ip: '10.250.0.10/24', addr: '10.250.0.10' },
  b: { node: 'node05', name: 'tenant-b', ovnPort: '7e5a0000-0000-4000-8000-00000000000b', mac: '52:54:00:7e:00:0b', ip: '10.250.0.11/24', addr: '10.250.0.11' },
};

/** Role deadlines, for each step's timeout (budget) at collection time. */
const { prismnet: PN, plasmavmc: PV } = timing;
/** plasmavmc's command deadlines: domcapabilities, define + start, destroy + undefine, list (stacks/reference/plasmavmc; not in its timing yet). */
const LIBVIRT_S = { domcaps: 240, start: 240, delete: 120, list: 240 };

describe.sequential('prismnet ports', () => {
  // Whatever a failed run left: guests, OVS ports (libvirt removes them with the guest), logical ports and switch.
  const cleanup = async (cluster: TestCluster) => {
    const { plasmavmc, prismnet } = cluster.ops;
    for (const vm of Object.values(VMS)) await plasmavmc.deleteGuest(cluster.node(vm.node), vm.name);
    for (const vm of Object.values(VMS)) await prismnet.deletePort(cluster.node(CENTRAL), vm.ovnPort);
    await prismnet.deleteSwitch(cluster.node(CENTRAL), SWITCH);
  };
  let clusterRef: TestCluster | undefined;
  /** The OVS interface (libvirt's tap) of guest a on node04. */
  let tapA = '';

  test('a tenant logical switch and port are created in OVN Northbound', { timeout: budget(LIBVIRT_S.delete, LIBVIRT_S.delete) }, async ({ cluster, expect }) => {
    clusterRef = cluster;
    await cleanup(cluster);
    const { prismnet } = cluster.ops;
    const central = cluster.node(CENTRAL);
    await prismnet.createSwitch(central, SWITCH);
    await prismnet.createPort(central, SWITCH, VMS.a.ovnPort, VMS.a.mac, VMS.a.addr);
    expect(await prismnet.switches(central)).toContain(SWITCH);
    expect(await prismnet.ports(central, SWITCH)).toEqual([VMS.a.ovnPort]);
  });

  test('a libvirt guest on node04 starts with its NIC bound to the port (OVS iface-id), as domain type kvm where the harness expects KVM', { timeout: budget(LIBVIRT_S.domcaps, LIBVIRT_S.start) }, async ({ cluster, expect, signal }) => {
    const { plasmavmc } = cluster.ops;
    const node = cluster.node(VMS.a.node).withSignal(signal);
    // What the harness gave the worker decides the type, not the worker's own report.
    const want = clusterInfo.expect[VMS.a.node]?.nestedKvm;
    if (!want) throw new Error(`${VMS.a.node}: the cluster record has no nested-KVM expectation for this node (restart the cluster)`);
    const type = await plasmavmc.startGuest(node, VMS.a);
    expect(type, `domain type on ${VMS.a.node}: nested KVM ${want.expected ? '' : 'not '}expected (${want.reason})`).toBe(want.expected ? 'kvm' : 'qemu');
    tapA = (await cluster.ops.prismnet.portInterface(node, VMS.a.ovnPort)) ?? '';
    expect(tapA, `interface attaching port ${VMS.a.ovnPort} on ${VMS.a.node}`).toMatch(/^\S+$/);
    expect(await node.succeed('ip -o link show'), `${tapA} is a link on ${VMS.a.node}`).toContain(`${tapA}:`);
  });

  test("the Southbound Port_Binding shows node04's chassis and the port up", { timeout: budget(PN.bindS) }, async ({ cluster }) => {
    const { prismnet } = cluster.ops;
    await cluster.eventually(`${VMS.a.ovnPort} bound to node04 and up`, prismnet.timing.bindS, async () => {
      const b = await prismnet.binding(cluster.node(CENTRAL), VMS.a.ovnPort);
      return { ok: b?.chassis === VMS.a.node && b.up, seen: JSON.stringify(b ?? 'no binding') };
    }, { node: VMS.a.node });
  });

  test('a second guest on node05, same switch, is bound there and answered by the first; each worker has a working Geneve tunnel to the other', { timeout: budget(LIBVIRT_S.domcaps, LIBVIRT_S.start, PN.bindS, PV.pingS) }, async ({ cluster, expect, signal }) => {
    const { prismnet, plasmavmc } = cluster.ops;
    const central = cluster.node(CENTRAL);
    /** Each worker's tunnel port to the other is up, and the Geneve packets it exchanged with it so far. */
    const tunnelTo = async (from: string, to: string) => {
      const peer = cluster.node(to).spec.clusterIp;
      expect(await prismnet.tunnels(cluster.node(from)), `${from}'s Geneve tunnel port to ${to}`).toContainEqual({ remoteIp: peer, up: true });
      return prismnet.genevePackets(cluster.node(from), peer);
    };
    const before = { a: await tunnelTo(VMS.a.node, VMS.b.node), b: await tunnelTo(VMS.b.node, VMS.a.node) };
    await prismnet.createPort(central, SWITCH, VMS.b.ovnPort, VMS.b.mac, VMS.b.addr);
    await plasmavmc.startGuest(cluster.node(VMS.b.node).withSignal(signal), { ...VMS.b, peer: VMS.a.addr });
    await cluster.eventually(`${VMS.b.ovnPort} bound to node05 and up`, prismnet.timing.bindS, async () => {
      const b = await prismnet.binding(central, VMS.b.ovnPort);
      return { ok: b?.chassis === VMS.b.node && b.up, seen: JSON.stringify(b ?? 'no binding') };
    }, { node: VMS.b.node });
    // The guest on node05 pings the one on node04: ICMP through br-int, Geneve over the cluster network, br-int.
    await cluster.eventually(`${VMS.b.name} (node05) answered by ${VMS.a.name} (node04) over Geneve`, plasmavmc.timing.pingS, async () => {
      const log = await plasmavmc.console(cluster.node(VMS.b.node), VMS.b.name);
      return { ok: log.includes(`ULTRACLOUD_GUEST_PING_OK name=${VMS.b.name} peer=${VMS.a.addr}`), seen: log.slice(-600) || '(console empty)' };
    }, { node: VMS.b.node, intervalMs: 3000 });
    // The ping crossed the tunnels: each worker sent Geneve packets to the other and received some from it meanwhile.
    const after = { a: await tunnelTo(VMS.a.node, VMS.b.node), b: await tunnelTo(VMS.b.node, VMS.a.node) };
    for (const [k, from] of [['a', VMS.a.node], ['b', VMS.b.node]] as const) {
      expect(after[k].tx, `${from}: packets sent into its Geneve tunnel during the ping (before ${before[k].tx})`).toBeGreaterThan(before[k].tx);
      expect(after[k].rx, `${from}: packets received from its Geneve tunnel during the ping (before ${before[k].rx})`).toBeGreaterThan(before[k].rx);
    }
  });

  test('deleting the VM clears the binding, removes the logical port and leaves no OVS port or tap behind', { timeout: budget(LIBVIRT_S.delete, PN.bindS, LIBVIRT_S.list) }, async ({ cluster, expect }) => {
    const { prismnet, plasmavmc } = cluster.ops;
    const node = cluster.node(VMS.a.node);
    const central = cluster.node(CENTRAL);
    const tap = tapA;
    expect(tap, 'the tap of guest a (from the step that started it)').not.toBe('');
    await plasmavmc.deleteGuest(node, VMS.a.name);
    await prismnet.deletePort(central, VMS.a.ovnPort);
    await cluster.eventually(`binding of ${VMS.a.ovnPort} gone`, prismnet.timing.bindS, async () => {
      const b = await prismnet.binding(central, VMS.a.ovnPort);
      return { ok: b === undefined, seen: JSON.stringify(b) };
    }, { node: CENTRAL });
    // Strict getters: each throws when its database, libvirt or switch does not answer, so "not there" is an answer.
    expect(await prismnet.ports(central, SWITCH)).not.toContain(VMS.a.ovnPort);
    expect(await plasmavmc.guests(node)).not.toContain(VMS.a.name);
    expect(await prismnet.ovsPorts(node), `br-int ports on ${VMS.a.node}`).not.toContain(tap);
    const links = await node.succeed('ip -o link show');
    expect(links, `no ${tap} link left on ${VMS.a.node}`).not.toContain(`${tap}:`);
    expect(await prismnet.portInterface(node, VMS.a.ovnPort), `interface attaching ${VMS.a.ovnPort} on ${VMS.a.node}`).toBeUndefined();
  });

  afterAll(async () => {
    if (clusterRef) await cleanup(clusterRef);
  });
});
