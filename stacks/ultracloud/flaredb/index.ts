/**
 * flaredb on the ultracloud stack: UltraCloud's replicated KV/metadata store (raw and compare-and-swap namespaces), three members.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { FlaredbOps } from '../../contracts.js';
import { TIMING } from '../timing.js';
import { SURFACES, nixRole, opsOf, unitControl } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const flaredbOps: FlaredbOps = opsOf<FlaredbOps>(
  'flaredb',
  {
    timing: TIMING.flaredb,
    unit: SURFACES.flaredb.unit,
    ...unitControl('flaredb'),
  },
  "it needs flaredb's KV API (port 2479) and its replication view, which upstream does not document",
);

export const flaredb: Role = nixRole('flaredb', "UltraCloud's replicated KV/metadata store (raw and compare-and-swap namespaces), three members", (n) => n.kind === 'control', flaredbOps);
