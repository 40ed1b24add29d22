/**
 * plasmavmc on the ultracloud stack: UltraCloud's VM control plane and worker agents (gRPC 50082, HTTP 8084).
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { PlasmavmcOps } from '../../contracts.js';
import { TIMING } from '../timing.js';
import { nixRole, opsOf } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const plasmavmcOps: PlasmavmcOps = opsOf<PlasmavmcOps>(
  'plasmavmc',
  {
    timing: TIMING.plasmavmc,
  },
  "it needs plasmavmc's VM API (gRPC 50082), which upstream does not document",
);

export const plasmavmc: Role = nixRole('plasmavmc', "UltraCloud's VM control plane and worker agents (gRPC 50082, HTTP 8084)", (n) => n.kind === 'control' || n.kind === 'worker', plasmavmcOps);
