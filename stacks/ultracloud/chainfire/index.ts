/**
 * chainfire on the ultracloud stack: UltraCloud's replicated coordination store (etcd-like KV/Watch/Lease/Cluster gRPC, Raft), three members.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 *
 * (assumption) "etcd-like KV/Watch/Lease/Cluster gRPC" on 2379 names etcd v3's
 * own services, so members, leader, put and get go through etcdctl (nix/
 * puts it on chainfire's nodes). Should chainfire's protos differ, etcdctl
 * fails with gRPC's "unknown service" and the check fails saying so: never a
 * pass on a guess.
 */
import type { Role } from '../../../harness/stack.js';
import type { ChainfireOps } from '../../contracts.js';
import { etcdV3Ops } from '../../etcd-v3.js';
import { TIMING } from '../timing.js';
import { healthy, probesFor, surface, unitControl } from '../surfaces.js';

export const chainfireOps: ChainfireOps = {
  timing: TIMING.chainfire,
  ...etcdV3Ops,
  healthy: (node) => healthy(node, 'chainfire'),
  ...unitControl('chainfire'),
};

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
