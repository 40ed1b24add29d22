/**
 * The contract between the harness and a stack. The harness boots nodes and
 * waits for what a role says "ready" means; a role knows nothing of QEMU.
 */
import type { Node } from './node.js';
import type { NodeSpec } from './topology.js';

/**
 * A protocol-level check of a role on one node: throws (with evidence)
 * when the server does not answer as it should.
 */
export interface Probe {
  name: string;
  run(node: Node): Promise<void>;
}

export interface RoleImage {
  /** Debian packages baked into the node image. */
  packages: string[];
  /** A directory whose tree is copied into the image root. */
  filesDir?: string;
  /** A shell script run inside the image root (chroot) after packages and files. */
  customizeScript?: string;
  /** Units installed by packages that no node of this role set must start by itself. */
  disableUnits?: string[];
  /** Units nobody needs (timers, gettys); masked to keep idle TCG guests quiet. */
  maskUnits?: string[];
  /**
   * Files made on the host at image build time (a bundled service of ours):
   * `inputs` (files or folders) are hashed into the image recipe, `build`
   * writes into the staging root that is copied into the image.
   */
  generated?: { inputs: string[]; build(stagingRoot: string): Promise<void> };
}

export interface Role {
  name: string;
  description: string;
  /** Which nodes host this role. */
  hostedOn(node: NodeSpec): boolean;
  image: RoleImage;
  /**
   * Units enabled at boot only on hosting nodes (wired by the image's
   * generator from the kernel command line) and required active for "ready".
   * A function when the role runs different servers on different nodes
   * (say, proxies on the control plane and storage servers on workers).
   */
  units: string[] | ((node: NodeSpec) => string[]);
  /** Protocol probes run on every hosting node by the protocols layer. */
  probes?: Probe[];
}

export interface Stack<Ops = unknown> {
  name: string;
  /** Debian suite the image is built from. */
  suite: string;
  roles: Role[];
  /** What tests may ask of each role (stacks/contracts.ts). */
  ops: Ops;
}

export function rolesFor(stack: Stack, node: NodeSpec): Role[] {
  return stack.roles.filter((r) => r.hostedOn(node));
}

/** The units `role` runs on `node`. */
export function unitsOn(role: Role, node: NodeSpec): string[] {
  return typeof role.units === 'function' ? role.units(node) : role.units;
}

/** Every unit `role` runs on any of `nodes` (what the image disables by default). */
export function allUnits(role: Role, nodes: NodeSpec[]): string[] {
  if (typeof role.units !== 'function') return role.units;
  return [...new Set(nodes.filter((n) => role.hostedOn(n)).flatMap((n) => unitsOn(role, n)))];
}

export function readyUnits(stack: Stack, node: NodeSpec): string[] {
  return rolesFor(stack, node).flatMap((r) => unitsOn(r, node));
}
