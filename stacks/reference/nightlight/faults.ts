import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { protocolChecks, unitsStopped } from '../../faults.js';

/** Faults nightlight claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'nightlight-prometheus-stopped',
    owner: 'nightlight',
    ...unitsStopped('node06', ['prometheus.service']),
    ...protocolChecks('nightlight', 'node06', ['ready, and answers a PromQL query']),
    names: /prometheus|9090/,
  },
];
