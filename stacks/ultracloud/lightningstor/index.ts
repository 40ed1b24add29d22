/**
 * lightningstor on the ultracloud stack: UltraCloud's S3 object storage (S3 + gRPC 50086): control plane and workers.
 * Built into the node images by nix/ (UltraCloud's NixOS modules from the
 * flake input); units, ports and health from stacks/ultracloud/surfaces.ts.
 */
import type { Role } from '../../../harness/stack.js';
import type { LightningstorBenchOps, LightningstorOps } from '../../contracts.js';
import { nixRole, opsOf, unitControl } from '../surfaces.js';

/** Implemented through documented surfaces; every other operation fails naming what it needs. */
export const lightningstorOps: LightningstorOps = opsOf<LightningstorOps>(
  'lightningstor',
  {
    async stopProxy(node) {
      await unitControl('lightningstor').stop(node);
    },
    async startProxy(node) {
      await unitControl('lightningstor').start(node);
    },
    bench: opsOf<LightningstorBenchOps>('lightningstor.bench', {}, 'upstream documents no S3 port or credentials for lightningstor'),
  },
  'upstream documents no S3 port or credentials for lightningstor',
);

export const lightningstor: Role = nixRole('lightningstor', "UltraCloud's S3 object storage (S3 + gRPC 50086): control plane and workers", (n) => n.kind === 'control' || n.kind === 'worker', lightningstorOps);
