/**
 * apigateway on the ultracloud stack: UltraCloud's API gateway: routes authorized through IAM.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import { probesFor, surface } from '../surfaces.js';

export const apigateway: Role = {
  name: 'apigateway',
  description: "UltraCloud's API gateway: routes authorized through IAM",
  hostedOn: (n) => n.kind === 'gateway',
  // The images come from nix (the stack's imageBackend): nothing for the Debian builder.
  image: { packages: [] },
  units: [surface('apigateway').unit],
  probes: probesFor('apigateway'),
};
