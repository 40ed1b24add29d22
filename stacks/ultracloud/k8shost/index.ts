/**
 * k8shost on the ultracloud stack: UltraCloud's Kubernetes-style hosting on the workers.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { K8shostOps } from '../../contracts.js';
import { nixRole, opsOf } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const k8shostOps: K8shostOps = opsOf<K8shostOps>(
  'k8shost',
  {},
  "upstream documents neither k8shost's ports nor its API",
);

export const k8shost: Role = nixRole('k8shost', "UltraCloud's Kubernetes-style hosting on the workers", (n) => n.kind === 'worker', k8shostOps);
