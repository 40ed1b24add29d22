import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { portRefused } from '../../stacks/faults.js';

/** Faults the storage bench scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'bench-controller-exports-refused',
    owner: 'bench',
    // The volumes' own exports (10810-10899), not coronafs-nbd.service: the bench uses none of that unit's
    // (its first run stopped the unit and the bench rightly passed).
    ...portRefused('node01', [10810, 10899]),
    suite: 'bench',
    file: 'tests/bench/storage.test.ts',
    scenario: true,
    // The run step only asserts the report was written; each section's own step says whether it measured.
    checks: ['storage bench, quick mode > section coronafs-fio produced a figure for every row and column'],
    names: /coronafs-fio: .*(108[1-9]\d|nbd|refused)/i,
  },
];
