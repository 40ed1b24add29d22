import { describe, expect, test } from 'vitest';
import type { FaultTarget } from '../../harness/prove.js';
import { portRefused, unitsStopped } from '../../stacks/faults.js';

/** A target that records the commands a fault sends to each node. */
function recorder(): { target: FaultTarget; sent: string[] } {
  const sent: string[] = [];
  const target = { node: (name: string) => ({ succeed: async (cmd: string) => (sent.push(`${name}: ${cmd}`), '') }) } as unknown as FaultTarget;
  return { target, sent };
}

describe('fault builders (stacks/faults.ts)', () => {
  test('portRefused: one port, loopback included; restore deletes every copy of the same rule', async () => {
    const { target, sent } = recorder();
    const f = portRefused('node03', 2379);
    await f.apply(target);
    await f.restore(target);
    expect(f.fault).toBe('TCP port 2379 refused on node03 (iptables REJECT)');
    expect(sent[0]).toBe('node03: iptables -I INPUT -p tcp --dport 2379 -m comment --comment ultracloud-prove -j REJECT --reject-with tcp-reset');
    expect(sent[1]).toBe('node03: while iptables -D INPUT -p tcp --dport 2379 -m comment --comment ultracloud-prove -j REJECT --reject-with tcp-reset 2>/dev/null; do :; done');
  });

  test('portRefused: a range to peers only leaves loopback served', async () => {
    const { target, sent } = recorder();
    const f = portRefused('node05', [8180, 8181], { peersOnly: true });
    await f.apply(target);
    expect(f.fault).toBe('TCP ports 8180-8181 refused on node05 to every peer (loopback still served) (iptables REJECT)');
    expect(sent[0]).toBe('node05: iptables -I INPUT ! -i lo -p tcp --dport 8180:8181 -m comment --comment ultracloud-prove -j REJECT --reject-with tcp-reset');
  });

  test('portRefused never blocks SSH, alone or inside a range', () => {
    expect(() => portRefused('node01', 22)).toThrow(/SSH/);
    expect(() => portRefused('node01', [20, 30])).toThrow(/SSH/);
  });

  test('unitsStopped restores sockets first, then the rest in reverse', async () => {
    const { target, sent } = recorder();
    const f = unitsStopped('node01', ['libvirtd.service', 'libvirtd.socket', 'virtlogd.service']);
    await f.restore(target);
    expect(sent[0]).toBe('node01: systemctl reset-failed libvirtd.service libvirtd.socket virtlogd.service 2>/dev/null; systemctl start libvirtd.socket virtlogd.service libvirtd.service');
  });
});
