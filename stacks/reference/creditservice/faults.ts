import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { protocolChecks, unitsStopped } from '../../faults.js';

/** Faults creditservice claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'creditservice-stopped',
    owner: 'creditservice',
    ...unitsStopped('node06', ['creditservice.service']),
    ...protocolChecks('creditservice', 'node06', ['healthy: reached flaredb and iam']),
    names: /creditservice/,
  },
  {
    id: 'gateway-creditservice-stopped',
    owner: 'creditservice',
    ...unitsStopped('node06', ['creditservice.service']),
    suite: 'smoke',
    file: 'tests/smoke/gateway.test.ts',
    checks: ['node06 > apigateway, nightlight and creditservice units are active; creditservice is healthy and never restarted'],
    names: /creditservice/,
  },
];
