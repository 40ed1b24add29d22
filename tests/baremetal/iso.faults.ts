import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { allOf, unitsStopped } from '../../stacks/faults.js';

/** Faults the bare-metal scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'baremetal-deployer-down',
    owner: 'baremetal',
    ...allOf('deployer.service stopped on node01, node02 and node03', ['node01', 'node02', 'node03'].map((n) => unitsStopped(n, ['deployer.service']))),
    suite: 'baremetal',
    file: 'tests/baremetal/iso.test.ts',
    scenario: true,
    checks: ['bare-metal bootstrap from the ISO > deployer takes the node classes, desired systems and node records'],
    names: /deployer did not answer|127\.0\.0\.1:8070|port 8070/,
  },
];
