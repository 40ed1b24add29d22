import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { protocolChecks, unitsStopped } from '../../faults.js';

/** Faults deployer claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'deployer-controller-stopped',
    owner: 'deployer',
    ...unitsStopped('node01', ['deployer.service']),
    ...protocolChecks('deployer', 'node01', ['deployer answers /healthz on the control plane; the agent is registered and alive on a worker']),
    names: /deployer/,
  },
  {
    id: 'deployer-agent-stopped',
    owner: 'deployer',
    ...unitsStopped('node05', ['deployer-agent.service']),
    ...protocolChecks('deployer', 'node05', ['deployer answers /healthz on the control plane; the agent is registered and alive on a worker']),
    names: /deployer-agent|node05/,
    // The agent's lease in chainfire outlives it (it does not revoke it on stop, by design): "alive" turns false when it runs out.
    settleS: 40,
  },
];
