import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { unitsStopped } from '../../stacks/faults.js';

/** Faults the dns-lb-net scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'dns-lb-net-secondary-down',
    owner: 'dns-lb-net',
    ...unitsStopped('node03', ['pdns.service']),
    suite: 'matrix',
    file: 'tests/matrix/dns-lb-net.test.ts',
    scenario: true,
    checks: ['dns-lb-net > fiberlb publishes a VIP for both guests and flashdns a name for the VIP, on the primary and both secondaries'],
    names: /node03/,
  },
];
