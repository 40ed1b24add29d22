import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../harness/cluster.js';
import { loadConfig } from '../../harness/config.js';
import { QemuVm } from '../../harness/vm/qemu.js';
import { type Role, defineStack, secretsFor } from '../../harness/stack.js';
import { PROFILES } from '../../harness/topology.js';
import type { StackOps } from '../../stacks/contracts.js';
import { reference } from '../../stacks/reference/index.js';
import { layerRank } from '../layer-order.js';

const nodes = PROFILES.default.nodes;
const byName = (n: string) => nodes.find((s) => s.name === n)!;

describe('stack secrets', () => {
  it('the signing key goes only to iam nodes; the cluster secret to nodes whose roles read it', () => {
    const got = Object.fromEntries(nodes.map((n) => [n.name, secretsFor(reference, n).map((s) => s.name).sort()]));
    expect(got).toEqual({
      node01: ['secret', 'signing-key.der'],
      node02: ['secret', 'signing-key.der'],
      node03: ['secret', 'signing-key.der'],
      node04: ['secret'], // lightningstor's Swift hash path suffix
      node05: ['secret'],
      node06: ['secret'], // apigateway, creditservice
    });
  });

  it('a stack whose role names an unknown secret, or lacks a role`s ops, is refused', () => {
    const r: Role = { name: 'x', description: 'x', hostedOn: () => true, units: [], image: { packages: [] }, secrets: ['nope'] };
    expect(() => defineStack({ name: 's', suite: 'bookworm', roles: [r], secrets: [], opsKeys: [] })).toThrow(/unknown secret/);
    const r2: Role = { ...r, secrets: [] };
    expect(() => defineStack<{ x: unknown }>({ name: 's', suite: 'bookworm', roles: [r2], secrets: [], opsKeys: ['x'] })).toThrow(/no role declares ops for x/);
  });

  it('the reference stack gathers every role`s ops in one object', () => {
    const keys: (keyof StackOps)[] = ['iam', 'chainfire', 'flaredb', 'flashdns', 'fiberlb', 'prismnet', 'plasmavmc', 'coronafs', 'k8shost', 'lightningstor'];
    for (const k of keys) expect(reference.ops[k], k).toBeDefined();
  });
});

describe('secrets never on a command line', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-secrets-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('argv and the kernel command line carry secret paths, never their content', () => {
    const cfg = { ...loadConfig({ HOME: dir }), stateDir: path.join(dir, 'state'), cacheDir: path.join(dir, 'cache') };
    const cluster = new Cluster(cfg, reference);
    fs.mkdirSync(cluster.secretsDir, { recursive: true });
    const contents = { secret: 'f00dfeedf00dfeedf00dfeedf00dfeed', 'signing-key.der': 'SIGNINGKEYBYTES' };
    for (const [n, c] of Object.entries(contents)) fs.writeFileSync(path.join(cluster.secretsDir, n), c);
    fs.mkdirSync(path.dirname(cluster.keyPath), { recursive: true });
    fs.writeFileSync(`${cluster.keyPath}.pub`, 'ssh-ed25519 AAAAC3Nza test\n');
    const rt = {
      profile: 'default', stack: 'reference', accel: 'tcg' as const, accelReason: 'test', portBase: 22200, startedAt: '',
      image: { dir: '/i', disk: '/i/disk.qcow2', kernel: '/i/vmlinuz', initrd: '/i/initrd.img', probeInitrd: '/i/p', hash: 'h', stack: 'reference', builtAt: '', buildSeconds: 0 },
    };
    for (const n of ['node01', 'node04']) {
      const spec = cluster.bootSpec(byName(n), rt as never);
      const argv = new QemuVm(n, path.join(dir, n)).args(spec).join(' ');
      for (const c of Object.values(contents)) {
        expect(argv, `${n} argv`).not.toContain(c);
        expect(spec.append, `${n} kernel command line`).not.toContain(c);
      }
      expect(argv).toContain(`-fw_cfg name=opt/ultracloud/secret,file=${path.join(cluster.secretsDir, 'secret')}`);
      if (n === 'node04') expect(argv).not.toContain('signing-key.der');
      else expect(argv).toContain(`name=opt/ultracloud/signing-key.der,file=`);
      expect(spec.append).toContain('ultracloud.roles=');
    }
  });
});

describe('layer order', () => {
  it('a cluster layer file missing from the order is an error, not last', () => {
    expect(layerRank('/p/tests/smoke/boot.test.ts')).toBe(0);
    expect(() => layerRank('/p/tests/smoke/new-thing.test.ts')).toThrow(/not in LAYER_ORDER/);
    expect(layerRank('/p/tests/unit/x.test.ts')).toBe(-1);
    expect(layerRank('/p/tests/matrix/gateway-flows.test.ts')).toBe(0);
    expect(layerRank('/p/tests/matrix/vm-hosting.test.ts')).toBeGreaterThan(layerRank('/p/tests/matrix/dns-lb-net.test.ts'));
    expect(() => layerRank('/p/tests/matrix/new-thing.test.ts')).toThrow(/not in LAYER_ORDER\.matrix/);
  });
});
