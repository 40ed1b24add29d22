/**
 * The nix image backend's pure parts (harness/image/nix.ts) and the
 * ultracloud stack's wiring: the host checks that stop a start in one line
 * before anything is written, the one `nix build` argument list, the image
 * manifest, and nix/topology.nix agreeing with harness/topology.ts and the
 * stack's roles.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { PROJECT_ROOT } from '../../harness/config.js';
import { HostError } from '../../harness/errors.js';
import { type NixHost, type NixImageOptions, lastLine, localFlakePath, lockedInput, nixBuildArgs, parseNixVersion, preflight, readManifest } from '../../harness/image/nix.js';
import { which } from '../../harness/host.js';
import { rolesFor } from '../../harness/stack.js';
import { PROFILES } from '../../harness/topology.js';
import { loadStack } from '../../stacks/index.js';
import { UnsupportedOpError } from '../../stacks/ultracloud/surfaces.js';

const O: NixImageOptions = { stack: 'ultracloud', flakeDir: '/src/harness', attr: 'cluster-images', input: 'ultracloud', recipeInputs: ['flake.nix', 'flake.lock', 'nix'] };

function host(over: Partial<NixHost> = {}): NixHost {
  return {
    nixPath: () => '/usr/bin/nix',
    nixVersion: () => 'nix (Nix) 2.8.0',
    flakeRef: undefined,
    prebuilt: undefined,
    isRoot: true,
    exists: () => true,
    canWrite: () => true,
    readFile: () => undefined,
    ...over,
  };
}

/** The HostError preflight throws: one line, nothing else. */
function refusal(h: NixHost): string {
  try {
    preflight(O, h);
  } catch (e) {
    expect(e).toBeInstanceOf(HostError);
    const msg = (e as Error).message;
    expect(msg).not.toContain('\n');
    return msg;
  }
  throw new Error('preflight passed');
}

const LOCK = (original: Record<string, unknown>) =>
  JSON.stringify({
    root: 'root',
    version: 7,
    nodes: {
      root: { inputs: { nixpkgs: 'nixpkgs', ultracloud: 'ultracloud' } },
      nixpkgs: { locked: { type: 'github', owner: 'NixOS', repo: 'nixpkgs', rev: 'abc' }, original: { type: 'github', owner: 'NixOS', repo: 'nixpkgs' } },
      ultracloud: { locked: { ...original, narHash: 'sha256-x' }, original },
    },
  });

describe('preflight: what is missing, in one line, before anything is written', () => {
  test('no nix on the host', () => {
    expect(refusal(host({ nixPath: () => undefined }))).toMatch(/nix is not installed on this host .*apt-get install nix-bin.*ULTRACLOUD_STACK=reference/);
  });
  test('a nix without flakes', () => {
    expect(refusal(host({ nixVersion: () => 'nix-env (Nix) 2.3.16' }))).toMatch(/needs flakes \(nix >= 2\.4\); this host has nix 2\.3/);
  });
  test('a nix that does not run', () => {
    expect(refusal(host({ nixVersion: () => undefined }))).toMatch(/`nix --version` does not run here/);
  });
  test('neither store access nor a daemon', () => {
    expect(refusal(host({ isRoot: false, exists: () => false, canWrite: () => false }))).toMatch(/can neither write \/nix\/store nor reach a nix daemon/);
  });
  test('no UltraCloud flake: neither ULTRACLOUD_FLAKE nor a locked input', () => {
    expect(refusal(host())).toMatch(/none is given: set ULTRACLOUD_FLAKE .*--override-input ultracloud <ref>/);
  });
  test('the placeholder locked in flake.lock is no UltraCloud flake', () => {
    const lock = LOCK({ type: 'path', path: './nix/ultracloud-unset' });
    expect(refusal(host({ readFile: () => lock }))).toMatch(/none is given/);
  });
  test('a locked UltraCloud input is enough', () => {
    const lock = LOCK({ type: 'git', url: 'file:///src/ultracloud' });
    expect(preflight(O, host({ readFile: () => lock }))).toEqual({});
  });
  test('ULTRACLOUD_FLAKE naming a local folder without flake.nix', () => {
    expect(refusal(host({ flakeRef: '/src/ultracloud', exists: (p) => !p.endsWith('flake.nix') }))).toBe(
      'ULTRACLOUD_FLAKE=/src/ultracloud names no flake: /src/ultracloud/flake.nix does not exist',
    );
  });
  test('ULTRACLOUD_FLAKE given: it is the override', () => {
    expect(preflight(O, host({ flakeRef: 'path:/src/ultracloud' }))).toEqual({ flakeRef: 'path:/src/ultracloud' });
    expect(preflight(O, host({ flakeRef: 'git+ssh://example.invalid/ultracloud' }))).toEqual({ flakeRef: 'git+ssh://example.invalid/ultracloud' });
  });
  test('prebuilt images skip nix altogether, but must have a manifest', () => {
    expect(preflight(O, host({ nixPath: () => undefined, prebuilt: '/nix/store/x-ultracloud-cluster-images' }))).toEqual({ prebuilt: '/nix/store/x-ultracloud-cluster-images' });
    expect(refusal(host({ prebuilt: '/tmp/none', exists: () => false }))).toBe('ULTRACLOUD_NIX_IMAGES=/tmp/none is no cluster-images output: /tmp/none/manifest.json does not exist');
  });
});

