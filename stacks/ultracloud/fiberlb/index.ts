/**
 * fiberlb on the ultracloud stack: UltraCloud's load balancer.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { FiberlbOps } from '../../contracts.js';
import { TIMING } from '../timing.js';
import { opsOf, probesFor, surface } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const fiberlbOps: FiberlbOps = opsOf<FiberlbOps>(
  'fiberlb',
  {
    timing: TIMING.fiberlb,
  },
  "upstream documents neither fiberlb's ports nor its API",
);

export const fiberlb: Role = {
  name: 'fiberlb',
  description: "UltraCloud's load balancer",
  hostedOn: (n) => n.kind === 'control',
  // The images come from nix (the stack's imageBackend): nothing for the Debian builder.
  image: { packages: [] },
  units: [surface('fiberlb').unit],
  probes: probesFor('fiberlb'),
  ops: fiberlbOps,
};
