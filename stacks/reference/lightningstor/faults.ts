import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { protocolChecks, unitsStopped } from '../../faults.js';

/** Faults lightningstor claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'lightningstor-proxy-stopped',
    owner: 'lightningstor',
    ...unitsStopped('node02', ['swift-proxy.service']),
    ...protocolChecks('lightningstor', 'node02', ['Swift answers (proxy: /healthcheck on 8080; storage: account/container/object servers /healthcheck)']),
    names: /swift-proxy|8080/,
  },
  {
    id: 'lightningstor-object-server-stopped',
    owner: 'lightningstor',
    ...unitsStopped('node05', ['swift-object.service']),
    ...protocolChecks('lightningstor', 'node05', ['Swift answers (proxy: /healthcheck on 8080; storage: account/container/object servers /healthcheck)']),
    names: /swift-object|6200/,
  },
];