describe('nix build arguments', () => {
  test('flakes on, the out-link, the attribute of the project flake', () => {
    expect(nixBuildArgs(O, '/cache/images/ultracloud-abc/result', undefined)).toEqual([
      '--extra-experimental-features', 'nix-command flakes', 'build', '--out-link', '/cache/images/ultracloud-abc/result', '/src/harness#packages.x86_64-linux.cluster-images',
    ]);
  });
  test('the UltraCloud reference becomes --override-input; verbose prints build logs', () => {
    const a = nixBuildArgs(O, '/r', 'path:/src/ultracloud', true);
    expect(a).toContain('--print-build-logs');
    expect(a.slice(a.indexOf('--override-input'), a.indexOf('--override-input') + 3)).toEqual(['--override-input', 'ultracloud', 'path:/src/ultracloud']);
    expect(a.at(-1)).toBe('/src/harness#packages.x86_64-linux.cluster-images');
  });
});

describe('parts', () => {
  test('nix versions', () => {
    expect(parseNixVersion('nix (Nix) 2.8.0')).toEqual([2, 8]);
    expect(parseNixVersion('nix (Nix) 2.24.10')).toEqual([2, 24]);
    expect(parseNixVersion('garbage')).toBeUndefined();
  });
  test('local flake references', () => {
    expect(localFlakePath('/a/b', '/x')).toBe('/a/b');
    expect(localFlakePath('../uc', '/x/y')).toBe('/x/uc');
    expect(localFlakePath('path:/a?dir=z', '/x')).toBe('/a');
    expect(localFlakePath('git+file:///a/b', '/x')).toBe('/a/b');
    expect(localFlakePath('github:org/repo', '/x')).toBeUndefined();
  });
  test('lockedInput reads the root input, not a transitive one', () => {
    expect(lockedInput(LOCK({ type: 'git', url: 'file:///u' }), 'ultracloud')?.locked).toMatchObject({ url: 'file:///u' });
    expect(lockedInput(LOCK({ type: 'git', url: 'file:///u' }), 'other')).toBeUndefined();
    expect(lockedInput('not json', 'ultracloud')).toBeUndefined();
  });
  test('lastLine', () => {
    expect(lastLine('a\n  error: b  \n\n')).toBe('error: b');
  });
});

