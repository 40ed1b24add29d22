/**
 * The install plan's disks (Disko-like, services/deployer/src/baremetal/disko.ts):
 * selectors by serial or size resolve to exactly one reported disk or fail
 * with every disk listed, before any script exists; the rendered script is
 * POSIX sh (checked by dash -n) that wipes, partitions with sfdisk, waits
 * for the partitions, makes the filesystems with the UUIDs the plan names
 * and mounts "/" first; fstab and the boot facts agree with it.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { DiskSelectorError, type Ids, partitionDevice, renderDisko, resolveDisks, shq, validateReportedDisks } from '../../services/deployer/src/baremetal/disko.js';
import { type BmClass, validateBmDefs } from '../../services/deployer/src/baremetal/schema.js';
import { systemAndDataDisks } from './helpers/bm-disks.js';

const GiB = 1024 ** 3;
const cls: BmClass = validateBmDefs({
  systems: { s: {} },
  classes: {
    c: {
      system: 's',
      disks: systemAndDataDisks(),
    },
  },
}).classes.c;

const disks = [
  { name: 'vda', serial: 'UCDATA-x', bytes: 2 * GiB },
  { name: 'vdb', serial: 'UCSYS-1', bytes: 4 * GiB },
];
const fixedIds = (): Ids => {
  let n = 0;
  return { uuid: () => `00000000-0000-4000-8000-00000000000${++n}`, vfatId: () => 'ABCD1234' };
};

describe('disk selectors', () => {
  test('by serial glob and by size, never by order', () => {
    const r = resolveDisks(cls, disks);
    expect(r.get('system')!.name).toBe('vdb');
    expect(r.get('data')!.name).toBe('vda');
    const swapped = resolveDisks(cls, [
      { name: 'vda', serial: 'UCSYS-1', bytes: 4 * GiB },
      { name: 'vdb', serial: 'UCDATA-x', bytes: 2 * GiB },
    ]);
    expect(swapped.get('system')!.name).toBe('vda');
    expect(swapped.get('data')!.name).toBe('vdb');
  });

  test('a selector matching none lists every disk; so do several matches and two plan disks on one device', () => {
    const none = [
      { name: 'vda', serial: 'UCDATA-x', bytes: 2 * GiB },
      { name: 'vdb', serial: 'OTHER', bytes: 4 * GiB },
    ];
    expect(() => renderDisko(cls, none)).toThrow(DiskSelectorError);
    expect(() => renderDisko(cls, none)).toThrow('disk "system" selector serial=UCSYS-* matches none of: vda (serial UCDATA-x, 2.0 GiB), vdb (serial OTHER, 4.0 GiB)');
    expect(() => resolveDisks(cls, [...disks, { name: 'vdc', serial: 'X', bytes: 1.5 * GiB }])).toThrow(
      'disk "data" selector sizeGiB=1..3 matches 2 disks: vda (serial UCDATA-x, 2.0 GiB), vdc (serial X, 1.5 GiB) (it must match exactly one)',
    );
    expect(() => resolveDisks(cls, [{ name: 'vdb', serial: 'UCSYS-1', bytes: 2 * GiB }])).toThrow('disks "system" and "data" both select vdb (serial UCSYS-1, 2.0 GiB)');
    expect(() => resolveDisks(cls, [])).toThrow('matches none of: (no disks reported)');
    try {
      renderDisko(cls, none);
    } catch (e) {
      expect((e as DiskSelectorError).step).toBe('disk-selector');
    }
  });

  test('a layout larger than its disk is refused before a script exists', () => {
    const big = validateBmDefs({ systems: { s: {} }, classes: { c: { system: 's', disks: [{ name: 'd', select: { serial: 'A' }, partitions: [{ name: 'root', sizeMiB: 4096, format: 'ext4', mount: '/' }] }] } } }).classes.c;
    expect(() => renderDisko(big, [{ name: 'vda', serial: 'A', bytes: 2 * GiB }])).toThrow('disk "d" needs at least 4098 MiB but vda (serial A, 2.0 GiB) has 2048 MiB');
  });

  test('the installer\'s disk list is checked', () => {
    expect(validateReportedDisks([{ name: 'nvme0n1', serial: null, bytes: 5 }])).toEqual([{ name: 'nvme0n1', serial: '', bytes: 5 }]);
    expect(() => validateReportedDisks([{ name: '../sda', serial: '', bytes: 1 }])).toThrow('disks[0].name: not a kernel disk name');
    expect(() => validateReportedDisks([{ name: 'sda', serial: '', bytes: -1 }])).toThrow('disks[0].bytes');
    expect(() => validateReportedDisks({})).toThrow('disks: must be a list');
  });
});

describe('the disko script', () => {
  test('partition devices: vdb3, nvme0n1p3, loop0p3', () => {
    expect(partitionDevice('vdb', 3)).toBe('/dev/vdb3');
    expect(partitionDevice('/dev/nvme0n1', 3)).toBe('/dev/nvme0n1p3');
    expect(partitionDevice('loop0', 3)).toBe('/dev/loop0p3');
  });

  test('wipes, partitions (GPT types), waits, makes filesystems with the planned ids, mounts "/" first', () => {
    const p = renderDisko(cls, disks, fixedIds());
    const s = p.disko;
    const at = (needle: string) => {
      const i = s.indexOf(needle);
      expect(i, needle).toBeGreaterThanOrEqual(0);
      return i;
    };
    expect(s.startsWith('#!/bin/sh\n')).toBe(true);
    expect(at('wipefs -a -q /dev/vdb\n')).toBeLessThan(at('sfdisk --quiet --wipe-partitions always /dev/vdb'));
    // `sfdisk --wipe always` zeroes the boot code, where the installer keeps an INT 18h for a reboot mid-install.
    expect(s).not.toContain('--wipe always');
    expect(s).toContain('size=1MiB, type=21686148-6449-6E6F-744E-656564454649, name=bios\nsize=64MiB, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp\ntype=0FC63DAF-8483-4772-8E79-3D69D8477DE4, name=root\n');
    expect(at('waitdev /dev/vdb3')).toBeLessThan(at('mkfs.ext4 -q -F -U 00000000-0000-4000-8000-000000000001 -L root /dev/vdb3'));
    expect(s).toContain('mkfs.vfat -i ABCD1234 -n ESP /dev/vdb2');
    expect(s).toContain('mkfs.ext4 -q -F -U 00000000-0000-4000-8000-000000000002 -L data /dev/vda1');
    expect(s).not.toMatch(/mkfs\.\S+ .*\/dev\/vdb1/); // the bios boot partition has no filesystem
    const mounts = [...s.matchAll(/^mount -t (\S+) (\S+) (\S+)$/gm)].map((m) => m.slice(1).join(' '));
    expect(mounts).toEqual(['ext4 /dev/vdb3 /target', 'vfat /dev/vdb2 /target/boot/efi', 'ext4 /dev/vda1 /target/var/lib/ultracloud']);
    expect(at('mkdir -p /target/boot/efi')).toBeLessThan(at('mount -t vfat'));
    expect(p.boot).toEqual({ disk: '/dev/vdb', rootUuid: '00000000-0000-4000-8000-000000000001', espUuid: 'ABCD-1234' });
    expect(p.fstab.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual([
      'UUID=00000000-0000-4000-8000-000000000001 / ext4 errors=remount-ro 0 1',
      'UUID=ABCD-1234 /boot/efi vfat umask=0077,x-systemd.device-timeout=10min 0 2',
      'UUID=00000000-0000-4000-8000-000000000002 /var/lib/ultracloud ext4 defaults,x-systemd.device-timeout=10min 0 2',
    ]);
  });

  test('is POSIX sh that dash accepts (dash -n), and random ids differ between plans', () => {
    const p = renderDisko(cls, disks, undefined, "node bm-cp01's install");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'disko-'));
    try {
      fs.writeFileSync(path.join(dir, 'disko.sh'), p.disko);
      execFileSync('dash', ['-n', path.join(dir, 'disko.sh')]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(renderDisko(cls, disks).boot.rootUuid).not.toBe(p.boot.rootUuid);
    expect(p.boot.espUuid).toMatch(/^[0-9A-F]{4}-[0-9A-F]{4}$/);
  });

  test('quotes what the shell would read otherwise', () => {
    expect(shq('/dev/vdb')).toBe('/dev/vdb');
    expect(shq("it's $HOME")).toBe("'it'\\''s $HOME'");
    const out = execFileSync('dash', ['-c', `printf %s ${shq("a b'c $x `id`")}`]).toString();
    expect(out).toBe("a b'c $x `id`");
  });
});
