/**
 * fiberlb on the ultracloud stack: UltraCloud's load balancer.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { FiberlbOps } from '../../contracts.js';
import { TIMING } from '../timing.js';
import { nixRole, opsOf } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const fiberlbOps: FiberlbOps = opsOf<FiberlbOps>(
  'fiberlb',
  {
    timing: TIMING.fiberlb,
  },
  "upstream documents neither fiberlb's ports nor its API",
);

export const fiberlb: Role = nixRole('fiberlb', "UltraCloud's load balancer", (n) => n.kind === 'control', fiberlbOps);
