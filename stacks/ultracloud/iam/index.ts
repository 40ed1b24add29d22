/**
 * iam on the ultracloud stack: UltraCloud's identity service (gRPC 50080, HTTP 8083).
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { IamOps } from '../../contracts.js';
import { TIMING } from '../timing.js';
import { nixRole, opsOf } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const iamOps: IamOps = opsOf<IamOps>(
  'iam',
  {
    timing: TIMING.iam,
  },
  "it needs iam's user and token API (gRPC 50080), which upstream does not document",
);

export const iam: Role = nixRole('iam', "UltraCloud's identity service (gRPC 50080, HTTP 8083)", (n) => n.kind === 'control', iamOps);
