import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { portRefused, protocolChecks, unitsStopped } from '../../faults.js';

/** Faults flaredb claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'flaredb-sentinel-stopped',
    owner: 'flaredb',
    ...unitsStopped('node01', ['redis-sentinel.service']),
    ...protocolChecks('flaredb', 'node01', ['Sentinel PING and a known primary']),
    names: /redis-sentinel|26379|refused/i,
  },
  {
    id: 'flaredb-redis-port-refused',
    owner: 'flaredb',
    ...portRefused('node02', 6379),
    ...protocolChecks('flaredb', 'node02', ['Redis PING and a replication role in a three-node set'], false),
    names: /6379|refused/i,
  },
];
