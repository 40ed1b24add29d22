import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { commands, unitsStopped } from '../../stacks/faults.js';

/** Faults the gateway-flows scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'gateway-flows-nightlight-stopped',
    owner: 'gateway-flows',
    ...unitsStopped('node06', ['prometheus.service']),
    suite: 'matrix',
    file: 'tests/matrix/gateway-flows.test.ts',
    scenario: true,
    checks: ['gateway-flows: apigateway + iam + creditservice + nightlight > samples pushed by remote write through the gateway are paid from the reservation (204)'],
    names: /50[234]|nightlight|prometheus/i,
  },
  {
    // Only the gateway's own proxying to NightLight (apache runs as www-data) is refused: remote writes still go through creditservice.
    id: 'gateway-flows-query-refused',
    owner: 'gateway-flows',
    ...commands('the gateway refused its PromQL route to NightLight on node06 (iptables: www-data to 9090)', 'node06', 'iptables -I OUTPUT -p tcp --dport 9090 -m owner --uid-owner www-data -m comment --comment ultracloud-prove -j REJECT --reject-with tcp-reset', 'while iptables -D OUTPUT -p tcp --dport 9090 -m owner --uid-owner www-data -m comment --comment ultracloud-prove -j REJECT --reject-with tcp-reset 2>/dev/null; do :; done'),
    suite: 'matrix',
    file: 'tests/matrix/gateway-flows.test.ts',
    scenario: true,
    checks: ['gateway-flows: apigateway + iam + creditservice + nightlight > PromQL through the gateway gives them back'],
    names: /50[23]|Proxy Error|9090/,
  },
];
