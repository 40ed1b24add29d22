/**
 * The pure parts of k8shost's PrismNet NICs (k8s-bundle): reading a Pod's
 * NIC from its annotations, the script that attaches it, and reading eth0
 * back from the Pod's network namespace.
 */
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../stacks/contracts.js';
import { PRISMNET_ANNOTATION, attachNicScript, parsePodNic, podAddress, podNics } from '../../stacks/reference/k8shost/index.js';

const PORT = 'c8500000-0000-4000-8000-000000000001';
const annotations = (over: Record<string, string | undefined> = {}) =>
  Object.fromEntries(
    Object.entries({ port: PORT, mac: '52:54:00:c8:50:01', address: '10.253.0.10/24', gateway: '10.253.0.1', ...over })
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [`${PRISMNET_ANNOTATION}/${k}`, v as string]),
  );
const pod = (name: string, ann?: Record<string, string>, spec: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...(ann ? { annotations: ann } : {}) },
  spec: { containers: [], ...spec },
});
const service: KubeObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', annotations: annotations() }, spec: {} };

describe('k8shost PrismNet NICs', () => {
  it('reads a Pod NIC from its annotations, with short stable interface names; Pods without them and other kinds have none', () => {
    const [nic, ...more] = podNics([pod('web', annotations()), pod('plain'), service]);
    expect(more).toEqual([]);
    expect(nic).toMatchObject({ pod: 'web', port: PORT, mac: '52:54:00:c8:50:01', address: '10.253.0.10/24', gateway: '10.253.0.1' });
    expect(nic.hostIface).toMatch(/^ucp-[0-9a-f]{10}$/);
    expect(nic.peerIface).toBe(nic.hostIface.replace('ucp-', 'ucq-'));
    expect(nic.hostIface.length).toBeLessThanOrEqual(15);
    expect(podNics([pod('again', annotations())])[0].hostIface).toBe(nic.hostIface);
    expect(podNics([pod('other', annotations({ port: 'c8500000-0000-4000-8000-000000000002' }))])[0].hostIface).not.toBe(nic.hostIface);
  });

  it('refuses an incomplete or inconsistent NIC and a hostNetwork Pod with one', () => {
    const bad: [Record<string, string | undefined>, RegExp][] = [
      [{ gateway: undefined }, /needs all of/],
      [{ mac: '53:54:00:c8:50:01' }, /unicast MAC/],
      [{ mac: '52:54:00:C8:50:01' }, /unicast MAC/],
      [{ address: '10.253.0.10' }, /prefix/],
      [{ address: '10.253.0.256/24' }, /prefix/],
      [{ gateway: '10.254.0.1' }, /not another address/],
      [{ gateway: '10.253.0.10' }, /not another address/],
      [{ port: "x'; rm -rf /" }, /logical port name/],
    ];
    for (const [over, why] of bad) expect(() => podNics([pod('web', annotations(over))]), JSON.stringify(over)).toThrow(why);
    expect(() => podNics([pod('web', annotations(), { hostNetwork: true })])).toThrow(/hostNetwork/);
  });

  it('attaches the NIC as a veth: the host end on br-int with the port as iface-id, the other eth0 in the infra container namespace', () => {
    const [nic] = podNics([pod('web', annotations())]);
    const script = attachNicScript('mx-web', nic);
    expect(script).toContain(`ip link add ${nic.hostIface} mtu 1400 type veth peer name ${nic.peerIface} mtu 1400`);
    expect(script).toContain(`ip link set ${nic.peerIface} netns "$pid"`);
    expect(script).toContain(`ip link set ${nic.peerIface} name eth0; ip link set eth0 address 52:54:00:c8:50:01; ip addr replace 10.253.0.10/24 dev eth0; ip link set eth0 up; ip route replace default via 10.253.0.1 dev eth0`);
    expect(script).toContain(`add-port br-int ${nic.hostIface} -- set Interface ${nic.hostIface} external_ids:iface-id='${PORT}' external_ids:ultracloud-kube='mx-web'`);
    // The old NIC goes first, so re-running replaces it.
    expect(script.indexOf('del-port br-int')).toBeLessThan(script.indexOf('add-port br-int'));
  });

  it("reads eth0 back from the Pod's namespace", () => {
    const text = [
      'addr 9: eth0    inet 10.253.0.10/24 scope global eth0\\       valid_lft forever preferred_lft forever',
      'link 9: eth0@if10: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1400 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 52:54:00:c8:50:01 brd ff:ff:ff:ff:ff:ff link-netnsid 0',
      'route default via 10.253.0.1 dev eth0 ',
    ].join('\n');
    expect(parsePodNic(text)).toEqual({ address: '10.253.0.10/24', mac: '52:54:00:c8:50:01', mtu: 1400, gateway: '10.253.0.1' });
    expect(parsePodNic('')).toBeUndefined();
    expect(podAddress('9: eth0    inet 10.253.0.10/24 scope global eth0')).toBe('10.253.0.10');
    expect(podAddress('')).toBeUndefined();
  });
});
