/**
 * The contract between the harness and a stack. The harness boots nodes and
 * waits for what a role says "ready" means; a role knows nothing of QEMU.
 */
import type { BuiltImage, EnsureOptions } from './image/built.js';
import type { BaremetalDef } from './image/baremetal.js';
import type { GuestImageDef } from './image/guest.js';
import type { Node } from './remote/node.js';
import type { ForwardSpec, NodeKind, NodeSpec } from './topology.js';

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
   * `inputs` (files or folders) and `data()` (what else decides the
   * output, e.g. the lockfile entries a bundle holds) are hashed into the
   * image recipe, `build` writes into the staging root that is copied into
   * the image.
   */
  generated?: { inputs: string[]; data?(): unknown; build(stagingRoot: string): Promise<void> };
}

/** A command a hosting node must answer with exit 0 before it counts as ready (Role.readyChecks). */
export interface ReadyCheck {
  /** What it shows, for progress lines and errors. */
  what: string;
  command: string;
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
  /**
   * Commands that must succeed on a hosting node, after its units are
   * active, before it counts as ready: for a server that starts on first
   * use and then does slow one-time work (libvirtd probing QEMU), so that
   * work is done at boot and held by the warm snapshot, not paid by the
   * first test of every run. Part of the snapshot key.
   */
  readyChecks?: ReadyCheck[];
  /** Protocol probes run on every hosting node by the protocols layer. */
  probes?: Probe[];
  /**
   * Names of the stack's secrets (Stack.secrets) this role's servers read on
   * a hosting node; only those nodes get them (as root-only files, never on
   * a command line).
   */
  secrets?: string[];
  /** What tests may ask of this role (stacks/contracts.ts); keyed by the role name in Stack.ops. */
  ops?: unknown;
  /**
   * Run on each hosting node after the cluster was paused and resumed (a
   * warm snapshot restored or captured) and the guest clock stepped forward
   * to the host's: whatever the role's servers need to settle after such a
   * jump. Throws (with evidence) when they do not.
   */
  afterClockStep?(node: Node): Promise<void>;
}

/** A per-cluster secret the stack's servers need; made once per state dir. */
export interface SecretSpec {
  /** File name, in the state dir and in the node's /run/ultracloud. */
  name: string;
  /** New random content. */
  make(): Buffer;
}

/** What a backend builds for: the stack (its roles narrowed to the profile's) and the apt sources override. */
export interface ImageContext {
  stack: Stack;
  /** ULTRACLOUD_DEBIAN_SOURCES: an explicit apt sources file, else the host's own. */
  debianSources?: string;
}

/**
 * Where a stack's node images come from (Stack.imageBackend): the Debian
 * builder (image/backend.ts) or the nix backend (image/nix.ts). The harness
 * calls preflight() before it writes or boots anything, so a host that
 * cannot build stops with one line.
 */
export interface ImageBackend {
  kind: string;
  /** Throws a one-line HostError when this host cannot build the images; reads only. */
  preflight(): void;
  /** The recipe hash this checkout would build, without building; throws when it cannot be known here. */
  recipeHash(nodes: NodeSpec[], ctx: ImageContext): string;
  ensure(nodes: NodeSpec[], opts: EnsureOptions & ImageContext): Promise<BuiltImage>;
}

export interface Stack<Ops = unknown> {
  name: string;
  /** Debian suite the image is built from. */
  suite: string;
  roles: Role[];
  /** What tests may ask of each role (stacks/contracts.ts), gathered from the roles' `ops`. */
  ops: Ops;
  secrets: SecretSpec[];
  /** Kernel arguments that tell a node which roles it hosts (identity arguments are the harness's). */
  bootArgs(node: NodeSpec): string[];
  /**
   * Where the node images come from: the Debian builder out of the roles'
   * `image` (debianImageBackend) or the nix backend. The harness has no
   * default: a stack without one cannot build (or key) its images.
   */
  imageBackend?: ImageBackend;
  /**
   * Host forwards the stack's servers need, by node kind, after the
   * harness's own SSH forward (a gateway's HTTP ports). Part of each node's
   * QEMU command line, so of the warm snapshot's key.
   */
  forwards?: Partial<Record<NodeKind, ForwardSpec[]>>;
  /** Tenant guest images the stack's tests boot in its VMs (Cluster.buildGuest; the first is the default). */
  guests?: GuestImageDef[];
  /** What the bare-metal installer ISO and install bundle hold (Cluster.buildBaremetal). */
  baremetal?: BaremetalDef;
}

