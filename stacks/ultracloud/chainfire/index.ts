/**
 * chainfire on the ultracloud stack: UltraCloud's replicated coordination store (etcd-like KV/Watch/Lease/Cluster gRPC, Raft), three members.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { ChainfireOps } from '../../contracts.js';
import { TIMING } from '../timing.js';
import { healthy, opsOf, probesFor, surface, unitControl } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const chainfireOps: ChainfireOps = opsOf<ChainfireOps>(
  'chainfire',
  {
    timing: TIMING.chainfire,
    healthy: (node) => healthy(node, 'chainfire'),
    ...unitControl('chainfire'),
  },
  "it needs chainfire's KV and cluster gRPC API (port 2379), which upstream documents only as etcd-like",
);

export const chainfire: Role = {
  name: 'chainfire',
  description: "UltraCloud's replicated coordination store (etcd-like KV/Watch/Lease/Cluster gRPC, Raft), three members",
  hostedOn: (n) => n.kind === 'control',
  // The images come from nix (the stack's imageBackend): nothing for the Debian builder.
  image: { packages: [] },
  units: [surface('chainfire').unit],
  probes: probesFor('chainfire'),
  ops: chainfireOps,
};
