import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { protocolChecks, unitsStopped } from '../../faults.js';

/** Faults fiberlb claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'fiberlb-haproxy-stopped',
    owner: 'fiberlb',
    ...unitsStopped('node01', ['haproxy.service']),
    ...protocolChecks('fiberlb', 'node01', ['runtime API answers show info']),
    names: /haproxy/,
  },
];
