/**
 * The deployer's other pure parts: chainfire key layout read back into
 * state, the view (and what it says with no leader), the agent's unit
 * arguments and unit list parsing, config errors, the sampler's lines, and
 * the esbuild bundle (built here, run with bad configuration: exit 2, one line).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { bundleDeployer } from '../../services/deployer/build.js';
import { parseUnits, specHash, unitArgs } from '../../services/deployer/src/agent.js';
import { ConfigError, loadConfig } from '../../services/deployer/src/config.js';
import { b64, prefixEnd, type KeyValue } from '../../services/deployer/src/etcd.js';
import { validateService } from '../../services/deployer/src/schema.js';
import { K, parseState } from '../../services/deployer/src/state.js';
import { buildView } from '../../services/deployer/src/view.js';
import { parseSamples } from '../../stacks/reference/deployer/index.js';

const NOW = 1_000_000;
const kv = (key: string, value: unknown, extra: Partial<KeyValue> = {}): KeyValue => ({ key, value: JSON.stringify(value), createRevision: 5, modRevision: 5, lease: '0', ...extra });
const web = { command: 'exec httpd', health: { command: 'true' }, replicas: 2, port: 8180, placement: { kinds: ['worker'] } };

describe('state in chainfire', () => {
  test('prefixEnd is the key after every key with the prefix', () => {
    expect(Buffer.from(prefixEnd('/a/'), 'base64').toString()).toBe('/a0');
    expect(b64('x')).toBe('eA==');
  });

  test('parseState: services, nodes (alive = lease key, draining), assignments, health, leader', () => {
    const st = parseState(
      [
        kv(K.service('web'), web),
        kv(K.service('bad'), { ...web, replicas: 'x' }),
        kv(K.inventory('node04'), { name: 'node04', kind: 'worker', addr: '10.100.0.21' }),
        kv(K.inventory('node05'), { name: 'node05', kind: 'worker', addr: '10.100.0.22' }),
        kv(K.alive('node04'), { name: 'node04', kind: 'worker', addr: '10.100.0.21' }, { lease: '7' }),
        kv(K.drain('node05'), { at: 1 }),
        kv(K.assign('node04', 'web-0'), { service: 'web', replica: 0, state: 'active' }),
        kv(K.assign('node05', 'web-1'), { service: 'web', replica: 1, state: 'leaving' }),
        kv(K.health('node04', 'web-0'), { healthy: true, at: NOW - 1000, detail: 'ok' }),
        kv(K.leader, { name: 'node02', since: 1 }, { createRevision: 9, lease: '3' }),
      ],
      42,
    );
    expect(st.services.map((s) => s.name)).toEqual(['web']);
    expect(st.invalid).toEqual([{ key: K.service('bad'), error: 'service bad: replicas: must be an integer, got a string' }]);
    expect(st.nodes).toEqual([
      { name: 'node04', kind: 'worker', alive: true, draining: false },
      { name: 'node05', kind: 'worker', alive: false, draining: true },
    ]);
    expect(st.assignments).toEqual([
      { node: 'node04', service: 'web', replica: 0, state: 'active' },
      { node: 'node05', service: 'web', replica: 1, state: 'leaving' },
    ]);
    expect(st.leader).toEqual({ name: 'node02', since: 1, createRevision: 9, lease: '3' });
    const v = buildView(st, NOW);
    expect(v).toMatchObject({ leader: 'node02', reconciling: true, revision: 42 });
    expect(v.services[0]).toMatchObject({ name: 'web', replicas: 2, placed: 1, healthy: 1, leaving: 1, nodes: { node04: 1 } });
    expect(v.nodes[0].instances).toEqual([{ instance: 'web-0', state: 'active', healthy: true, detail: 'ok' }]);
  });

  test('with no leader key the view says reconciliation stopped', () => {
    const v = buildView(parseState([kv(K.service('web'), web)], 1), NOW);
    expect(v.reconciling).toBe(false);
    expect(v.leader).toBeNull();
    expect(v.reason).toMatch(/reconciliation stopped/);
  });
});

describe('agent', () => {
  const def = validateService('hello-web', web);
  const inst = { instance: 'hello-web-1', def, replica: 1 };

  test('an instance is a transient unit with its environment (PORT = port + replica), restarted, collected', () => {
    const args = unitArgs(inst, { node: 'node04', addr: '10.100.0.21' });
    expect(args).toContain('--unit=uc-svc-hello-web-1');
    expect(args).toContain('--collect');
    expect(args).toContain('Restart=always');
    expect(args).toContain('--setenv=PORT=8181');
    expect(args).toContain('--setenv=ADDR=10.100.0.21');
    expect(args).toContain('--setenv=STATE=/run/uc-svc-hello-web-1');
    expect(args.slice(-3)).toEqual(['/bin/sh', '-c', 'exec httpd']);
    expect(args).toContain(`--description=ultracloud service hello-web-1 [${specHash(inst)}]`);
  });

  test('a changed command changes the spec hash (the unit is restarted)', () => {
    expect(specHash({ ...inst, def: { ...def, command: 'exec other' } })).not.toBe(specHash(inst));
  });

  test('parseUnits reads systemctl list-units lines', () => {
    const text = 'uc-svc-hello-web-0.service loaded active running ultracloud service hello-web-0 [0123abcd4567]\nuc-svc-ticker-0.service loaded failed failed ultracloud service ticker-0 [89ab]\nssh.service loaded active running OpenBSD\n';
    expect([...parseUnits(text)]).toEqual([
      ['hello-web-0', { active: 'active', hash: '0123abcd4567' }],
      ['ticker-0', { active: 'failed', hash: '89ab' }],
    ]);
  });
});

describe('config', () => {
  const env = { DEPLOYER_ETCD: 'http://10.100.0.11:2379,http://10.100.0.12:2379', DEPLOYER_NODE: 'node01' };
  test('defaults and errors', () => {
    expect(loadConfig(env)).toMatchObject({ kind: 'control', listen: { host: '0.0.0.0', port: 8070 }, leaseTtlS: 10 });
    expect(() => loadConfig({ ...env, DEPLOYER_ETCD: '' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...env, DEPLOYER_ETCD: '10.0.0.1:2379' })).toThrow('DEPLOYER_ETCD: not an http://host:port URL: 10.0.0.1:2379');
    expect(() => loadConfig({ ...env, DEPLOYER_KIND: 'gpu' })).toThrow('DEPLOYER_KIND: unknown kind gpu');
  });
});

describe('sampler', () => {
  test('lines to samples, sorted by time; a line with no answer is a failed sample', () => {
    const text = `2000 {"at":1,"leader":"node01","services":[{"name":"web","replicas":2,"healthy":2,"placed":2,"leaving":0,"nodes":{"node04":1}}]}\n1000 \n`;
    expect(parseSamples(text)).toEqual([
      { at: 1000, leader: null, services: [], error: 'no answer from the deployer' },
      { at: 2000, leader: 'node01', services: [{ name: 'web', replicas: 2, healthy: 2, placed: 2, leaving: 0, nodes: { node04: 1 } }] },
    ]);
  });
});

describe('bundle', () => {
  test('esbuild bundles it into one file for Node 18; bad configuration exits 2 with one line', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deployer-bundle-'));
    try {
      const out = path.join(dir, 'deployer.js');
      await bundleDeployer(out);
      const code = fs.readFileSync(out, 'utf8');
      expect(code).not.toMatch(/require\("(?!node:|http|crypto|child_process|fs|os|path|url)[^"]+"\)/);
      const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
        execFile(process.execPath, [out, 'agent'], { env: { PATH: process.env.PATH } }, (err, _o, stderr) => resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stderr }));
      });
      expect(r).toEqual({ code: 2, stderr: 'DEPLOYER_ETCD is not set\n' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
