/**
 * nightlight on the ultracloud stack: UltraCloud's metrics ingest (Prometheus remote_write) and PromQL query.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import { probesFor, surface } from '../surfaces.js';

export const nightlight: Role = {
  name: 'nightlight',
  description: "UltraCloud's metrics ingest (Prometheus remote_write) and PromQL query",
  hostedOn: (n) => n.kind === 'gateway',
  // The images come from nix (the stack's imageBackend): nothing for the Debian builder.
  image: { packages: [] },
  units: [surface('nightlight').unit],
  probes: probesFor('nightlight'),
};
