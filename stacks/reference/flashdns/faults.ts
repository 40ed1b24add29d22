import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { portRefused, protocolChecks, unitsStopped } from '../../faults.js';

/** Faults flashdns claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'flashdns-pdns-stopped',
    owner: 'flashdns',
    ...unitsStopped('node02', ['pdns.service']),
    ...protocolChecks('flashdns', 'node02', ['answers the SOA of the cluster zone on its cluster address, over UDP and over TCP']),
    names: /pdns\.service|no servers could be reached|refused|timed out/i,
    quick: true,
  },
  {
    id: 'flashdns-tcp-refused',
    owner: 'flashdns',
    ...portRefused('node03', 53),
    ...protocolChecks('flashdns', 'node03', ['answers the SOA of the cluster zone on its cluster address, over UDP and over TCP'], false),
    names: /over tcp/i,
  },
];
