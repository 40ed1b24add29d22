import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Chassis, OVMF, deadEnd, parseMarkers } from '../../harness/chassis.js';
import { isoGrubCfg } from '../../harness/image/baremetal.js';
import { CHASSIS, chassisSpec, kernelParams } from '../../fixtures/baremetal.js';

const spec = (firmware: 'bios' | 'uefi') => chassisSpec({ ...CHASSIS[0], firmware }, '/s/baremetal/bm-cp01/installer.iso', '/s/vde/switch', 22200);

describe('chassis QEMU arguments', () => {
  it('boots firmware, not a kernel: no -kernel, the CD-ROM after the boot disk', () => {
    const args = new Chassis(spec('bios'), '/s/baremetal/bm-cp01').args();
    expect(args).not.toContain('-kernel');
    expect(args.join(' ')).toContain('ide-cd,drive=cd,bus=ide.1,bootindex=2');
    // The data disk comes first on the bus and is never booted; the system disk is the boot disk.
    const devices = args.filter((a) => a.startsWith('virtio-blk-pci'));
    expect(devices).toEqual(['virtio-blk-pci,drive=disk0,serial=UCDATA-bm-cp01', 'virtio-blk-pci,drive=disk1,serial=UCSYS-bm-cp01,bootindex=1']);
    expect(args.join(' ')).not.toContain('pflash');
  });

  it('UEFI chassis get OVMF code read-only and their own variables', () => {
    const args = new Chassis(spec('uefi'), '/s/baremetal/bm-cp01').args();
    expect(args).toContain(`if=pflash,format=raw,unit=0,readonly=on,file=${OVMF.code}`);
    expect(args).toContain('if=pflash,format=raw,unit=1,file=/s/baremetal/bm-cp01/OVMF_VARS.fd');
  });

  it('keeps guests in: user networking restricted, the SSH forward on 127.0.0.1, the cluster NIC on the switch', () => {
    const args = new Chassis(spec('bios'), '/s/baremetal/bm-cp01').args().join(' ');
    expect(args).toContain('user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:22241-:22');
    expect(args).toContain('vde,id=cluster,sock=/s/vde/switch');
    // The state dir in argv: `cluster stop` finds a leftover chassis QEMU by it.
    expect(args).toContain('-pidfile /s/baremetal/bm-cp01/qemu.pid');
  });

  it('refuses two boot disks', () => {
    const s = spec('bios');
    s.disks = s.disks.map((d) => ({ ...d, boot: true }));
    expect(() => new Chassis(s, '/x').args()).toThrow(/more than one boot disk/);
  });
});

describe('markers', () => {
  it('never reads a marker line QEMU is still writing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chassis-'));
    const c = new Chassis(spec('bios'), dir);
    fs.writeFileSync(c.logFile, 'ULTRACLOUD_MARKER installer:start\nULTRACLOUD_MARKER bundle:fet');
    expect(c.markers().map((m) => m.step)).toEqual(['installer:start']);
    fs.appendFileSync(c.logFile, 'ched abc\n');
    expect(c.markers().map((m) => `${m.step} ${m.detail}`)).toEqual(['installer:start ', 'bundle:fetched abc']);
    fs.rmSync(dir, { recursive: true });
  });

  it('reads steps, details and failures from a console with escapes and CRs', () => {
    const text = '\x1b[0mBooting\r\nULTRACLOUD_MARKER installer:start\r\nnoise ULTRACLOUD_MARKER network:up eth0 10.100.0.41/24\r\nULTRACLOUD_MARKER failed:phone-home refused (403): wrong token\n';
    expect(parseMarkers(text)).toEqual([
      { step: 'installer:start', detail: '', failed: false },
      { step: 'network:up', detail: 'eth0 10.100.0.41/24', failed: false },
      { step: 'phone-home', detail: 'refused (403): wrong token', failed: true },
    ]);
  });
});

describe('dead ends', () => {
  it('knows an emergency shell, a panic and GRUB rescue; a normal boot is none', () => {
    expect(deadEnd('...\nYou are in emergency mode. After logging in')).toBe('You are in emergency mode');
    expect(deadEnd('Kernel panic - not syncing: VFS')).toBe('Kernel panic - not syncing');
    expect(deadEnd('error: no such partition.\ngrub rescue> ')).toBe('grub rescue>');
    expect(deadEnd('[  OK  ] Reached target multi-user.target\nULTRACLOUD_MARKER agent:start')).toBeUndefined();
  });

  it('a waiting chassis fails at once on one after its last marker', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chassis-'));
    const c = new Chassis(spec('bios'), dir);
    // Alive for the wait: its pid file names a running process whose argv holds the pid file path (this one's does not), so fake none.
    fs.writeFileSync(c.logFile, 'ULTRACLOUD_MARKER reboot\nYou are in emergency mode.\n');
    await expect(c.waitForMarker('agent:healthy', 10_000)).rejects.toThrow(/emergency mode/);
    fs.rmSync(dir, { recursive: true });
  });
});

describe('installer ISO kernel parameters', () => {
  it('puts every parameter on the GRUB entry, serial console first', () => {
    const p = kernelParams(CHASSIS[1], 'http://10.100.0.11:8070', 'ab'.repeat(16));
    const cfg = isoGrubCfg(p);
    expect(cfg.split('\n')[0]).toBe('serial --unit=0 --speed=115200');
    const linux = cfg.split('\n').find((l) => l.trim().startsWith('linux '))!;
    for (const k of ['deployer_url=http://10.100.0.11:8070', `bootstrap_token=${'ab'.repeat(16)}`, 'node_id=bm-w01', 'hostname=bm-w01', 'ip=10.100.0.42/24', 'mac=52:54:00:bb:00:2a']) {
      expect(linux).toContain(` ultracloud.${k}`);
    }
  });

  it('refuses a value GRUB or the kernel would split or interpret', () => {
    expect(() => isoGrubCfg({ hostname: 'a b' })).toThrow(/not a plain word/);
    expect(() => isoGrubCfg({ hostname: 'a;reboot' })).toThrow(/not a plain word/);
  });
});
