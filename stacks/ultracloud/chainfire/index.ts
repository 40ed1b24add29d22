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
import { SURFACES, healthy, nixRole, unitControl } from '../surfaces.js';

export const chainfireOps: ChainfireOps = {
  timing: TIMING.chainfire,
  unit: SURFACES.chainfire.unit,
  ...etcdV3Ops,
  healthy: (node) => healthy(node, 'chainfire'),
  ...unitControl('chainfire'),
};

export const chainfire: Role = nixRole('chainfire', "UltraCloud's replicated coordination store (etcd-like KV/Watch/Lease/Cluster gRPC, Raft), three members", (n) => n.kind === 'control', chainfireOps);
