import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { commands, portRefused } from '../../stacks/faults.js';


/** Faults the rollout scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    // node05's replicas answer their own health check (over loopback) but not the control plane:
    // the deployer counts them healthy, and only the seed step's "the replicas really serve" fetch can see it.
    // (A stopped agent is no row: the scenario's cleanup starts whatever agent a failed run left stopped.)
    id: 'rollout-replicas-unreachable-from-control-plane',
    owner: 'rollout',
    ...portRefused('node05', [8180, 8181], { peersOnly: true }),
    suite: 'scheduling',
    file: 'tests/scheduling/rollout.test.ts',
    scenario: true,
    checks: ['rollout: deployer-seeded native services on the workers > seeded from services.nix: every service at its replica count, healthy, spread over the workers'],
    names: /on node05 did not answer from node01/,
  },
  {
    // The health sampler dies 10 s into the first sampled phase (the drain): its hold must fail for want of samples.
    id: 'rollout-sampler-dies-in-hold',
    owner: 'rollout',
    ...commands(
      'the health sampler on node06 stopped 10 s after it starts',
      'node06',
      "systemd-run --unit=ultracloud-prove-sampler --collect --quiet bash -c 'until systemctl is-active -q deployer-sampler.service; do sleep 0.5; done; sleep 10; systemctl stop deployer-sampler.service'",
      'systemctl stop ultracloud-prove-sampler 2>/dev/null; true',
    ),
    suite: 'scheduling',
    file: 'tests/scheduling/rollout.test.ts',
    scenario: true,
    checks: ['rollout: deployer-seeded native services on the workers > drain node04: its replicas run on node05, never zero healthy; held 30 s'],
    names: /known sample|needed at least/,
  },
];
