/**
 * Bare-metal definitions (docs/baremetal-iso.md): the document `deployerctl
 * bm-seed` takes is validated with one-line errors naming the field; a
 * node's desired system is its class's system with its override, and its
 * generation changes exactly when that merged system does.
 */
import { describe, expect, test } from 'vitest';
import { BmDefinitionError, desiredSystem, validateBmDefs } from '../../services/deployer/src/baremetal/schema.js';
import { systemAndDataDisks } from './helpers/bm-disks.js';

const TOKEN_SHA = 'a'.repeat(64);
const sampleDefs = () => ({
  bundle: { sha256: 'b'.repeat(64), bytes: 1234 },
  systems: {
    'control-plane': {
      units: ['etcd.service'],
      files: [{ path: '/etc/default/etcd', mode: '0644', content: 'A=1\n' }],
      checks: [{ name: 'etcd', unit: 'etcd.service' }, { name: 'etcd-health', exec: 'etcdctl endpoint health' }],
    },
  },
  classes: {
    'control-plane': {
      system: 'control-plane',
      disks: systemAndDataDisks(),
    },
  },
  nodes: {
    'bm-cp01': {
      class: 'control-plane',
      hostname: 'bm-cp01',
      tokenSha256: TOKEN_SHA,
      mac: '52:54:00:AB:CD:01',
      address: '10.100.0.41/24',
      sshAuthorizedKeys: ['ssh-ed25519 AAAA test'],
      override: { files: [{ path: '/etc/default/etcd', mode: '0600', content: 'A=2\n' }, { path: '/etc/extra', content: 'x' }], units: ['extra.service', 'etcd.service'] },
    },
  } as Record<string, unknown>,
});

const bad = (mutate: (d: ReturnType<typeof sampleDefs>) => void) => {
  const d = sampleDefs();
  mutate(d);
  return () => validateBmDefs(d);
};