/** What defineStack takes: the stack's parts but its gathered ops and bootArgs. */
export interface StackDef<Ops> {
  name: string;
  suite: string;
  roles: Role[];
  secrets: SecretSpec[];
  opsKeys: (keyof Ops)[];
  imageBackend?: ImageBackend;
  forwards?: Partial<Record<NodeKind, ForwardSpec[]>>;
  guests?: GuestImageDef[];
  baremetal?: BaremetalDef;
}

/**
 * A stack from its role list: ops come from each role that declares them
 * (one place per role), and every role's named secrets must exist.
 */
export function defineStack<Ops>(s: StackDef<Ops>): Stack<Ops> {
  const ops = Object.fromEntries(s.roles.filter((r) => r.ops !== undefined).map((r) => [r.name, r.ops]));
  const missing = s.opsKeys.filter((k) => !(String(k) in ops));
  if (missing.length > 0) throw new Error(`stack ${s.name}: no role declares ops for ${missing.join(', ')}`);
  for (const r of s.roles) {
    const unknown = (r.secrets ?? []).filter((n) => !s.secrets.some((x) => x.name === n));
    if (unknown.length > 0) throw new Error(`stack ${s.name}: role ${r.name} needs unknown secret(s) ${unknown.join(', ')}`);
  }
  const stack: Stack<Ops> = {
    name: s.name,
    suite: s.suite,
    roles: s.roles,
    ops: ops as Ops,
    secrets: s.secrets,
    bootArgs: (node) => rolesArgs(stack, node),
    ...(s.imageBackend ? { imageBackend: s.imageBackend } : {}),
    ...(s.forwards ? { forwards: s.forwards } : {}),
    ...(s.guests ? { guests: s.guests } : {}),
    ...(s.baremetal ? { baremetal: s.baremetal } : {}),
  };
  return stack;
}

/**
 * The profile's nodes as `stack` boots them: each with the stack's forwards
 * for its kind after its own (SSH). Throws when two forwards would share a
 * host port or a node two forwards of one name.
 */
export function nodesFor(stack: Stack, nodes: NodeSpec[]): NodeSpec[] {
  const out = nodes.map((n) => {
    const extra = stack.forwards?.[n.kind] ?? [];
    return extra.length === 0 ? n : { ...n, forwards: [...n.forwards, ...extra] };
  });
  const offsets = new Map<number, string>();
  for (const n of out) {
    const names = new Set<string>();
    for (const f of n.forwards) {
      if (names.has(f.name)) throw new Error(`stack ${stack.name}: ${n.name} has two forwards named ${f.name}`);
      names.add(f.name);
      const other = offsets.get(f.offset);
      if (other) throw new Error(`stack ${stack.name}: forwards ${other} and ${n.name} ${f.name} share the host port base + ${f.offset}`);
      offsets.set(f.offset, `${n.name} ${f.name}`);
    }
  }
  return out;
}

/**
 * The stack narrowed to the roles a profile boots (`names`; the whole stack
 * when absent). Ops stay whole: a test that asks a role no node hosts finds
 * no node to ask, and the profile's Vitest projects leave such tests out.
 */
export function withRoles<Ops>(stack: Stack<Ops>, names: string[] | undefined): Stack<Ops> {
  if (!names) return stack;
  const unknown = names.filter((n) => !stack.roles.some((r) => r.name === n));
  if (unknown.length > 0) throw new Error(`stack ${stack.name} has no role(s) ${unknown.join(', ')}`);
  const narrowed: Stack<Ops> = {
    ...stack,
    roles: stack.roles.filter((r) => names.includes(r.name)),
    bootArgs: (node) => rolesArgs(narrowed, node),
  };
  return narrowed;
}

/** The kernel argument naming the roles `node` hosts in `stack` (the image's generator enables their units). */
function rolesArgs(stack: Stack, node: NodeSpec): string[] {
  return [`ultracloud.roles=${rolesFor(stack, node).map((r) => r.name).join(',')}`];
}

/** The secrets `node` gets: those its roles name. */
export function secretsFor(stack: Stack, node: NodeSpec): SecretSpec[] {
  const names = new Set(rolesFor(stack, node).flatMap((r) => r.secrets ?? []));
  return stack.secrets.filter((s) => names.has(s.name));
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

/** The checks `node` must pass, after its units, to count as ready (its roles' readyChecks). */
export function readyChecks(stack: Stack, node: NodeSpec): ReadyCheck[] {
  return rolesFor(stack, node).flatMap((r) => r.readyChecks ?? []);
}

/** A node's readiness definition as the snapshot key holds it: its units, then `check: <command>` per check. */
export function readinessDefinition(stack: Stack, node: NodeSpec): string[] {
  return [...readyUnits(stack, node), ...readyChecks(stack, node).map((c) => `check: ${c.command}`)];
}
