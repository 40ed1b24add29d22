import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pathDigest, sha256, treeDigest } from '../../harness/image/digest.js';

const root = path.resolve(import.meta.dirname, '../..');

/**
 * The file-or-folder digest as each recipe (debian.ts, guest.ts,
 * baremetal.ts, nix.ts) wrote it inline before pathDigest: image recipe
 * hashes key the image cache, so the shared one must give the very same
 * values (and treeDigest the values pinned below, which it gave before).
 */
const oldDigest = (p: string) => (fs.statSync(p).isDirectory() ? treeDigest(p) : crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex'));

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-digest-'));
  const w = (rel: string, text: string, mode: number) => {
    const p = path.join(dir, rel);
    fs.mkdirSync(path.dirname(p), { recursive: true });
    fs.writeFileSync(p, text);
    fs.chmodSync(p, mode);
  };
  w('a.txt', 'alpha\n', 0o644);
  w('B.sh', '#!/bin/sh\necho b\n', 0o755);
  w('_under', '', 0o600);
  w('.dot', 'hidden', 0o644);
  w('sub/z', 'zed', 0o640);
  w('sub/deeper/Ä', 'umlaut', 0o644);
  fs.symlinkSync('../a.txt', path.join(dir, 'sub/link'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('image recipe digests', () => {
  it('a folder: every file by relative path, in name order, with its mode and sha256; a link by its target', () => {
    // Values the recipes' digest gave before it was shared: a change here changes every image's recipe hash.
    const d = treeDigest(dir);
    expect(Object.keys(d)).toEqual(['_under', '.dot', 'a.txt', 'B.sh', 'sub/deeper/Ä', 'sub/link', 'sub/z']);
    expect(d).toEqual({
      _under: '600:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      '.dot': '644:e564b4081d7a9ea4b00dada53bdae70c99b87b6fce869f0c3dd4d2bfa1e53e1c',
      'a.txt': '644:b6a98d9ce9a2d9149288fa3df42d377c3e42737afdcdaf714e33c0a100b51060',
      'B.sh': '755:e169a592383defe23dbbb9ee38a7984e87882707ea728f7b052c7b24d7dcee09',
      'sub/deeper/Ä': '644:46265dd2e7076be5d1b793a7042ca66a0e7cbea186cdf38c335d6425ab6e01b4',
      'sub/link': 'link:../a.txt',
      'sub/z': '640:ae8f5080a348fbfeb2c776957979728034cdf3eee0160c8667ee66daa8440a48',
    });
    expect(sha256('x')).toBe('2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881');
  });

  it('pathDigest: a file its sha256, a folder its treeDigest, the same as the recipes wrote it before', () => {
    expect(pathDigest(path.join(dir, 'B.sh'))).toBe('e169a592383defe23dbbb9ee38a7984e87882707ea728f7b052c7b24d7dcee09');
    for (const p of [dir, path.join(dir, 'sub'), path.join(dir, 'a.txt'), path.join(dir, '_under')]) expect(pathDigest(p)).toEqual(oldDigest(p));
  });

  it("the project's own recipe inputs digest as before", () => {
    for (const rel of ['baremetal/system', 'baremetal/installer', 'guests/webapp', 'services/deployer/src', 'services/bundle.ts', 'nix', 'flake.nix']) {
      const p = path.join(root, rel);
      if (fs.existsSync(p)) expect(pathDigest(p), rel).toEqual(oldDigest(p));
    }
  });
});
