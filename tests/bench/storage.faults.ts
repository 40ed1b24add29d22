import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { unitsStopped } from '../../stacks/faults.js';

/** Faults the storage bench scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'bench-controller-nbd-stopped',
    owner: 'bench',
    ...unitsStopped('node01', ['coronafs-nbd.service']),
    suite: 'bench',
    file: 'tests/bench/storage.test.ts',
    scenario: true,
    checks: ['storage bench, quick mode > bench-storage runs every section with tiny sizes and writes its report'],
    names: /coronafs|nbd/i,
  },
];
