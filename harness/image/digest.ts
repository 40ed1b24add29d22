/**
 * The digests image recipes are made of (node image, nix images, guest
 * image, bare-metal ISO): a string's or file's sha256, a folder's
 * treeDigest, and the digest of a path that may be either. Every recipe
 * takes them from here, so one input hashes the same in all of them.
 *
 * sha256 and treeDigest are still written in debian.ts: that file's own
 * bytes are part of the node image recipe (and guest.ts's of the guest
 * image's), so moving them would rebuild both images for no change in what
 * they hold. Move the two bodies here, and switch debian.ts's and guest.ts's
 * inline file-or-folder digest to pathDigest, the next time those files
 * change anyway.
 */
import fs from 'node:fs';
import { sha256, treeDigest } from './debian.js';

export { sha256, treeDigest };

/** A file's sha256, or a folder's treeDigest (every file by relative path: mode and sha256, a link its target). */
export function pathDigest(p: string): string | Record<string, string> {
  return fs.statSync(p).isDirectory() ? treeDigest(p) : sha256(fs.readFileSync(p));
}
