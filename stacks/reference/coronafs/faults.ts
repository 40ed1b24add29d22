import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { protocolChecks, unitsStopped } from '../../faults.js';

/** Faults coronafs claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'coronafs-nbd-stopped',
    owner: 'coronafs',
    ...unitsStopped('node01', ['coronafs-nbd.service']),
    ...protocolChecks('coronafs', 'node01', ['the NBD export answers a real read of its label']),
    names: /coronafs-nbd|nbd|10809/i,
  },
  {
    id: 'coronafs-worker-nbd-stopped',
    owner: 'coronafs',
    ...unitsStopped('node04', ['coronafs-nbd.service']),
    ...protocolChecks('coronafs', 'node04', ['the NBD export answers a real read of its label']),
    names: /coronafs-nbd|nbd|108\d\d/i,
  },
];
