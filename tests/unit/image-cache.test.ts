import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cachedBuild, lastBuild, readBuilt } from '../../harness/image/cache.js';

const tmp: string[] = [];
afterEach(() => {
  for (const d of tmp.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A build that writes image.json the way the builders do: last, into its folder. */
function frame(cacheDir: string, opts: { rebuild?: boolean } = {}) {
  const calls = { built: 0, hits: 0, preflights: 0 };
  const o = {
    cacheDir,
    name: 'kind-0123456789abcdef',
    what: 'test build',
    rebuild: opts.rebuild,
    hit: () => void calls.hits++,
    preflight: () => void calls.preflights++,
    async build(dir: string) {
      calls.built++;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(path.join(dir, 'image.json'), JSON.stringify({ n: calls.built }));
      return { n: calls.built };
    },
  };
  return { o, calls };
}

describe('the image cache frame', () => {
  it('builds a recipe once; the next run finds it without a preflight', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-'));
    tmp.push(cacheDir);
    const first = frame(cacheDir);
    expect(await cachedBuild(first.o)).toEqual({ n: 1 });
    expect(first.calls).toEqual({ built: 1, hits: 0, preflights: 1 });
    const second = frame(cacheDir);
    expect(await cachedBuild(second.o)).toEqual({ n: 1 });
    expect(second.calls).toEqual({ built: 0, hits: 1, preflights: 0 });
    expect(fs.existsSync(path.join(cacheDir, 'images', '.build-kind-0123456789abcdef.lock'))).toBe(false);
  });

  it('a folder without image.json (a build cut short) is not a build', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-'));
    tmp.push(cacheDir);
    const dir = path.join(cacheDir, 'images', 'kind-0123456789abcdef');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'disk.qcow2'), 'half');
    expect(readBuilt(dir)).toBeUndefined();
    const f = frame(cacheDir);
    await cachedBuild(f.o);
    expect(f.calls.built).toBe(1);
  });

  it('rebuild drops the cached build and builds again', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-'));
    tmp.push(cacheDir);
    await cachedBuild(frame(cacheDir).o);
    const again = frame(cacheDir, { rebuild: true });
    await cachedBuild(again.o);
    expect(again.calls).toMatchObject({ built: 1, hits: 0 });
  });

  it('a failed preflight stops before the lock or any folder is made', async () => {
    const cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cache-'));
    tmp.push(cacheDir);
    const f = frame(cacheDir);
    await expect(cachedBuild({ ...f.o, preflight: () => { throw new Error('not root'); } })).rejects.toThrow('not root');
    expect(fs.existsSync(path.join(cacheDir, 'images'))).toBe(false);
    expect(f.calls.built).toBe(0);
  });
});

describe('the estimate a new build is announced with', () => {
  it('is the newest finished build of the same kind; other kinds, unfinished builds and the recipe itself do not count', () => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'last-build-'));
    tmp.push(d);
    const put = (name: string, record?: object) => {
      fs.mkdirSync(path.join(d, name), { recursive: true });
      if (record) fs.writeFileSync(path.join(d, name, 'image.json'), JSON.stringify(record));
    };
    expect(lastBuild(d, 'reference-aaaa')).toBeUndefined();
    put('reference-1111', { builtAt: '2026-12-06T08:56:20.002Z', buildSeconds: 704 });
    put('reference-2222', { builtAt: '2026-12-06T20:41:41.053Z', buildSeconds: 477 });
    put('reference-3333');
    put('guest-webapp-4444', { builtAt: '2026-12-07T00:00:00.000Z', buildSeconds: 80 });
    put('reference-aaaa', { builtAt: '2026-12-08T00:00:00.000Z', buildSeconds: 1 });
    expect(lastBuild(d, 'reference-aaaa')).toEqual({ name: 'reference-2222', seconds: 477 });
    expect(lastBuild(d, 'guest-webapp-bbbb')).toEqual({ name: 'guest-webapp-4444', seconds: 80 });
    expect(lastBuild(d, 'baremetal-cccc')).toBeUndefined();
  });
});
