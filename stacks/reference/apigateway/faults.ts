import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { protocolChecks, unitsStopped } from '../../faults.js';

/** Faults apigateway claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'apigateway-apache-stopped',
    owner: 'apigateway',
    ...unitsStopped('node06', ['apache2.service']),
    ...protocolChecks('apigateway', 'node06', ['answers its health URL, and refuses an API route without a token (401)']),
    names: /apache2|refused|health/i,
  },
];
