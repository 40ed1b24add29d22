import { describe, expect, it } from 'vitest';
import { nodesFor } from '../../harness/stack.js';
import { PROFILES, hostPort, tiers, type NodeSpec } from '../../harness/topology.js';
import { reference } from '../../stacks/reference/index.js';
import { ultracloud } from '../../stacks/ultracloud/index.js';

const nodes = PROFILES.default.nodes;
/** The nodes as the reference stack boots them: its gateway forwards after each node's SSH. */
const booted = nodesFor(reference, nodes);
const names = (ns: NodeSpec[]) => ns.map((n) => n.name);
const byName = (name: string) => booted.find((n) => n.name === name)!;

describe('default profile', () => {
  it('has node01..node06 in order', () => {
    expect(names(nodes)).toEqual(['node01', 'node02', 'node03', 'node04', 'node05', 'node06']);
    expect(nodes.map((n) => n.index)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('has unique cluster IPs in one /24', () => {
    const ips = nodes.map((n) => n.clusterIp);
    expect(new Set(ips).size).toBe(nodes.length);
    for (const n of nodes) {
      expect(n.clusterIp).toMatch(/^10\.100\.0\.\d{1,3}$/);
      expect(n.clusterPrefix).toBe(24);
    }
  });

  it('has unique, well-formed, locally administered MACs across both NICs', () => {
    const macs = nodes.flatMap((n) => [n.clusterMac, n.mgmtMac]);
    expect(new Set(macs.map((m) => m.toLowerCase())).size).toBe(nodes.length * 2);
    for (const mac of macs) {
      expect(mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i);
      const first = parseInt(mac.slice(0, 2), 16);
      expect(first & 1, `${mac} must be unicast`).toBe(0);
    }
  });

  it('has unique host forward offsets, so no two forwards share a host port', () => {
    const offsets = booted.flatMap((n) => n.forwards.map((f) => f.offset));
    expect(new Set(offsets).size).toBe(offsets.length);
    const base = PROFILES.default.defaultPortBase;
    const ports = booted.flatMap((n) => n.forwards.map((f) => hostPort(base, f)));
    expect(new Set(ports).size).toBe(ports.length);
  });

  it('forwards SSH of every node at base + index', () => {
    for (const n of nodes) {
      const ssh = n.forwards.find((f) => f.name === 'ssh');
      expect(ssh, n.name).toEqual({ name: 'ssh', guestPort: 22, offset: n.index });
      expect(hostPort(22200, ssh!)).toBe(22200 + n.index);
    }
  });

  it('gives node06 the apigateway and nightlight forwards, and no other node extra forwards', () => {
    const fwd = Object.fromEntries(byName('node06').forwards.map((f) => [f.name, f]));
    expect(Object.keys(fwd).sort()).toEqual(['apigateway', 'nightlight', 'ssh']);
    expect(fwd.apigateway.guestPort).toBe(80);
    expect(fwd.nightlight.guestPort).toBe(9090);
    expect(hostPort(22200, fwd.apigateway)).toBe(22280);
    expect(hostPort(22200, fwd.nightlight)).toBe(22290);
    for (const n of booted.filter((n) => n.name !== 'node06')) expect(n.forwards.map((f) => f.name), n.name).toEqual(['ssh']);
    // The same forwards, in the same order, whichever stack (they are on each node's QEMU command line).
    expect(nodesFor(ultracloud, nodes)).toEqual(booted);
  });

  it('forwards only SSH itself: the gateway ports are the stack\'s', () => {
    for (const n of nodes) expect(n.forwards.map((f) => f.name), n.name).toEqual(['ssh']);
    expect(nodesFor({ ...reference, forwards: undefined }, nodes)).toEqual(nodes);
  });

  it('refuses stack forwards that would share a host port or a name', () => {
    expect(() => nodesFor({ ...reference, forwards: { worker: [{ name: 'web', guestPort: 80, offset: 80 }] } }, nodes)).toThrow(/node04 web and node05 web share the host port base \+ 80/);
    expect(() => nodesFor({ ...reference, forwards: { gateway: [{ name: 'ssh', guestPort: 2222, offset: 70 }] } }, nodes)).toThrow(/node06 has two forwards named ssh/);
  });

  it('has kinds control x3, worker x2, gateway x1', () => {
    expect(nodes.map((n) => n.kind)).toEqual(['control', 'control', 'control', 'worker', 'worker', 'gateway']);
  });
});

describe('tiers', () => {
  it('groups the default profile into the control plane, then everything that needs only it', () => {
    expect(tiers(nodes).map(names)).toEqual([['node01', 'node02', 'node03'], ['node04', 'node05', 'node06']]);
  });

  it('orders tiers numerically whatever the input order, keeping order within a tier', () => {
    const shuffled = [nodes[5], nodes[3], nodes[0], nodes[4], nodes[2], nodes[1]];
    expect(tiers(shuffled).map(names)).toEqual([['node01', 'node03', 'node02'], ['node06', 'node04', 'node05']]);
    const far = { ...nodes[0], name: 'far', tier: 10 };
    const near = { ...nodes[1], name: 'near', tier: 2 };
    expect(tiers([far, near]).map(names)).toEqual([['near'], ['far']]);
  });

  it('returns no tiers for no nodes', () => {
    expect(tiers([])).toEqual([]);
  });
});
