/**
 * What each node is expected to offer, decided from what the harness gave
 * it (its QEMU argv) and the host's own facts, never from the node's report.
 * A check compares the node with this: a capability expected and missing is
 * a failure (lost), one the harness knows is absent is a skip with the reason.
 */
import fs from 'node:fs';

/** The host's virtualisation facts that decide nested KVM under `-cpu host`. */
export interface HostVirt {
  /** The host CPU's flag: vmx (Intel), svm (AMD), or none. */
  cpuFlag: 'vmx' | 'svm' | 'none';
  /** The loaded `kvm_intel`/`kvm_amd` module's `nested` parameter; absent: the module is not loaded. */
  nested: { module: 'kvm_intel' | 'kvm_amd'; on: boolean } | 'absent';
}

export interface Expectation {
  expected: boolean;
  /** Why, in words an operator can check against the QEMU command line and the host. */
  reason: string;
}

export interface NodeExpectations {
  /** Whether `kvm_amd`/`kvm_intel` must load in the node and give a working /dev/kvm. */
  nestedKvm: Expectation;
  /** CPUs the node must have online: its `-smp` (QEMU's default, 1, when absent). */
  vcpus: number;
}

export function readHostVirt(): HostVirt {
  let cpuFlag: HostVirt['cpuFlag'] = 'none';
  try {
    const flags = /^flags\s*:(.*)$/m.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1].split(/\s+/) ?? [];
    cpuFlag = flags.includes('vmx') ? 'vmx' : flags.includes('svm') ? 'svm' : 'none';
  } catch {
    /* no /proc/cpuinfo: not Linux; 'none' is what follows */
  }
  for (const module of ['kvm_intel', 'kvm_amd'] as const) {
    const file = `/sys/module/${module}/parameters/nested`;
    if (fs.existsSync(file)) return { cpuFlag, nested: { module, on: /^(Y|1)$/i.test(fs.readFileSync(file, 'utf8').trim()) } };
  }
  return { cpuFlag, nested: 'absent' };
}

/** The value following `flag` in a QEMU argv (undefined when absent). */
function argOf(argv: string[], flag: string): string | undefined {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * Nested KVM from the node's QEMU argv: under TCG, `-cpu max` emulates
 * SVM, so KVM works inside; under KVM, `-cpu host` passes the host's
 * vmx/svm through only where the host module's `nested` is on.
 */
export function expectNestedKvm(argv: string[], host: HostVirt): Expectation {
  const accel = /accel=(\w+)/.exec(argOf(argv, '-machine') ?? '')?.[1] ?? argOf(argv, '-accel') ?? 'tcg';
  const cpu = argOf(argv, '-cpu') ?? '(default)';
  if (accel === 'tcg') {
    return cpu === 'max'
      ? { expected: true, reason: 'accel tcg with -cpu max: QEMU emulates SVM, so kvm_amd loads in the node and /dev/kvm works' }
      : { expected: false, reason: `accel tcg with -cpu ${cpu}: that model offers no SVM/VMX to the node` };
  }
  if (accel === 'kvm') {
    if (cpu !== 'host') return { expected: false, reason: `accel kvm with -cpu ${cpu}: only -cpu host passes vmx/svm through` };
    if (host.cpuFlag === 'none') return { expected: false, reason: 'accel kvm, -cpu host, but the host CPU has no vmx/svm flag' };
    if (host.nested === 'absent') return { expected: false, reason: 'accel kvm, -cpu host, but no kvm_intel/kvm_amd module is loaded on the host' };
    return host.nested.on
      ? { expected: true, reason: `accel kvm with -cpu host on a ${host.cpuFlag} host whose ${host.nested.module} nested=Y` }
      : { expected: false, reason: `accel kvm with -cpu host, but the host's ${host.nested.module} nested parameter is off` };
  }
  return { expected: false, reason: `accel ${accel}: nested KVM is not expected` };
}

/** The vCPU count from `-smp N` or `-smp cpus=N,...`; 1 (QEMU's default) without `-smp`. */
export function expectVcpus(argv: string[]): number {
  const smp = argOf(argv, '-smp');
  if (smp === undefined) return 1;
  const n = /^(?:cpus=)?(\d+)(?:,|$)/.exec(smp) ?? /(?:^|,)cpus=(\d+)/.exec(smp);
  if (!n) throw new Error(`-smp ${smp}: no CPU count in it`);
  return Number(n[1]);
}

export function nodeExpectations(argv: string[], host: HostVirt): NodeExpectations {
  return { nestedKvm: expectNestedKvm(argv, host), vcpus: expectVcpus(argv) };
}
