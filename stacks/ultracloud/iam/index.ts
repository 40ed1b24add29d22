/**
 * iam on the ultracloud stack: UltraCloud's identity service (gRPC 50080, HTTP 8083).
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { IamOps } from '../../contracts.js';
import { TIMING } from '../timing.js';
import { opsOf, probesFor, surface } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const iamOps: IamOps = opsOf<IamOps>(
  'iam',
  {
    timing: TIMING.iam,
  },
  "it needs iam's user and token API (gRPC 50080), which upstream does not document",
);

export const iam: Role = {
  name: 'iam',
  description: "UltraCloud's identity service (gRPC 50080, HTTP 8083)",
  hostedOn: (n) => n.kind === 'control',
  // The images come from nix (the stack's imageBackend): nothing for the Debian builder.
  image: { packages: [] },
  units: [surface('iam').unit],
  probes: probesFor('iam'),
  ops: iamOps,
};
