/**
 * flashdns on the ultracloud stack: UltraCloud's authoritative DNS (53 udp/tcp, gRPC 50084).
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { FlashdnsOps } from '../../contracts.js';
import { TIMING } from '../timing.js';
import { nixRole, opsOf } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const flashdnsOps: FlashdnsOps = opsOf<FlashdnsOps>(
  'flashdns',
  {
    timing: TIMING.flashdns,
    // (guess) the zone and primary nix/modules/ultracloud-roles.nix configures.
    zone: 'ultracloud.test',
    primaryNode: 'node01',
  },
  "it needs flashdns's record API (gRPC 50084), which upstream does not document",
);

export const flashdns: Role = nixRole('flashdns', "UltraCloud's authoritative DNS (53 udp/tcp, gRPC 50084)", (n) => n.kind === 'control', flashdnsOps);
