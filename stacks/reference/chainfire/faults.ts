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
];
