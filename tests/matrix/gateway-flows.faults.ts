import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { unitsStopped } from '../../stacks/faults.js';

/** Faults the gateway-flows scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'gateway-flows-nightlight-stopped',
    owner: 'gateway-flows',
    ...unitsStopped('node06', ['prometheus.service']),
    suite: 'matrix',
    file: 'tests/matrix/gateway-flows.test.ts',
    scenario: true,
    checks: ['gateway-flows: apigateway + iam + creditservice + nightlight > samples pushed by remote write through the gateway are paid from the reservation (204)'],
    names: /50[234]|nightlight|prometheus/i,
  },
];
