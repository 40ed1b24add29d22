/**
 * coronafs on the ultracloud stack: UltraCloud's mutable VM volumes (HTTP 50088): the controller export on node01, node-local exports on workers.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { CoronafsBenchOps, CoronafsOps } from '../../contracts.js';
import { nixRole, opsOf } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const coronafsOps: CoronafsOps = opsOf<CoronafsOps>(
  'coronafs',
  {
    bench: opsOf<CoronafsBenchOps>('coronafs.bench', {}, "it needs coronafs's volume API and its exports' NBD addresses, which upstream does not document"),
  },
  "it needs coronafs's volume API (HTTP 50088 beyond /healthz), which upstream does not document",
);

export const coronafs: Role = nixRole('coronafs', "UltraCloud's mutable VM volumes (HTTP 50088): the controller export on node01, node-local exports on workers", (n) => (n.kind === 'control' && n.index === 1) || n.kind === 'worker', coronafsOps);
