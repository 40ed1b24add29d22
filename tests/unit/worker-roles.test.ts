import { describe, expect, it } from 'vitest';
import { allUnits, readyUnits, unitsOn } from '../../harness/stack.js';
import { PROFILES } from '../../harness/topology.js';
import { reference } from '../../stacks/reference/index.js';
import { parseHexDump, exportName } from '../../stacks/reference/coronafs/index.js';
import { podYaml } from '../../stacks/reference/k8shost/index.js';
import { guestDomainXml, parseGuestMarker } from '../../stacks/reference/plasmavmc/index.js';
import { parseClusterStatus } from '../../stacks/reference/prismnet/index.js';

const spec = (name: string) => PROFILES.default.nodes.find((n) => n.name === name)!;

describe('roles with per-node units', () => {
  const prismnet = reference.roles.find((r) => r.name === 'prismnet')!;

  it('runs OVN central on control nodes and a chassis on workers', () => {
    expect(unitsOn(prismnet, spec('node01'))).toContain('ovn-northd.service');
    expect(unitsOn(prismnet, spec('node04'))).toContain('ovn-controller.service');
    expect(unitsOn(prismnet, spec('node04'))).not.toContain('ovn-northd.service');
  });

  it('lists every unit of any hosting node once for the image to disable', () => {
    const all = allUnits(prismnet, PROFILES.default.nodes);
    expect(all).toContain('ovn-northd.service');
    expect(all).toContain('ovn-controller.service');
    expect(new Set(all).size).toBe(all.length);
  });

  it('gives the gateway only the gateway roles', () => {
    const units = readyUnits(reference, spec('node06'));
    expect(units).toEqual(expect.arrayContaining(['apache2.service', 'prometheus.service', 'creditservice.service']));
    expect(units.some((u) => u.startsWith('ovn') || u.startsWith('swift') || u.startsWith('etcd'))).toBe(false);
  });
});

describe('prismnet: OVN raft status', () => {
  const status = `314f
Name: OVN_Northbound
Cluster ID: 4b6a (4b6a6e4f-c441-4aae-8ec1-315185ed566b)
Server ID: 314f (314f02a7-0fa5-4eec-b2ff-295e835e0892)
Address: tcp:10.100.0.11:6643
Status: cluster member
Role: leader
Term: 2
Leader: self
Vote: self

Election timer: 16000
Servers:
    5c47 (5c47 at tcp:10.100.0.12:6643) next_index=7 match_index=6 last msg 2982 ms ago
    1332 (1332 at tcp:10.100.0.13:6643) next_index=7 match_index=6 last msg 2982 ms ago
    314f (314f at tcp:10.100.0.11:6643) (self) next_index=3 match_index=6
`;
  it('reads membership, role, leader and the server count', () => {
    expect(parseClusterStatus(status)).toEqual({ status: 'cluster member', role: 'leader', leader: 'self', servers: 3 });
  });

  it('has no leader while an election is open', () => {
    const s = parseClusterStatus(status.replace('Leader: self\n', 'Leader: unknown\n').replace(/^ {4}1332.*\n/m, ''));
    expect(s.leader).toBe('unknown');
    expect(s.servers).toBe(2);
  });
});

describe('plasmavmc: tenant guest domain', () => {
  const g = { name: 'tenant-a', mac: '52:54:00:7e:00:0a', ovnPort: '7e5a0000-0000-4000-8000-00000000000a', ip: '10.250.0.10/24', peer: '10.250.0.11' };

  it('binds the NIC to the OVN port through an OVS virtualport on br-int', () => {
    const xml = guestDomainXml(g, 'kvm');
    expect(xml).toContain("<domain type='kvm'>");
    expect(xml).toContain("<source bridge='br-int'/>");
    expect(xml).toContain(`interfaceid='${g.ovnPort}'`);
    expect(xml).toContain('ultracloud.ip=10.250.0.10/24 ultracloud.peer=10.250.0.11');
  });

  it('has no NIC without a port, and escapes what it embeds', () => {
    const xml = guestDomainXml({ name: 'a<b', mac: 'x' }, 'qemu');
    expect(xml).not.toContain('<interface');
    expect(xml).toContain('<name>a&lt;b</name>');
    expect(xml).toContain("<domain type='qemu'>");
  });

  it("reads the inner guest's userspace marker", () => {
    const m = parseGuestMarker('[    7.5] x\nULTRACLOUD_GUEST_USERSPACE name=inner uptime=7.33 hypervisor=KVM kvm_clock=yes\r\n');
    expect(m).toMatchObject({ name: 'inner', uptime: '7.33', hypervisor: 'KVM', kvm_clock: 'yes' });
    expect(parseGuestMarker('no marker here')).toBeUndefined();
  });
});

describe('coronafs and k8shost helpers', () => {
  it('names exports by node kind', () => {
    expect(exportName(spec('node01'))).toBe('coronafs-controller');
    expect(exportName(spec('node05'))).toBe('coronafs-node05');
  });

  it("turns qemu-io's hex dump back into bytes", () => {
    const out = 'read 16/16 bytes at offset 0\n00000000:  55 4c 54 52 41 43 4c 4f 55 44 2d 43 4f 52 4f 4e  ULTRACLOUD.CORON\n16 bytes, 1 ops; 0.0001 sec\n';
    expect(parseHexDump(out).toString('latin1')).toBe('ULTRACLOUD-CORON');
    expect(() => parseHexDump('qemu-io: can not connect')).toThrow(/no data/);
  });

  it('plays a Pod of the locally built image', () => {
    const y = podYaml('probe-node04', 'MARK');
    expect(y).toContain('kind: Pod');
    expect(y).toContain('image: localhost/ultracloud/busybox:1');
    expect(y).toContain('echo MARK');
  });
});
