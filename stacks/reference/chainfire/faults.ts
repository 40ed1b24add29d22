import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { portRefused, protocolChecks, unitsStopped } from '../../faults.js';

/** Faults chainfire claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'chainfire-etcd-stopped',
    owner: 'chainfire',
    ...unitsStopped('node02', ['etcd.service']),
    ...protocolChecks('chainfire', 'node02', ['etcd endpoint health and a member list of three started members']),
    names: /etcd\.service|2379|connection refused/i,
  },
  {
    id: 'chainfire-client-port-refused',
    owner: 'chainfire',
    ...portRefused('node03', 2379),
    ...protocolChecks('chainfire', 'node03', ['etcd endpoint health and a member list of three started members'], false),
    names: /2379|connection refused/i,
  },
  {
    id: 'chainfire-replica-refused',
    owner: 'chainfire',
    ...portRefused('node03', 2379),
    suite: 'smoke',
    file: 'tests/smoke/replication.test.ts',
    checks: ['chainfire > a key written through node01 is read linearizably through node02 and node03'],
    names: /node03|2379/,
  },
];