describe('bm definitions', () => {
  test('the contract sample validates, with defaults filled in and the MAC lower-cased', () => {
    const d = validateBmDefs(sampleDefs());
    expect(d.nodes['bm-cp01'].mac).toBe('52:54:00:ab:cd:01');
    expect(d.nodes['bm-cp01'].override.files![1]).toEqual({ path: '/etc/extra', mode: '0644', content: 'x' });
    expect(d.classes['control-plane'].disks[1].select).toEqual({ sizeGiB: { min: 1, max: 3 } });
  });

  test('an empty document is valid: nothing defined', () => {
    expect(validateBmDefs({})).toEqual({ bundle: null, systems: {}, classes: {}, nodes: {} });
  });

  test('bad documents are one line naming the field', () => {
    expect(bad((d) => (d.classes['control-plane'].system = 'nope'))).toThrow('bm: classes.control-plane.system: unknown system "nope" (known: control-plane)');
    expect(bad((d) => ((d.nodes['bm-cp01'] as { class: string }).class = 'worker'))).toThrow('bm: nodes.bm-cp01.class: unknown class "worker" (known: control-plane)');
    expect(bad((d) => (d.classes['control-plane'].disks[0].partitions[0] as { sizeMiB?: number }).sizeMiB = -1)).toThrow(
      'bm: classes.control-plane.disks[0].partitions[0].sizeMiB: must be an integer between 1 and 16777216, got -1',
    );
    expect(bad((d) => delete (d.classes['control-plane'].disks[0].partitions[1] as { sizeMiB?: number }).sizeMiB)).toThrow(
      'classes.control-plane.disks[0].partitions[1].sizeMiB: missing (only the last partition of a disk may take the rest)',
    );
    expect(bad((d) => ((d.classes['control-plane'].disks[0].select as unknown) = { serial: 'A', sizeGiB: { min: 1 } }))).toThrow('select: needs exactly one of');
    expect(bad((d) => ((d.classes['control-plane'].disks[1].partitions[0] as { mount: string }).mount = '/'))).toThrow('mount: / is also root\'s mount point');
    expect(bad((d) => ((d.classes['control-plane'].disks[0].partitions[2] as { mount: string }).mount = '/srv'))).toThrow('classes.control-plane.disks: no partition mounts "/"');
    expect(bad((d) => ((d.classes['control-plane'].disks[0].partitions[1] as { format: string }).format = 'ext4'))).toThrow('partitions[1].format: an esp must be vfat');
    expect(bad((d) => ((d.classes['control-plane'].disks[0].partitions[0] as { mount?: string }).mount = '/x'))).toThrow('partitions[0]: a bios boot partition has no format or mount');
    expect(bad((d) => ((d.classes['control-plane'].disks[1].partitions[0] as { mount: string }).mount = '/var/../etc'))).toThrow('mount: "/var/../etc": no . or .. segments');
    expect(bad((d) => ((d.nodes['bm-cp01'] as { tokenSha256: string }).tokenSha256 = 'secret'))).toThrow('bm: nodes.bm-cp01.tokenSha256: "secret" is not a sha256');
    expect(bad((d) => ((d.nodes['bm-cp01'] as { address: string }).address = '10.100.0.300/24'))).toThrow('nodes.bm-cp01.address');
    expect(bad((d) => ((d.systems['control-plane'].files[0] as { mode: string }).mode = 'rw'))).toThrow('systems.control-plane.files[0].mode: "rw" is not an octal mode');
    expect(bad((d) => ((d.systems['control-plane'].checks[0] as { exec?: string }).exec = 'true'))).toThrow('systems.control-plane.checks[0]: needs exactly one of "unit" or "exec"');
    expect(bad((d) => ((d.systems['control-plane'].units[0] as string) = 'etcd; rm -rf /'))).toThrow('systems.control-plane.units[0]');
    expect(bad((d) => ((d as { bundle: unknown }).bundle = undefined))).toThrow('bm: bundle: missing (required when nodes are defined)');
    expect(bad((d) => ((d as Record<string, unknown>).extra = 1))).toThrow('bm: extra: unknown field');
    expect(bad((d) => (d.nodes['bm-cp02'] = { ...(d.nodes['bm-cp01'] as object), hostname: 'bm-cp02', tokenSha256: 'c'.repeat(64), address: '10.100.0.42/24' }))).toThrow(
      'bm: nodes.bm-cp02.mac: same as node bm-cp01\'s',
    );
    expect(bad(() => {})).not.toThrow();
    try {
      bad((d) => (d.classes['control-plane'].system = 'nope'))();
    } catch (e) {
      expect(e).toBeInstanceOf(BmDefinitionError);
      expect((e as Error).message).not.toContain('\n');
    }
  });

  test('desired system: the class system with the override (files by path, units once); generation follows the merged JSON', () => {
    const d = validateBmDefs(sampleDefs());
    const s = desiredSystem(d, 'bm-cp01');
    expect(s.system).toBe('control-plane');
    expect(s.units).toEqual(['etcd.service', 'extra.service']);
    expect(s.files).toEqual([
      { path: '/etc/default/etcd', mode: '0600', content: 'A=2\n' },
      { path: '/etc/extra', mode: '0644', content: 'x' },
    ]);
    expect(s.checks.map((c) => c.name)).toEqual(['etcd', 'etcd-health']);
    expect(s.generation).toMatch(/^[0-9a-f]{12}$/);
    expect(desiredSystem(validateBmDefs(sampleDefs()), 'bm-cp01').generation).toBe(s.generation);
    const changed = sampleDefs();
    changed.systems['control-plane'].checks[1] = { name: 'etcd-health', exec: 'true' };
    expect(desiredSystem(validateBmDefs(changed), 'bm-cp01').generation).not.toBe(s.generation);
    // A change elsewhere (the bundle, the disks) is not a change of the desired system.
    const other = sampleDefs();
    other.bundle.bytes = 99;
    expect(desiredSystem(validateBmDefs(other), 'bm-cp01').generation).toBe(s.generation);
  });
});
