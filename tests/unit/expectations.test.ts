import { describe, expect, it } from 'vitest';
import { expectNestedKvm, expectVcpus, nodeExpectations } from '../../harness/expectations.js';

const tcg = (cpu: string, smp?: string) => ['-machine', 'pc,accel=tcg', '-cpu', cpu, ...(smp ? ['-smp', smp] : []), '-m', '1024'];
const host = { cpuFlag: 'none', nested: 'absent' } as const;

describe('what a node must offer, from its QEMU argv', () => {
  it('vCPUs: the -smp count, in either spelling; 1 without -smp', () => {
    expect(expectVcpus(tcg('max', '2'))).toBe(2);
    expect(expectVcpus(tcg('max', 'cpus=4,sockets=1'))).toBe(4);
    expect(expectVcpus(tcg('max', 'sockets=1,cpus=3'))).toBe(3);
    expect(expectVcpus(tcg('max'))).toBe(1);
    expect(() => expectVcpus(tcg('max', 'sockets=1'))).toThrow(/no CPU count/);
  });

  it('nested KVM under TCG only with -cpu max', () => {
    expect(expectNestedKvm(tcg('max'), host).expected).toBe(true);
    expect(expectNestedKvm(tcg('qemu64'), host)).toEqual({ expected: false, reason: 'accel tcg with -cpu qemu64: that model offers no SVM/VMX to the node' });
  });

  it('both, for one node', () => {
    expect(nodeExpectations(tcg('max', '2'), host)).toEqual({ nestedKvm: expect.objectContaining({ expected: true }), vcpus: 2 });
  });
});
