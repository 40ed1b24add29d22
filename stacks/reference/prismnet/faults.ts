import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { protocolChecks, unitsStopped } from '../../faults.js';

/** Faults prismnet claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'prismnet-ovn-controller-stopped',
    owner: 'prismnet',
    ...unitsStopped('node04', ['ovn-controller.service']),
    ...protocolChecks('prismnet', 'node04', ['OVN answers (control: NB/SB raft clusters of 3 with a leader; worker: chassis connected)']),
    names: /ovn-controller/,
  },
  {
    id: 'prismnet-ovn-central-stopped',
    owner: 'prismnet',
    ...unitsStopped('node03', ['ovn-central.service', 'ovn-northd.service', 'ovn-ovsdb-server-nb.service', 'ovn-ovsdb-server-sb.service']),
    ...protocolChecks('prismnet', 'node03', ['OVN answers (control: NB/SB raft clusters of 3 with a leader; worker: chassis connected)']),
    names: /ovsdb|ovn|raft/i,
  },
];
