import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostsFile, imageRecipe } from '../../harness/image/debian.js';
import type { Role, Stack } from '../../harness/stack.js';
import { PROFILES, type NodeSpec } from '../../harness/topology.js';

const SOURCES = 'Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\n';
const nodes = PROFILES.default.nodes;

let dir: string;
let filesDir: string;
let script: string;

function role(over: Partial<Role> = {}, image: Partial<Role['image']> = {}): Role {
  return {
    name: 'fake',
    description: 'a fake role for recipe tests',
    hostedOn: () => true,
    units: ['fake.service'],
    ...over,
    image: { packages: ['openssh-server', 'iproute2'], filesDir, customizeScript: script, maskUnits: ['x.timer'], ...image },
  };
}

function stack(roles: Role[] = [role()], over: Partial<Stack> = {}): Stack {
  return { name: 'fake', suite: 'bookworm', roles, ops: {}, secrets: [], bootArgs: () => [], ...over };
}

const hash = (s: Stack = stack(), ns: NodeSpec[] = nodes, sources = SOURCES) => imageRecipe(s, ns, sources).hash;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-recipe-'));
  filesDir = path.join(dir, 'files');
  fs.mkdirSync(path.join(filesDir, 'etc', 'fake'), { recursive: true });
  fs.writeFileSync(path.join(filesDir, 'etc', 'fake', 'fake.conf'), 'answer=42\n');
  fs.writeFileSync(path.join(filesDir, 'etc', 'motd'), 'hello\n');
  script = path.join(dir, 'customize.sh');
  fs.writeFileSync(script, 'echo customize\n');
});

afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('imageRecipe', () => {
  it('is deterministic: the same inputs give the same hash and description', () => {
    const a = imageRecipe(stack(), nodes, SOURCES);
    const b = imageRecipe(stack(), nodes, SOURCES);
    expect(a.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(b.hash).toBe(a.hash);
    expect(b.description).toEqual(a.description);
  });

  it('does not depend on package order or duplicates, and returns them sorted and unique', () => {
    const r1 = role({}, { packages: ['zstd', 'iproute2', 'zstd'] });
    const r2 = role({ name: 'other' }, { packages: ['iproute2', 'busybox-static'] });
    const r = imageRecipe(stack([r1, r2]), nodes, SOURCES);
    expect(r.packages).toEqual(['busybox-static', 'iproute2', 'zstd']);
    const reordered = imageRecipe(stack([role({}, { packages: ['iproute2', 'zstd'] }), role({ name: 'other' }, { packages: ['busybox-static'] })]), nodes, SOURCES);
    expect(reordered.packages).toEqual(r.packages);
    expect(reordered.hash).toBe(r.hash);
  });

  it('returns the sources it was given', () => {
    expect(imageRecipe(stack(), nodes, SOURCES).sources).toBe(SOURCES);
  });

  it('changes when a package is added or removed', () => {
    const before = hash();
    expect(hash(stack([role({}, { packages: ['openssh-server', 'iproute2', 'curl'] })]))).not.toBe(before);
    expect(hash(stack([role({}, { packages: ['openssh-server'] })]))).not.toBe(before);
  });

  it('changes with the apt sources text', () => {
    expect(hash(stack(), nodes, SOURCES.replace('mirror.example', 'other-mirror.example'))).not.toBe(hash());
    expect(hash(stack(), nodes, `${SOURCES}\nSigned-By: /k.gpg\n`)).not.toBe(hash());
  });

  it("changes with a file's content in a role's filesDir", () => {
    const before = hash();
    fs.writeFileSync(path.join(filesDir, 'etc', 'fake', 'fake.conf'), 'answer=43\n');
    const after = hash();
    expect(after).not.toBe(before);
    fs.writeFileSync(path.join(filesDir, 'etc', 'fake', 'fake.conf'), 'answer=42\n');
    expect(hash()).toBe(before);
  });

  it("changes when a file is added to, renamed in or re-permissioned in a role's filesDir", () => {
    const before = hash();
    fs.writeFileSync(path.join(filesDir, 'etc', 'new.conf'), '');
    const added = hash();
    expect(added).not.toBe(before);
    fs.renameSync(path.join(filesDir, 'etc', 'new.conf'), path.join(filesDir, 'etc', 'renamed.conf'));
    const renamed = hash();
    expect(renamed).not.toBe(added);
    fs.chmodSync(path.join(filesDir, 'etc', 'renamed.conf'), 0o755);
    expect(hash()).not.toBe(renamed);
  });

  it('changes with the customize script', () => {
    const before = hash();
    fs.writeFileSync(script, 'echo customize differently\n');
    expect(hash()).not.toBe(before);
  });

  it('changes with units, masked or disabled units, role and stack identity', () => {
    const before = hash();
    expect(hash(stack([role({ units: ['other.service'] })]))).not.toBe(before);
    expect(hash(stack([role({}, { maskUnits: [] })]))).not.toBe(before);
    expect(hash(stack([role({}, { disableUnits: ['y.service'] })]))).not.toBe(before);
    expect(hash(stack([role({ name: 'renamed' })]))).not.toBe(before);
    expect(hash(stack([role()], { suite: 'trixie' }))).not.toBe(before);
    expect(hash(stack([role()], { name: 'other' }))).not.toBe(before);
  });

  it('does not depend on role descriptions', () => {
    expect(hash(stack([role({ description: 'changed' })]))).toBe(hash());
  });

  it('changes with the nodes that host a role (baked into its .nodes file)', () => {
    expect(hash(stack([role({ hostedOn: (n) => n.name === 'node01' })]))).not.toBe(hash());
  });

  it('changes with the topology (the /etc/hosts it bakes in)', () => {
    const before = hash();
    const moved = nodes.map((n) => (n.name === 'node04' ? { ...n, clusterIp: '10.100.0.99' } : n));
    expect(hash(stack(), moved)).not.toBe(before);
    expect(hash(stack(), nodes.slice(0, 5))).not.toBe(before);
    expect(imageRecipe(stack(), moved, SOURCES).description.hosts).toBe(hostsFile(moved));
  });

  it('works for a role without files or customize script', () => {
    const bare = stack([role({}, { filesDir: undefined, customizeScript: undefined })]);
    const r = imageRecipe(bare, nodes, SOURCES);
    expect(r.hash).toMatch(/^[0-9a-f]{16}$/);
    expect(r.hash).not.toBe(hash());
  });
});

describe('hostsFile', () => {
  it('maps every node name to its cluster IP after the localhost lines', () => {
    expect(hostsFile(nodes)).toBe(
      [
        '127.0.0.1 localhost',
        '::1 localhost ip6-localhost ip6-loopback',
        '10.100.0.11 node01',
        '10.100.0.12 node02',
        '10.100.0.13 node03',
        '10.100.0.21 node04',
        '10.100.0.22 node05',
        '10.100.0.31 node06',
        '',
      ].join('\n'),
    );
  });
});

describe('per-node units and generated files in the recipe', () => {
  it('changes when a role runs other units on one node kind', () => {
    const a = role({ units: (n) => (n.kind === 'worker' ? ['w.service'] : ['c.service']) });
    const b = role({ units: (n) => (n.kind === 'worker' ? ['w2.service'] : ['c.service']) });
    expect(hash(stack([a]))).not.toBe(hash(stack([b])));
  });

  it('changes when an input of generated files changes', () => {
    const input = path.join(dir, 'gen-input.ts');
    fs.writeFileSync(input, 'export const v = 1;\n');
    const r = role({}, { generated: { inputs: [input], build: async () => undefined } });
    const before = hash(stack([r]));
    fs.writeFileSync(input, 'export const v = 2;\n');
    expect(hash(stack([r]))).not.toBe(before);
  });
});
