import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { fileMovedAside } from '../../stacks/faults.js';

/** Faults the k8s-bundle scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'k8s-bundle-runtime-gone',
    owner: 'k8s-bundle',
    ...fileMovedAside('node04', '/usr/bin/crun'),
    suite: 'matrix',
    file: 'tests/matrix/k8s-bundle.test.ts',
    scenario: true,
    // The first step already asks podman (its leftover check: `podman ps`), so that is where the missing runtime shows first.
    checks: ['k8s-bundle > a PrismNet tenant switch with a router, and a gateway on node04 that routes it to the control plane'],
    names: /crun|OCI runtime|kube play/i,
  },
];
