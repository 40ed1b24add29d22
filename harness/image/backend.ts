/**
 * The Debian image backend the reference stack hands in (Stack.imageBackend,
 * whose interface lives with the Stack in ../stack.ts): the builder in
 * debian.ts, from the roles' `image`. The ultracloud stack hands in the nix
 * backend (nix.ts) instead.
 */
import { hostSourcesFor } from './apt-sources.js';
import { ensureImage, imageRecipe } from './debian.js';
import type { ImageBackend } from '../stack.js';

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
