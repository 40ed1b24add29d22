/**
 * base on the ultracloud stack: sshd and node identity (the NixOS module nix/modules/harness-node.nix): on every node.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import { surface } from '../surfaces.js';

export const base: Role = {
  name: 'base',
  description: 'sshd and node identity (the NixOS module nix/modules/harness-node.nix): on every node',
  hostedOn: () => true,
  // The images come from nix (the stack's imageBackend): nothing for the Debian builder.
  image: { packages: [] },
  units: ['sshd.service', 'ultracloud-node-identity.service'],
};
