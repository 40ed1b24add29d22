import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { unitsStopped } from '../../stacks/faults.js';

/** Faults the vm-hosting scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'vm-hosting-worker-nbd-stopped',
    owner: 'vm-hosting',
    ...unitsStopped('node04', ['coronafs-nbd.service']),
    suite: 'matrix',
    file: 'tests/matrix/vm-hosting.test.ts',
    scenario: true,
    checks: ['vm hosting > a CoronaFS volume is created on node04 and exported over NBD'],
    names: /coronafs|nbd/i,
  },
];