describe('manifest', () => {
  const nodes = PROFILES.default.nodes;
  const entry = (n: string) => ({ disk: `/s/${n}/nixos.qcow2`, kernel: `/s/k-${n}/bzImage`, initrd: `/s/i-${n}/initrd`, init: `/s/sys-${n}/init`, kernelParams: ['console=ttyS0,115200'] });
  const full = { format: 1, probeInitrd: '/s/probe/initrd', nodes: Object.fromEntries(nodes.map((n) => [n.name, entry(n.name)])) };
  test('per-node boot parts, init= first', () => {
    const m = readManifest(JSON.stringify(full), nodes, () => true);
    expect(m.probeInitrd).toBe('/s/probe/initrd');
    expect(m.nodes.node04).toEqual({ disk: '/s/node04/nixos.qcow2', kernel: '/s/k-node04/bzImage', initrd: '/s/i-node04/initrd', append: ['init=/s/sys-node04/init', 'console=ttyS0,115200'] });
  });
  test('a missing node, a missing file, another format', () => {
    const { node06: _, ...five } = full.nodes;
    expect(() => readManifest(JSON.stringify({ ...full, nodes: five }), nodes, () => true)).toThrow(/no image for node06/);
    expect(() => readManifest(JSON.stringify(full), nodes, (p) => p !== '/s/i-node02/initrd')).toThrow(/names \/s\/i-node02\/initrd for node02, which does not exist/);
    expect(() => readManifest(JSON.stringify({ ...full, format: 2 }), nodes, () => true)).toThrow(/format 2/);
  });
});

describe('the ultracloud stack', () => {
  const uc = loadStack('ultracloud');
  test('builds its images with nix, the documented units', () => {
    expect(uc.imageBackend?.kind).toBe('nix');
    const node01 = PROFILES.default.nodes[0];
    expect(rolesFor(uc, node01).map((r) => r.name)).toContain('chainfire');
  });
  test('an operation without a documented surface fails naming what it needs', async () => {
    await expect(uc.ops.flaredb.set({} as never, 'k', 'v')).rejects.toBeInstanceOf(UnsupportedOpError);
    await expect(uc.ops.iam.issueToken({} as never)).rejects.toThrow(/iam\.issueToken is not implemented: it needs iam's user and token API/);
    expect(uc.ops.chainfire.timing.newLeaderS).toBeGreaterThan(0);
  });
  test("chainfire, documented as etcd-like, is driven over etcd v3 with etcdctl on the node itself", async () => {
    const ran: string[] = [];
    const node = { name: 'node01', succeed: async (cmd: string) => (ran.push(cmd), cmd.includes(' get ') ? 'v1\n' : '') };
    await uc.ops.chainfire.put(node as never, 'k1', 'v1');
    expect(await uc.ops.chainfire.get(node as never, 'k1')).toBe('v1');
    expect(ran).toEqual([
      expect.stringMatching(/^ETCDCTL_API=3 etcdctl --endpoints=http:\/\/127\.0\.0\.1:2379 .* put k1 v1$/),
      expect.stringMatching(/etcdctl .* get k1 --print-value-only --consistency=l$/),
    ]);
  });

  const nixInstantiate = which('nix-instantiate');
  test.skipIf(!nixInstantiate)('nix/topology.nix agrees with harness/topology.ts, the stack roles and its gateway forwards', () => {
    const out = execFileSync('nix-instantiate', ['--eval', '--strict', '--json', path.join(PROJECT_ROOT, 'nix/topology.nix')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const topo = JSON.parse(out) as { nodes: Record<string, { name: string; index: number; kind: string; clusterIp: string; clusterPrefix: number; clusterMac: string; mgmtMac: string; memoryMiB: number; roles: string[] }>; gatewayPorts: Record<string, number> };
    const specs = PROFILES.default.nodes;
    expect(Object.keys(topo.nodes).sort()).toEqual(specs.map((s) => s.name).sort());
    for (const s of specs) {
      const n = topo.nodes[s.name];
      expect({ name: n.name, index: n.index, kind: n.kind, clusterIp: n.clusterIp, clusterPrefix: n.clusterPrefix, clusterMac: n.clusterMac, mgmtMac: n.mgmtMac, memoryMiB: n.memoryMiB }).toEqual({
        name: s.name, index: s.index, kind: s.kind, clusterIp: s.clusterIp, clusterPrefix: s.clusterPrefix, clusterMac: s.clusterMac, mgmtMac: s.mgmtMac, memoryMiB: s.memoryMiB,
      });
      expect([...n.roles].sort()).toEqual(rolesFor(uc, s).map((r) => r.name).sort());
    }
    expect(Object.fromEntries((uc.forwards?.gateway ?? []).map((f) => [f.name, f.guestPort]))).toEqual(topo.gatewayPorts);
  });
});
