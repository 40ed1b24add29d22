/**
 * services/lock-closure.ts: an image recipe holds the lockfile entries its
 * bundles are made of, so a dev tool added to the project keeps every
 * image, and a new version of a bundled dependency rebuilds it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { bundleLockKey, importsOf, type Lockfile, lockClosure, packageOf, resolveIn } from '../../services/lock-closure.js';

const LOCK: Lockfile = {
  packages: {
    '': {},
    'node_modules/ldapts': { version: '7.0.0', integrity: 'sha512-l', dependencies: { debug: '4.3.0', asn1: '0.2.6' } },
    'node_modules/ldapts/node_modules/debug': { version: '4.3.0', integrity: 'sha512-d43', dependencies: { ms: '2.1.2' } },
    'node_modules/debug': { version: '4.4.3', integrity: 'sha512-d44', dependencies: { ms: '2.1.3' } },
    'node_modules/ms': { version: '2.1.3', integrity: 'sha512-ms' },
    'node_modules/asn1': { version: '0.2.6', integrity: 'sha512-asn1', optionalDependencies: { 'not-installed': '1' } },
    'node_modules/vitest': { version: '4.1.12', integrity: 'sha512-v' },
  },
};

describe('which packages a source imports', () => {
  test('bare specifiers name packages; scoped ones keep their scope; relative paths and builtins are not packages', () => {
    expect(packageOf('@aws-sdk/client-s3')).toBe('@aws-sdk/client-s3');
    expect(packageOf('@aws-sdk/client-s3/dist/x.js')).toBe('@aws-sdk/client-s3');
    expect(packageOf('ioredis')).toBe('ioredis');
    expect(packageOf('./etcd.js')).toBeUndefined();
    expect(packageOf('node:http')).toBeUndefined();
    expect(packageOf('http')).toBeUndefined();
  });

  test('import, import type, export from, import() and require() all count', () => {
    const src = [
      "import { Redis } from 'ioredis';",
      "import type { Entry } from 'ldapts';",
      "export { x } from 'jose5';",
      "const m = await import('@aws-sdk/client-s3');",
      "const y = require('debug');",
      "import 'side-effect';",
      "import { a } from './local.js';",
      "import http from 'node:http';",
    ].join('\n');
    expect(importsOf(src)).toEqual(['@aws-sdk/client-s3', 'debug', 'ioredis', 'jose5', 'ldapts', 'side-effect']);
  });
});

describe('the lock entries a bundle holds', () => {
  test('a dependency resolves to the nearest node_modules, as Node finds it', () => {
    expect(resolveIn(LOCK, 'node_modules/ldapts', 'debug')).toBe('node_modules/ldapts/node_modules/debug');
    expect(resolveIn(LOCK, 'node_modules/ldapts/node_modules/debug', 'ms')).toBe('node_modules/ms');
    expect(resolveIn(LOCK, '', 'debug')).toBe('node_modules/debug');
    expect(resolveIn(LOCK, '', 'nothing')).toBeUndefined();
  });

  test('everything reachable from the imports, nothing else; a missing optional dependency is no error', () => {
    expect(lockClosure(LOCK, ['ldapts'])).toEqual({
      'node_modules/asn1': '0.2.6 sha512-asn1',
      'node_modules/ldapts': '7.0.0 sha512-l',
      'node_modules/ldapts/node_modules/debug': '4.3.0 sha512-d43',
      'node_modules/ms': '2.1.3 sha512-ms',
    });
  });

  test('an import the lock does not hold is refused, naming it', () => {
    expect(() => lockClosure(LOCK, ['ioredis'])).toThrow('package-lock.json has no ioredis (needed by the service): run npm install');
  });
});

describe("this project's bundles", () => {
  const lockFile = path.resolve('package-lock.json');
  const src = path.resolve('services/webapp/src');
  const withLock = (edit: (l: Lockfile) => void) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lock-closure-'));
    try {
      const l = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as Lockfile;
      edit(l);
      fs.writeFileSync(path.join(dir, 'package-lock.json'), JSON.stringify(l));
      return bundleLockKey(src, path.join(dir, 'package-lock.json'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  test("the web app's key holds the S3 client and the bundler, not the test runner", () => {
    const key = bundleLockKey(src, lockFile);
    expect(Object.keys(key)).toContain('node_modules/@aws-sdk/client-s3');
    expect(Object.keys(key)).toContain('node_modules/esbuild');
    expect(Object.keys(key)).not.toContain('node_modules/vitest');
  });

  test('a dev tool added to the lock keeps the key; a new version of a bundled package changes it', () => {
    const before = bundleLockKey(src, lockFile);
    expect(withLock((l) => (l.packages['node_modules/@vitest/ui'] = { version: '4.1.12', integrity: 'sha512-ui' }))).toEqual(before);
    expect(withLock((l) => (l.packages['node_modules/@aws-sdk/client-s3'].version = '0.0.1'))).not.toEqual(before);
    expect(withLock((l) => (l.packages['node_modules/esbuild'].integrity = 'sha512-other'))).not.toEqual(before);
  });
});
