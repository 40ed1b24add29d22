/**
 * The digests image recipes are made of (node image, nix images, guest
 * image, bare-metal ISO): a string's or file's sha256, a folder's
 * treeDigest, and the digest of a path that may be either. Every recipe
 * takes them from here, so one input hashes the same in all of them.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function sha256(data: string | Buffer): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** Every file under `dir` by relative path: its mode and sha256; a link its target. */
export function treeDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isDirectory()) walk(p);
      else if (e.isSymbolicLink()) out[rel] = `link:${fs.readlinkSync(p)}`;
      else out[rel] = `${(fs.statSync(p).mode & 0o777).toString(8)}:${sha256(fs.readFileSync(p))}`;
    }
  };
  walk(dir);
  return out;
}

/** A file's sha256, or a folder's treeDigest (every file by relative path: mode and sha256, a link its target). */
export function pathDigest(p: string): string | Record<string, string> {
  return fs.statSync(p).isDirectory() ? treeDigest(p) : sha256(fs.readFileSync(p));
}
