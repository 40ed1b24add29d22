/**
 * The bundle (services/webapp/build.ts) as the guest runs it: one CommonJS
 * file, a bad config is one line and exit 2, and with no FlareDB and no S3
 * behind it (closed ports on 127.0.0.1) it answers clear 5xx JSON errors
 * within its deadlines instead of hanging or inventing a counter.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWebapp } from '../../services/webapp/build.js';

let dir: string;
let bundle: string;
const children: ChildProcess[] = [];

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bundle, ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

/** A port nothing listens on (bound, then closed). */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function config(over: Record<string, unknown>): Record<string, unknown> {
  return {
    name: 'bundle-test',
    flaredb: { sentinels: [{ host: '127.0.0.1', port: 1 }], masterName: 'flaredb', password: 'pw' },
    s3: { endpoint: 'http://127.0.0.1:1', bucket: 'webapp-test', accessKeyId: 'ultracloud:smoke', secretAccessKey: 'secret' },
    counterKey: 'webapp:test',
    ...over,
  };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'webapp-bundle-'));
  bundle = path.join(dir, 'out', 'webapp.js');
  await bundleWebapp(bundle);
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

describe('webapp bundle', () => {
  it('is one CommonJS file with every dependency inside', async () => {
    const js = await readFile(bundle, 'utf8');
    expect(js.startsWith('// webapp: bundled')).toBe(true);
    const required = new Set([...js.matchAll(/\brequire\("([^"]+)"\)/g)].map((m) => m[1]!));
    // optional: debug's supports-color (in a try), the SDK's CRT signer (only named in an error message)
    required.delete('supports-color');
    required.delete('@aws-sdk/signature-v4-crt');
    for (const mod of required) expect(mod, mod).toMatch(/^(node:)?[a-z_0-9]+(\/[a-z_]+)?$/);
    for (const dep of ['ioredis', '@aws-sdk/client-s3', '@smithy/node-http-handler', 'debug', 'denque']) expect(required.has(dep), dep).toBe(false);
    expect(js).not.toMatch(/^import /m);
    expect(js).toContain("if cur ~= ARGV[1] then");
  });

  it('no --config: usage, exit 2', async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('webapp: config error: usage: webapp.js --config <file>\n');
  });

  it('a bad config: one line naming the file and the field, exit 2', async () => {
    const file = path.join(dir, 'bad.json');
    await writeFile(file, JSON.stringify(config({ s3: { endpoint: 'http://127.0.0.1:1', bucket: 'Bad_Bucket', accessKeyId: 'a', secretAccessKey: 'b' } })));
    const r = await run(['--config', file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`webapp: config error: ${file}: s3.bucket: "Bad_Bucket" is not an S3 bucket name (3-63 of a-z, 0-9, ".", "-")\n`);
    const missing = await run(['--config', path.join(dir, 'none.json')]);
    expect(missing.stderr).toBe(`webapp: config error: ${path.join(dir, 'none.json')}: cannot read: ENOENT: no such file or directory\n`);
  });

  it('with FlareDB and S3 unreachable: 503 JSON naming each, in bounded time; 404 and 405 JSON', async () => {
    const [port, sentinelPort, s3Port] = await Promise.all([closedPort(), closedPort(), closedPort()]);
    const file = path.join(dir, 'down.json');
    await writeFile(
      file,
      JSON.stringify(
        config({
          listen: { host: '127.0.0.1', port },
          flaredb: { sentinels: [{ host: '127.0.0.1', port: sentinelPort }], masterName: 'flaredb', password: 'pw' },
          s3: { endpoint: `http://127.0.0.1:${s3Port}`, bucket: 'webapp-test', accessKeyId: 'ultracloud:smoke', secretAccessKey: 'secret' },
        }),
      ),
    );
    const child = spawn(process.execPath, [bundle, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 15_000;
    while (!out.includes('listening on')) {
      if (Date.now() > deadline) throw new Error(`no "listening on" line within 15 s: ${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const base = `http://127.0.0.1:${port}`;

    // Answered, not hung: the messages name the app's own deadlines (no wall-clock assertion: the host may be loaded).
    const state = await fetch(`${base}/state`);
    expect(state.status).toBe(503);
    const stateBody = (await state.json()) as { error: string };
    expect(stateBody.error).toMatch(/^flaredb: reading webapp:test: no connection to the primary of "flaredb" within 5 s \(sentinels 127\.0\.0\.1:\d+; last error: /);

    const visit = await fetch(`${base}/visit`, { method: 'POST' });
    expect(visit.status).toBe(503);
    expect(((await visit.json()) as { error: string }).error).toBe(`lightningstor: HeadBucket webapp-test at http://127.0.0.1:${s3Port}: ECONNREFUSED 127.0.0.1:${s3Port}`);

    const nope = await fetch(`${base}/nope`);
    expect(nope.status).toBe(404);
    expect(nope.headers.get('content-type')).toBe('application/json');
    expect(await nope.json()).toEqual({ error: 'no such resource /nope (GET /state, POST /visit)' });
    expect((await fetch(`${base}/state`, { method: 'POST' })).status).toBe(405);

    expect(out).toMatch(/^\S+Z webapp: GET \/state 503 \d+ms \(flaredb: /m);
    expect(out).toMatch(/^\S+Z webapp: POST \/visit 503 \d+ms \(lightningstor: HeadBucket /m);
    expect(out).not.toMatch(/NodeVersionSupportWarning|secret/);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code).toBe(0);
  }, 40_000);
});
