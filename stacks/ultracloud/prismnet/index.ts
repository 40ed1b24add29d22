/**
 * prismnet on the ultracloud stack: UltraCloud's tenant networking (gRPC 50081, HTTP 8087).
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { PrismnetOps } from '../../contracts.js';
import { TIMING } from '../timing.js';
import { nixRole, opsOf } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const prismnetOps: PrismnetOps = opsOf<PrismnetOps>(
  'prismnet',
  {
    timing: TIMING.prismnet,
  },
  "it needs prismnet's network and port API (gRPC 50081), which upstream does not document",
);

export const prismnet: Role = nixRole('prismnet', "UltraCloud's tenant networking (gRPC 50081, HTTP 8087)", (n) => n.kind === 'control' || n.kind === 'worker', prismnetOps);
