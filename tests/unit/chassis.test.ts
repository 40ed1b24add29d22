import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { Chassis, OVMF, deadEnd, parseMarkers } from '../../harness/vm/chassis.js';
import { WaitTimeoutError } from '../../harness/errors.js';
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
    expect(args[args.indexOf('-smp') + 1], 'one vCPU a chassis').toBe('1');
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
    const c = liveChassis('ULTRACLOUD_MARKER reboot\nYou are in emergency mode.\n');
    await expect(c.waitForMarker('agent:healthy', 10_000)).rejects.toMatchObject({ summary: 'the console says "You are in emergency mode" while waiting for agent:healthy' });
  });
});

/** A chassis whose QEMU counts as running (a pid file alone would not: the pid must be a QEMU holding that file), its console `log`. */
function liveChassis(log: string): Chassis {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chassis-'));
  const c = new Chassis(spec('bios'), dir);
  fs.writeFileSync(c.logFile, log);
  vi.spyOn(c, 'pid').mockReturnValue(4242);
  onTestFinished(() => fs.rmSync(dir, { recursive: true }));
  return c;
}

describe('waiting for markers', () => {
  it('returns the marker once the console has it, after the first `after` markers only', async () => {
    const c = liveChassis('ULTRACLOUD_MARKER install:done\nULTRACLOUD_MARKER reboot\n');
    expect((await c.waitForMarker('install:done', 5000)).step).toBe('install:done');
    const later = c.waitForMarker('install:done', 5000, { after: 2 });
    fs.appendFileSync(c.logFile, 'ULTRACLOUD_MARKER install:done attempt 2\n');
    expect((await later).detail).toBe('attempt 2');
  });

  it('a failure marker ends the wait at once, naming it', async () => {
    const c = liveChassis('ULTRACLOUD_MARKER network:up\nULTRACLOUD_MARKER failed:phone-home refused (403)\n');
    await expect(c.waitForMarker('install:done', 60_000)).rejects.toMatchObject({
      summary: 'failure marker failed:phone-home (refused (403)) while waiting for install:done',
      evidence: expect.objectContaining({ expected: 'ULTRACLOUD_MARKER install:done', lastSeen: 'failed:phone-home refused (403)' }),
    });
  });

  it('QEMU exiting ends the wait at once with the last marker seen', async () => {
    const c = liveChassis('ULTRACLOUD_MARKER bundle:fetched abc\n');
    const wait = c.waitForMarker('install:done', 60_000);
    vi.mocked(c.pid).mockReturnValue(undefined);
    await expect(wait).rejects.toMatchObject({ summary: 'QEMU exited while waiting for install:done', evidence: expect.objectContaining({ lastSeen: 'bundle:fetched abc' }) });
  });

  it('at the deadline: a timeout naming the marker, with the console tail', async () => {
    const c = liveChassis('ULTRACLOUD_MARKER installer:start\n');
    const err = await c.waitForMarker('install:done', 600).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(err).toMatchObject({ evidence: expect.objectContaining({ lastSeen: 'installer:start', consoleTail: expect.stringContaining('installer:start') }) });
  });

  it('waitForFailure: the expected refusal is the value; another failure, or an install, fails', async () => {
    expect((await liveChassis('ULTRACLOUD_MARKER failed:disk-selector no disk fits\n').waitForFailure('disk-selector', 5000)).detail).toBe('no disk fits');
    await expect(liveChassis('ULTRACLOUD_MARKER failed:phone-home refused (403)\n').waitForFailure('disk-selector', 5000)).rejects.toMatchObject({
      summary: 'failed at phone-home (refused (403)), expected a failure at disk-selector',
    });
    await expect(liveChassis('ULTRACLOUD_MARKER install:done\n').waitForFailure('disk-selector', 5000)).rejects.toMatchObject({ summary: 'installed, expected a failure at disk-selector' });
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
