import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { fileMovedAside, protocolChecks } from '../../faults.js';

/** Faults k8shost claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'k8shost-runtime-gone',
    owner: 'k8shost',
    ...fileMovedAside('node05', '/usr/bin/crun'),
    ...protocolChecks('k8shost', 'node05', ['a Pod played from Kubernetes YAML runs the local image and is removed'], false),
    names: /crun|runtime|kube play/i,
  },
];
