/**
 * creditservice on the ultracloud stack: UltraCloud's credit and quota service, authenticated through IAM.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { CreditserviceOps } from '../../contracts.js';
import { nixRole, opsOf } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const creditserviceOps: CreditserviceOps = opsOf<CreditserviceOps>(
  'creditservice',
  {},
  'upstream documents no creditservice port',
);

export const creditservice: Role = nixRole('creditservice', "UltraCloud's credit and quota service, authenticated through IAM", (n) => n.kind === 'gateway', creditserviceOps);
