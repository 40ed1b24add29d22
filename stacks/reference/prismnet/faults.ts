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
    ...unitsStopped('node03', ['ovn-northd.service', 'ovn-ovsdb-server-nb.service', 'ovn-ovsdb-server-sb.service']),
    ...protocolChecks('prismnet', 'node03', ['OVN answers (control: NB/SB raft clusters of 3 with a leader; worker: chassis connected)']),
    names: /ovn-ovsdb-server|ovn-northd|tcp\/664[1-4]/,
  },
  {
    id: 'prismnet-ports-chassis-down',
    owner: 'prismnet',
    ...unitsStopped('node05', ['ovn-controller.service']),
    suite: 'smoke',
    file: 'tests/smoke/prismnet-ports.test.ts',
    scenario: true,
    checks: ['prismnet ports > a second guest on node05, same switch, is bound there and answered by the first; each worker has a working Geneve tunnel to the other'],
    names: /node05/,
  },
];
