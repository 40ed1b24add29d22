/**
 * apigateway on the ultracloud stack: UltraCloud's API gateway: routes authorized through IAM.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import { nixRole } from '../surfaces.js';

// No ops contract: the tests reach it from the host through its forwarded port.
export const apigateway: Role = nixRole('apigateway', "UltraCloud's API gateway: routes authorized through IAM", (n) => n.kind === 'gateway');
