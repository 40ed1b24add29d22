/**
 * deployer on the ultracloud stack: UltraCloud's bare-metal bootstrap and desired state: deployer on the control plane, nix-agent on workers.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { BaremetalOps, DeployerOps } from '../../contracts.js';
import { TIMING } from '../timing.js';
import { opsOf, probesFor, surface } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const deployerOps: DeployerOps = opsOf<DeployerOps>(
  'deployer',
  {
    timing: TIMING.deployer,
    unit: surface('deployer').unit,
    baremetal: opsOf<BaremetalOps>('deployer.baremetal', {}, "upstream documents the ISO flow's kernel parameters and markers, not deployer's HTTP API"),
  },
  "upstream documents neither deployer's API nor its state layout in chainfire",
);

export const deployer: Role = {
  name: 'deployer',
  description: "UltraCloud's bare-metal bootstrap and desired state: deployer on the control plane, nix-agent on workers",
  hostedOn: (n) => n.kind === 'control' || n.kind === 'worker',
  // The images come from nix (the stack's imageBackend): nothing for the Debian builder.
  image: { packages: [] },
  units: (n) => [surface(n.kind === 'control' ? 'deployer' : 'nix-agent').unit],
  probes: probesFor('deployer'),
  ops: deployerOps,
};
