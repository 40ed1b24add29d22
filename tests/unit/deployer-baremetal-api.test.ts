/**
 * The bare-metal API's decisions (services/deployer/src/baremetal/api.ts,
 * store.ts) and the agent's pure parts (agent.ts): tokens by sha256, the
 * install plan, a new install per phone-home, progress, converged only for
 * a healthy report of the current install and generation, the nodes' view
 * without tokens; the body limit and the bundle route on a real HTTP server.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fileDiffers, parseAgentConfig, unitsToRestart, allActive } from '../../services/deployer/src/baremetal/agent.js';
import { HttpError, MAX_BODY, applyProgress, applyReport, bearerMatches, buildPlan, deployerUrls, handleBm, parsePhoneHome, startInstall } from '../../services/deployer/src/baremetal/api.js';
import { DiskSelectorError } from '../../services/deployer/src/baremetal/disko.js';
import { desiredSystem, validateBmDefs } from '../../services/deployer/src/baremetal/schema.js';
import { BK, bmView, emptyStatus, parseBm } from '../../services/deployer/src/baremetal/store.js';
import { Etcd } from '../../services/deployer/src/etcd.js';

const GiB = 1024 ** 3;
const TOKEN = '0123456789abcdef0123456789abcdef';
const sha = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const defs = validateBmDefs({
  bundle: { sha256: 'b'.repeat(64), bytes: 1234 },
  systems: { w: { units: ['a.service'], files: [{ path: '/etc/a', content: 'a' }], checks: [{ name: 'a', unit: 'a.service' }] } },
  classes: {
    worker: {
      system: 'w',
      disks: [{ name: 'system', select: { serial: 'UCSYS-*' }, partitions: [{ name: 'bios', sizeMiB: 1, type: 'bios' }, { name: 'root', format: 'ext4', mount: '/' }] }],
    },
  },
  nodes: { 'bm-w01': { class: 'worker', hostname: 'bm-w01', tokenSha256: sha(TOKEN), mac: '52:54:00:00:00:01', address: '10.100.0.42/24', sshAuthorizedKeys: ['ssh-ed25519 AAAA k'] } },
});
const phoneHome = (over: Record<string, unknown> = {}) =>
  parsePhoneHome({ nodeId: 'bm-w01', hostname: 'bm-w01', firmware: 'bios', mac: '52:54:00:00:00:01', disks: [{ name: 'vda', serial: 'UCDATA-1', bytes: 2 * GiB }, { name: 'vdb', serial: 'UCSYS-1', bytes: 4 * GiB }], ...over });

describe('tokens', () => {
  test('a Bearer token matches by its sha256; anything else does not', () => {
    expect(bearerMatches(`Bearer ${TOKEN}`, sha(TOKEN))).toBe(true);
    expect(bearerMatches(`bearer ${TOKEN}`, sha(TOKEN))).toBe(true);
    expect(bearerMatches(`Bearer ${TOKEN}x`, sha(TOKEN))).toBe(false);
    expect(bearerMatches(TOKEN, sha(TOKEN))).toBe(false);
    expect(bearerMatches(undefined, sha(TOKEN))).toBe(false);
    expect(bearerMatches(`Bearer ${TOKEN}`, undefined)).toBe(false);
    expect(bearerMatches(`Bearer ${TOKEN}`, 'short')).toBe(false);
  });
});

describe('phone-home', () => {
  test('the install plan: identity, bundle, disko for the selected disk, agent token, deployers, keys', () => {
    const p = buildPlan(defs, phoneHome(), ['http://10.100.0.11:8070'], 'i1', 'agent-token');
    expect(p).toMatchObject({ installId: 'i1', hostname: 'bm-w01', address: '10.100.0.42/24', mac: '52:54:00:00:00:01', agentToken: 'agent-token', deployers: ['http://10.100.0.11:8070'], sshAuthorizedKeys: ['ssh-ed25519 AAAA k'] });
    expect(p.bundle).toEqual({ url: `/v1/bm/bundle/${'b'.repeat(64)}`, sha256: 'b'.repeat(64), bytes: 1234 });
    expect(p.boot).toMatchObject({ disk: '/dev/vdb', espUuid: null });
    expect(p.disko).toContain(`mkfs.ext4 -q -F -U ${p.boot.rootUuid} -L root /dev/vdb2`);
    expect(p.fstab).toContain(`UUID=${p.boot.rootUuid} / ext4`);
  });

  test('a body that is not the record\'s is 400; disks that do not fit are a DiskSelectorError', () => {
    expect(() => buildPlan(defs, phoneHome({ mac: '52:54:00:00:00:02' }), [], 'i', 't')).toThrow("mac 52:54:00:00:00:02 is not node bm-w01's (52:54:00:00:00:01)");
    expect(() => buildPlan(defs, phoneHome({ hostname: 'other' }), [], 'i', 't')).toThrow(HttpError);
    expect(() => parsePhoneHome({ nodeId: 'bm-w01', hostname: 'x', firmware: 'coreboot', mac: 'm', disks: [] })).toThrow('firmware: must be "uefi" or "bios"');
    expect(() => buildPlan(defs, phoneHome({ disks: [{ name: 'vda', serial: 'X', bytes: GiB }] }), [], 'i', 't')).toThrow(DiskSelectorError);
  });

  test('each phone-home is a new install: attempts + 1, a new agent token, the old report gone', () => {
    const a = startInstall(emptyStatus(), 'i1', 'tok1', 'bios');
    expect(a).toMatchObject({ state: 'installing', installId: 'i1', attempts: 1, step: 'phone-home:accepted', agentTokenSha256: sha('tok1') });
    const conv = { ...a, state: 'converged' as const, report: { installId: 'i1', generation: 'g', healthy: true, checks: [], at: 1 }, convergedAt: 1 };
    const b = startInstall(conv, 'i2', 'tok2', 'bios');
    expect(b).toMatchObject({ state: 'installing', installId: 'i2', attempts: 2, agentTokenSha256: sha('tok2'), report: null, convergedAt: null });
    const f = startInstall(b, 'i3', null, 'bios', 'disk "system" selector ...');
    expect(f).toMatchObject({ state: 'failed', attempts: 3, step: 'disk-selector', message: 'disk "system" selector ...' });
    expect(f.agentTokenSha256).toBeUndefined();
  });
});

describe('progress and reports', () => {
  const installing = startInstall(emptyStatus(), 'i1', 'tok', 'uefi');
  const gen = desiredSystem(defs, 'bm-w01').generation;

  test('progress moves the step; install:done is installed; ok:false fails; another install is 409', () => {
    expect(applyProgress(installing, { installId: 'i1', step: 'disko:done', ok: true })).toMatchObject({ state: 'installing', step: 'disko:done' });
    const done = applyProgress(installing, { installId: 'i1', step: 'install:done', ok: true });
    expect(done.state).toBe('installed');
    expect(applyProgress(installing, { installId: 'i1', step: 'bootloader:installed', ok: false, message: 'grub-install failed' })).toMatchObject({ state: 'failed', message: 'grub-install failed' });
    expect(() => applyProgress(installing, { installId: 'i0', step: 'disko:done', ok: true })).toThrow(expect.objectContaining({ code: 409 }));
    expect(() => applyProgress(installing, { installId: 'i1', step: 'Bad Step', ok: true })).toThrow(expect.objectContaining({ code: 400 }));
  });

  test('converged only for a healthy report of the current install and generation', () => {
    const installed = applyProgress(installing, { installId: 'i1', step: 'install:done', ok: true });
    const r = (over: Record<string, unknown>) => ({ installId: 'i1', generation: gen, healthy: true, checks: [{ name: 'a', ok: true, output: 'active' }], ...over });
    expect(applyReport(installed, r({ healthy: false }), gen, 5)).toMatchObject({ state: 'installed', convergedAt: null });
    expect(applyReport(installed, r({ generation: '000000000000' }), gen, 5)).toMatchObject({ state: 'installed' });
    expect(applyReport(installed, r({ installId: 'i0' }), gen, 5)).toBe(installed);
    const conv = applyReport(installed, r({}), gen, 5);
    expect(conv).toMatchObject({ state: 'converged', convergedAt: 5, report: { installId: 'i1', generation: gen, healthy: true } });
    expect(applyReport(conv, r({}), gen, 9).convergedAt).toBe(5);
    expect(applyReport(conv, r({ healthy: false }), gen, 9)).toMatchObject({ state: 'installed', convergedAt: null });
    expect(applyReport(startInstall(emptyStatus(), 'i1', null, 'bios', 'x'), r({}), gen, 5).state).toBe('failed');
  });

  test('the view lists every defined node without tokens; converged on an older generation is not converged', () => {
    const conv = applyReport(applyProgress(installing, { installId: 'i1', step: 'install:done', ok: true }), { installId: 'i1', generation: gen, healthy: true, checks: [] }, gen, 5);
    const kvs = [
      { key: BK.defs, value: JSON.stringify(defs), createRevision: 1, modRevision: 1, lease: '0' },
      { key: BK.status('bm-w01'), value: JSON.stringify(conv), createRevision: 2, modRevision: 2, lease: '0' },
    ];
    const v = bmView(parseBm(kvs, 2));
    expect(v).toEqual([expect.objectContaining({ id: 'bm-w01', hostname: 'bm-w01', class: 'worker', state: 'converged', installId: 'i1', attempts: 1, generation: gen })]);
    expect(JSON.stringify(v)).not.toContain(sha('tok'));
    expect(JSON.stringify(v)).not.toContain('tokenSha256');
    const stale = { ...conv, report: { ...conv.report!, generation: 'older' } };
    expect(bmView(parseBm([kvs[0], { ...kvs[1], value: JSON.stringify(stale) }], 3))[0].state).toBe('installed');
    expect(bmView(parseBm([kvs[0]], 1))[0]).toMatchObject({ state: 'registered', attempts: 0, installId: null });
  });

  test('the deployers named in a plan: this one first, from the role\'s node list', () => {
    const nodes = 'node01 10.100.0.11 control\nnode02 10.100.0.12 control\nnode04 10.100.0.21 worker\n';
    expect(deployerUrls(nodes, '10.100.0.12', 8070)).toEqual(['http://10.100.0.12:8070', 'http://10.100.0.11:8070']);
    expect(deployerUrls('', '10.100.0.11', 8070)).toEqual(['http://10.100.0.11:8070']);
  });
});

describe('on a real HTTP server (no chainfire needed for these routes)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bm-bundles-'));
  const bytes = crypto.randomBytes(300_000);
  let server: http.Server;
  let base = '';
  beforeAll(async () => {
    fs.writeFileSync(path.join(dir, `${crypto.createHash('sha256').update(bytes).digest('hex')}.tar.zst`), bytes);
    // chainfire at a port nothing listens on: these routes must not need it.
    const ctx = { etcd: new Etcd(['http://127.0.0.1:9']), deployers: () => [], bundleDir: dir, log: () => {} };
    server = http.createServer((req, res) => void handleBm(ctx, req, res));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('the bundle streams whole; an absent one is 404', async () => {
    const want = crypto.createHash('sha256').update(bytes).digest('hex');
    const r = await fetch(`${base}/v1/bm/bundle/${want}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-length')).toBe(String(bytes.length));
    expect(crypto.createHash('sha256').update(Buffer.from(await r.arrayBuffer())).digest('hex')).toBe(want);
    expect((await fetch(`${base}/v1/bm/bundle/${'0'.repeat(64)}`)).status).toBe(404);
    expect((await fetch(`${base}/v1/bm/bundle/..%2f..%2fetc%2fpasswd`)).status).toBe(400);
  });

  test('a body over the limit is 413 (and the client sees it); a body that is not JSON is 400', async () => {
    const big = await fetch(`${base}/v1/bm/phone-home`, { method: 'POST', body: 'x'.repeat(MAX_BODY + 10) });
    expect(big.status).toBe(413);
    expect(await big.json()).toEqual({ error: `body larger than ${MAX_BODY} bytes` });
    expect((await fetch(`${base}/v1/bm/phone-home`, { method: 'POST', body: '{nope' })).status).toBe(400);
    expect((await fetch(`${base}/v1/bm/phone-home`, { method: 'POST', body: '{}' })).status).toBe(400);
  });
});

describe('the agent', () => {
  test('its config file is checked with one-line errors', () => {
    const ok = { nodeId: 'bm-w01', installId: 'i1', token: 't', deployers: ['http://10.100.0.11:8070/'] };
    expect(parseAgentConfig(JSON.stringify(ok))).toEqual({ ...ok, deployers: ['http://10.100.0.11:8070'] });
    expect(() => parseAgentConfig('{', '/etc/x.json')).toThrow(/^\/etc\/x\.json: not JSON/);
    expect(() => parseAgentConfig(JSON.stringify({ ...ok, token: '' }))).toThrow('token: must be a non-empty string');
    expect(() => parseAgentConfig(JSON.stringify({ ...ok, deployers: ['ftp://x'] }))).toThrow('deployers: not an http://host:port URL: "ftp://x"');
  });

  test('a file is rewritten when its content or mode differs', () => {
    const f = { path: '/etc/a', mode: '0600', content: 'x' };
    expect(fileDiffers(undefined, f)).toBe(true);
    expect(fileDiffers({ content: Buffer.from('x'), mode: 0o100600 }, f)).toBe(false);
    expect(fileDiffers({ content: Buffer.from('x'), mode: 0o100644 }, f)).toBe(true);
    expect(fileDiffers({ content: Buffer.from('y'), mode: 0o100600 }, f)).toBe(true);
  });

  test('running units whose unit text names a changed file restart; all units active means one "active" line each', () => {
    const units = [
      { unit: 'etcd.service', active: true, cat: '# /etc/systemd/system/etcd.service\n[Service]\nEnvironmentFile=/etc/default/etcd\n' },
      { unit: 'web.service', active: true, cat: '# /etc/systemd/system/web.service\n' },
      { unit: 'off.service', active: false, cat: '' },
    ];
    expect(unitsToRestart(['/etc/default/etcd'], units)).toEqual(['etcd.service']);
    expect(unitsToRestart(['/etc/systemd/system/web.service'], units)).toEqual(['web.service']);
    expect(unitsToRestart([], units)).toEqual([]);
    expect(allActive('active\nactive\n', 2)).toBe(true);
    expect(allActive('active\ninactive\n', 2)).toBe(false);
    expect(allActive('active\n', 2)).toBe(false);
  });
});
