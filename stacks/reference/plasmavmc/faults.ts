import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { modulesUnloaded, protocolChecks, unitsStopped } from '../../faults.js';

/** Faults plasmavmc claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'plasmavmc-libvirtd-stopped',
    owner: 'plasmavmc',
    ...unitsStopped('node05', ['libvirtd.socket', 'libvirtd-ro.socket', 'libvirtd-tcp.socket', 'libvirtd.service']),
    ...protocolChecks('plasmavmc', 'node05', ['libvirtd answers (version, capabilities) over its socket']),
    names: /libvirtd|libvirt-sock|failed to connect/i,
  },
  {
    // The worker lost KVM (kvm_amd failed to load): the harness expects it (TCG, -cpu max), so the check fails, never skips.
    id: 'plasmavmc-kvm-lost',
    owner: 'plasmavmc',
    ...modulesUnloaded('node04', ['kvm_amd', 'kvm'], 'systemctl try-restart libvirtd.service'),
    suite: 'smoke',
    file: 'tests/smoke/nested-kvm.test.ts',
    checks: ['node04 > boots an inner guest with -accel kvm to userspace, and the guest sees KVM and runs on kvm-clock'],
    names: /lost it: .*no kvm_amd\/kvm_intel module is loaded/,
  },
  {
    // libvirt on a worker that lost KVM gives TCG domains; the harness expects kvm there, so the port step fails naming the type.
    id: 'prismnet-ports-kvm-lost',
    owner: 'plasmavmc',
    ...modulesUnloaded('node04', ['kvm_amd', 'kvm'], 'systemctl try-restart libvirtd.service'),
    suite: 'smoke',
    file: 'tests/smoke/prismnet-ports.test.ts',
    scenario: true,
    checks: ['prismnet ports > a libvirt guest on node04 starts with its NIC bound to the port (OVS iface-id), as domain type kvm where the harness expects KVM'],
    names: /domain type on node04: nested KVM expected/,
  },
];
