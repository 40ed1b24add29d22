import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { portRefused, protocolChecks, unitsStopped } from '../../faults.js';

/** Faults nightlight claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'nightlight-prometheus-stopped',
    owner: 'nightlight',
    ...unitsStopped('node06', ['prometheus.service']),
    ...protocolChecks('nightlight', 'node06', ['ready, and answers a PromQL query']),
    names: /prometheus|9090/,
  },
  {
    id: 'nightlight-forward-refused',
    owner: 'nightlight',
    ...portRefused('node06', 9090),
    suite: 'smoke',
    file: 'tests/smoke/gateway.test.ts',
    checks: ['node06 > from the host, the forwarded API gateway and NightLight URLs answer'],
    names: /9090|nightlight|ECONNRESET|socket hang up|other side closed/i,
  },
];
