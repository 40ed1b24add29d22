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
    checks: ['k8s-bundle > a Pod and a Service (Kubernetes YAML) played by k8shost on node04, the Pod on a PrismNet port bound to node04'],
    names: /crun|OCI runtime|kube play/i,
  },
];
