/** A node's readiness as `cluster status` reports it, from what was seen of it (harness/cluster/status.ts). */
import { describe, expect, it } from 'vitest';
import { type NodeSeen, readiness } from '../../harness/cluster/status.js';

const seen = (over: Partial<NodeSeen>): NodeSeen => ({ vm: 'running', started: true, ownerBooting: false, bootTimeoutS: 900, ...over });

describe('readiness', () => {
  it('a QEMU that runs and takes an SSH login: ready', () => {
    expect(readiness(seen({ ssh: true }))).toBe('ready');
  });

  it('no SSH yet: booting within the boot deadline or while a live runner boots it, else no-ssh', () => {
    expect(readiness(seen({ ssh: false, uptimeS: 10 }))).toBe('booting');
    expect(readiness(seen({ ssh: false, uptimeS: 901 }))).toBe('no-ssh');
    expect(readiness(seen({ ssh: false, uptimeS: 5000, ownerBooting: true }))).toBe('booting');
    // No uptime known (the QEMU went away meanwhile): counted from zero.
    expect(readiness(seen({ ssh: false }))).toBe('booting');
  });

  it('no QEMU: down while other parts of the cluster run, stopped when none does', () => {
    for (const vm of ['stopped', 'shutdown'] as const) {
      expect(readiness(seen({ vm, started: true }))).toBe('down');
      expect(readiness(seen({ vm, started: false }))).toBe('stopped');
    }
  });

  it("QEMU's own state otherwise: io-error, paused, unresponsive", () => {
    for (const vm of ['io-error', 'paused', 'unresponsive'] as const) expect(readiness(seen({ vm, ssh: true }))).toBe(vm);
  });
});
