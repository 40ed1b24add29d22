import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleCreditservice } from '../../services/creditservice/build.js';

let dir: string;
let bundle: string;

function run(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bundle], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'creditservice-bundle-'));
  bundle = path.join(dir, 'out', 'creditservice.js');
  await bundleCreditservice(bundle);
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('creditservice bundle', () => {
  it('is one CommonJS file with every dependency inside', async () => {
    const js = await readFile(bundle, 'utf8');
    expect(js.startsWith('// creditservice: bundled')).toBe(true);
    // only Node built-ins are required at run time (debug tries supports-color inside try/catch)
    const required = new Set([...js.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!));
    required.delete('supports-color');
    for (const mod of required) expect(mod, mod).toMatch(/^(node:)?[a-z_]+(\/[a-z_]+)?$/);
    expect(js).toMatch(/try \{\s+const supportsColor = require\("supports-color"\)/);
    for (const dep of ['ioredis', 'ldapts', 'jose', 'debug', 'denque', 'asn1', 'uuid', 'whatwg-url']) expect(required.has(dep), dep).toBe(false);
    expect(js).not.toMatch(/\bimport\.meta\b/);
    expect(js).not.toMatch(/^import /m);
    expect(js).toContain('systemd-notify');
    // the Lua scripts travel verbatim
    expect(js).toContain("if amount > balance - reserved then");
  });

  it('with no usable config: one line on stderr, exit code 2', async () => {
    const r = await run({ CREDIT_SECRET_FILE: path.join(dir, 'no-such-secret') });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`creditservice: config error: CREDIT_SECRET_FILE: cannot read ${path.join(dir, 'no-such-secret')}: ENOENT: no such file or directory\n`);
  });

  it('a bad host:port: exit code 2 naming the variable', async () => {
    const secret = path.join(dir, 'secret');
    await writeFile(secret, 'abc123');
    const r = await run({ CREDIT_SECRET_FILE: secret, CREDIT_LISTEN: '127.0.0.1' });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("creditservice: config error: CREDIT_LISTEN: expected host:port, got '127.0.0.1'\n");
  });
});
