/**
 * The storage profile (`ULTRACLOUD_PROFILE=storage`, `--profile storage`):
 * upstream's five storage-node01..05, only the roles the storage bench
 * measures, and nothing shared with the default profile's cluster (state
 * dir, host ports, processes), so both can run at once.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, takeProfile } from '../../harness/config.js';
import { UsageError } from '../../harness/errors.js';
import { type HostProcess, clusterProcessKind } from '../../harness/proc.js';
import { readyUnits, rolesFor, withRoles } from '../../harness/stack.js';
import { PROFILES, hostPort } from '../../harness/topology.js';
import { imageRecipe } from '../../harness/image/debian.js';
import { openCluster } from '../../stacks/index.js';
import { PROFILE_ROLES } from '../../stacks/profiles.js';
import { reference } from '../../stacks/reference/index.js';
import { benchNodes } from '../../bench/storage-bench.js';

const storage = PROFILES.storage;
const storageRoles = PROFILE_ROLES.storage;
const env = (extra: Record<string, string>) => ({ HOME: '/home/tester', PHOTON_VM_DIR: '/srv/uc', ...extra }) as NodeJS.ProcessEnv;

describe('the storage profile', () => {
  it('has storage-node01..05: three control nodes and two workers', () => {
    expect(storage.nodes.map((n) => n.name)).toEqual(['storage-node01', 'storage-node02', 'storage-node03', 'storage-node04', 'storage-node05']);
    expect(storage.nodes.map((n) => n.kind)).toEqual(['control', 'control', 'control', 'worker', 'worker']);
  });

  it('gets <state dir>-storage and its own port base', () => {
    const cfg = loadConfig(env({ ULTRACLOUD_PROFILE: 'storage' }));
    expect(cfg.stateDir).toBe('/srv/uc-storage');
    expect(cfg.portBase).toBe(22300);
    expect(loadConfig(env({})).stateDir).toBe('/srv/uc');
  });

  it("forwards no host port the default profile's cluster uses", () => {
    const ports = (p: typeof storage) => p.nodes.flatMap((n) => n.forwards.map((f) => hostPort(p.defaultPortBase, f)));
    const def = ports(PROFILES.default);
    // The default's other forwards (web app demo, bare-metal chassis) sit at base + 41..99.
    const defaultReach = Array.from({ length: 100 }, (_, i) => PROFILES.default.defaultPortBase + i);
    for (const p of ports(storage)) {
      expect(def).not.toContain(p);
      expect(defaultReach).not.toContain(p);
    }
  });

  it("never takes the default cluster's processes for its own, nor the other way round", () => {
    const qemu = (state: string): HostProcess => ({ pid: 1, argv: ['qemu-system-x86_64', '-pidfile', `${state}/node01/qemu.pid`], exe: '/usr/bin/qemu-system-x86_64' });
    expect(clusterProcessKind(qemu('/srv/uc-storage'), '/srv/uc')).toBeUndefined();
    expect(clusterProcessKind(qemu('/srv/uc'), '/srv/uc-storage')).toBeUndefined();
    expect(clusterProcessKind(qemu('/srv/uc-storage'), '/srv/uc-storage')).toBe('qemu');
  });

  it('boots only base, lightningstor and coronafs (in the stack order), the controller export on storage-node01', () => {
    const stack = withRoles(reference, storageRoles);
    expect(stack.roles.map((r) => r.name)).toEqual(['base', 'lightningstor', 'coronafs']);
    const [n1, n2, , n4] = storage.nodes;
    expect(rolesFor(stack, n1).map((r) => r.name)).toEqual(['base', 'lightningstor', 'coronafs']);
    expect(rolesFor(stack, n2).map((r) => r.name)).toEqual(['base', 'lightningstor']);
    expect(rolesFor(stack, n4).map((r) => r.name)).toEqual(['base', 'lightningstor', 'coronafs']);
    expect(stack.bootArgs(n2)).toEqual(['ultracloud.roles=base,lightningstor']);
    expect(readyUnits(stack, n1)).not.toContain('etcd.service');
    // The whole stack is unchanged.
    expect(reference.bootArgs(PROFILES.default.nodes[0])[0]).toMatch(/chainfire/);
  });

  it('refuses a role the stack does not have', () => {
    expect(() => withRoles(reference, ['base', 'nope'])).toThrow(/no role\(s\) nope/);
  });

  it('builds its own image (the hosts file and role nodes differ), not the default one', () => {
    const s = imageRecipe(withRoles(reference, storageRoles), storage.nodes, 'deb x');
    const d = imageRecipe(reference, PROFILES.default.nodes, 'deb x');
    expect(s.hash).not.toBe(d.hash);
    expect(s.description.hosts).toContain('10.100.0.21 storage-node04');
    expect(s.packages).not.toContain('etcd-server');
  });

  it("is the cluster openCluster gives for ULTRACLOUD_PROFILE=storage, and the bench finds its nodes by role", () => {
    const c = openCluster(loadConfig(env({ ULTRACLOUD_PROFILE: 'storage' })));
    expect(c.specs.map((s) => s.name)).toContain('storage-node05');
    expect(c.stack.roles.map((r) => r.name)).toEqual(['base', 'lightningstor', 'coronafs']);
    const bench = { nodes: c.specs.map((s) => ({ name: s.name, kind: s.kind })), node: () => undefined as never, ops: c.stack.ops, accel: async () => ({}) };
    expect(benchNodes(bench)).toEqual(['storage-node01', 'storage-node03', 'storage-node04', 'storage-node05']);
  });
});

describe('--profile', () => {
  it('is taken out of the arguments and set as ULTRACLOUD_PROFILE, in both spellings', () => {
    const e: NodeJS.ProcessEnv = {};
    expect(takeProfile(['bench-storage', '--profile', 'storage', '--quick'], e)).toEqual(['bench-storage', '--quick']);
    expect(e.ULTRACLOUD_PROFILE).toBe('storage');
    const f: NodeJS.ProcessEnv = {};
    expect(takeProfile(['--profile=storage', 'status'], f)).toEqual(['status']);
    expect(f.ULTRACLOUD_PROFILE).toBe('storage');
  });

  it('leaves what follows `--` alone (it belongs to the remote command)', () => {
    const e: NodeJS.ProcessEnv = {};
    expect(takeProfile(['ssh', 'node01', '--', 'tool', '--profile', 'x'], e)).toEqual(['ssh', 'node01', '--', 'tool', '--profile', 'x']);
    expect(e.ULTRACLOUD_PROFILE).toBeUndefined();
  });

  it('needs a name', () => {
    expect(() => takeProfile(['status', '--profile'], {})).toThrow(UsageError);
    expect(() => takeProfile(['status', '--profile', '--quick'], {})).toThrow(/needs a profile name/);
  });

  it('wins over the environment, and a bad name is the config\'s usage error', () => {
    const e: NodeJS.ProcessEnv = { ULTRACLOUD_PROFILE: 'default' };
    takeProfile(['status', '--profile', 'storage'], e);
    expect(e.ULTRACLOUD_PROFILE).toBe('storage');
    const bad: NodeJS.ProcessEnv = { HOME: '/h' };
    takeProfile(['status', '--profile', 'large'], bad);
    expect(() => loadConfig(bad)).toThrow(/ULTRACLOUD_PROFILE='large' is not one of: default, storage/);
  });
});
