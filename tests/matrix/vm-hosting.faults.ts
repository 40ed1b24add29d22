import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { portRefused } from '../../stacks/faults.js';

/** Faults the vm-hosting scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'vm-hosting-volume-exports-refused',
    owner: 'vm-hosting',
    // Not coronafs-nbd.service: each volume has its own export (ports 10810-10899), which that unit does not serve:
    // the first run of this row stopped it and the check rightly passed.
    ...portRefused('node04', [10810, 10899]),
    suite: 'matrix',
    file: 'tests/matrix/vm-hosting.test.ts',
    scenario: true,
    checks: ['vm hosting > a CoronaFS volume is created on node04 and exported over NBD'],
    names: /108[1-9]\d|nbd|refused/i,
  },
];
