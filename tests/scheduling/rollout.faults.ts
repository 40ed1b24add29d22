import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { unitsStopped } from '../../stacks/faults.js';

/** Faults the rollout scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'rollout-agent-down-before-seed',
    owner: 'rollout',
    ...unitsStopped('node05', ['deployer-agent.service']),
    suite: 'scheduling',
    file: 'tests/scheduling/rollout.test.ts',
    scenario: true,
    checks: ['rollout: deployer-seeded native services on the workers > seeded from services.nix: every service at its replica count, healthy, spread over the workers'],
    names: /node05/,
  },
];
