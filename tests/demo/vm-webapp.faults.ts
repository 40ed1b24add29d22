import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { modulesUnloaded } from '../../stacks/faults.js';

/** Faults the tenant web app scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    // node05 lost KVM: the harness expects it there, so the live migration fails naming it instead of moving cold.
    id: 'demo-kvm-lost-on-target',
    owner: 'vm-webapp',
    ...modulesUnloaded('node05', ['kvm_amd', 'kvm'], 'systemctl try-restart libvirtd.service'),
    suite: 'demo',
    file: 'tests/demo/vm-webapp.test.ts',
    scenario: true,
    checks: ['tenant web app (demo-webapp) > the VM moves to node05 by live migration, a client polling /state sees the downtime, and the state is intact (the same boot)'],
    names: /node05 lost KVM/,
    recoverS: 600,
  },
];
