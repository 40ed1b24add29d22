/**
 * The ultracloud stack: UltraCloud's own services, one NixOS system per node
 * built by `nix build .#cluster-images` from flake.nix and nix/ (UltraCloud's
 * NixOS modules come from the flake input `ultracloud`, pointed at with
 * ULTRACLOUD_FLAKE). Same topology, QEMU wrapper, readiness and test files as
 * the reference stack; the roles probe and drive what upstream documents
 * (surfaces.ts). nix/README.md says what is implemented and verified.
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../../harness/config.js';
import { nixImageBackend } from '../../harness/image/nix.js';
import { defineStack } from '../../harness/stack.js';
import { common } from '../common.js';
import type { StackOps, StackTiming } from '../contracts.js';
import { apigateway } from './apigateway/index.js';
import { base } from './base/index.js';
import { chainfire } from './chainfire/index.js';
import { coronafs } from './coronafs/index.js';
import { creditservice } from './creditservice/index.js';
import { deployer } from './deployer/index.js';
import { fiberlb } from './fiberlb/index.js';
import { flaredb } from './flaredb/index.js';
import { flashdns } from './flashdns/index.js';
import { iam } from './iam/index.js';
import { k8shost } from './k8shost/index.js';
import { lightningstor } from './lightningstor/index.js';
import { nightlight } from './nightlight/index.js';
import { plasmavmc } from './plasmavmc/index.js';
import { prismnet } from './prismnet/index.js';
import { TIMING } from './timing.js';

/** What `nix build` is asked for, and which files of this project make the image recipe. */
export const NIX_IMAGES = {
  stack: 'ultracloud',
  flakeDir: PROJECT_ROOT,
  attr: 'cluster-images',
  input: 'ultracloud',
  recipeInputs: ['flake.nix', 'flake.lock', 'nix'].map((p) => path.normalize(p)),
};

export const ultracloud = defineStack<StackOps>({
  name: 'ultracloud',
  // Only the tenant guest images (guests/webapp) and the bare-metal ISO (../common.ts) are still built from Debian.
  suite: 'bookworm',
  roles: [base, chainfire, flaredb, iam, flashdns, fiberlb, prismnet, plasmavmc, lightningstor, coronafs, k8shost, nightlight, apigateway, creditservice, deployer],
  // UltraCloud's servers read no per-cluster secret the harness knows of (upstream documents none).
  secrets: [],
  opsKeys: ['iam', 'chainfire', 'flaredb', 'flashdns', 'fiberlb', 'prismnet', 'plasmavmc', 'coronafs', 'k8shost', 'lightningstor', 'creditservice', 'deployer'],
  imageBackend: nixImageBackend(NIX_IMAGES),
  // The gateway's forwards (nix/ configures the servers on guest ports 80 and 9090), the guest and the bare-metal artifacts.
  ...common,
});

/** Each role's deadlines (its ops' `timing`), as static data (timing.ts). */
export const timing: StackTiming = TIMING;
