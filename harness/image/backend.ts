/**
 * Where a stack's node images come from: the backend the stack hands in
 * (Stack.imageBackend). The harness has no default: the reference stack
 * hands in the Debian builder below (debian.ts, from its roles' `image`),
 * the ultracloud stack the nix backend (nix.ts). The harness calls
 * preflight() before it writes or boots anything, so a host that cannot
 * build stops with one line.
 *
 * (debian.ts still declares an older ImageBackend, unused: debian.ts's own
 * bytes are part of the Debian image recipe, so it is left unedited here.)
 */
import { hostSourcesFor } from './apt-sources.js';
import { type BuiltImage, type EnsureOptions, ensureImage, imageRecipe } from './debian.js';
import type { Stack } from '../stack.js';
import type { NodeSpec } from '../topology.js';

/** What a backend builds for: the stack (its roles narrowed to the profile's) and the apt sources override. */
export interface ImageContext {
  stack: Stack;
  /** ULTRACLOUD_DEBIAN_SOURCES: an explicit apt sources file, else the host's own. */
  debianSources?: string;
}

export interface ImageBackend {
  kind: string;
  /** Throws a one-line HostError when this host cannot build the images; reads only. */
  preflight(): void;
  /** The recipe hash this checkout would build, without building; throws when it cannot be known here. */
  recipeHash(nodes: NodeSpec[], ctx: ImageContext): string;
  ensure(nodes: NodeSpec[], opts: EnsureOptions & ImageContext): Promise<BuiltImage>;
}

/**
 * One Debian image for every node, from the stack's roles' `image`
 * (packages, files, scripts), made by mmdebstrap from the host's apt
 * sources (debian.ts). Needs nothing but root and the tools at build time.
 */
export function debianImageBackend(): ImageBackend {
  return {
    kind: 'debian',
    preflight() {},
    recipeHash: (nodes, ctx) => imageRecipe(ctx.stack, nodes, hostSourcesFor(ctx.stack.suite, ctx.debianSources)).hash,
    ensure: (nodes, { stack, ...opts }) => ensureImage(stack, nodes, opts),
  };
}
