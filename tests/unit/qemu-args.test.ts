import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostError } from '../../harness/errors.js';
import { type BootSpec, QemuVm } from '../../harness/vm/qemu.js';

let dir: string;
let vm: QemuVm;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-qemu-'));
  vm = new QemuVm('node01', path.join(dir, 'node01'));
});
afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function spec(over: Partial<BootSpec> = {}): BootSpec {
  return {
    accel: 'tcg',
    memoryMiB: 1024,
    vcpus: 2,
    kernel: '/cache/img/vmlinuz',
    initrd: '/cache/img/initrd.img',
    append: 'console=ttyS0,115200 root=/dev/vda rw',
    baseDisk: '/cache/img/disk.qcow2',
    vdeSocket: '/state/vde/switch',
    clusterMac: '52:54:00:12:34:01',
    mgmtMac: '52:54:00:aa:00:01',
    hostForwards: [
      { hostPort: 22201, guestPort: 22 },
      { hostPort: 22280, guestPort: 80 },
    ],
    ...over,
  };
}

/** Every value that follows `flag` in the argument list. */
function values(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag && i + 1 < args.length ? [args[i + 1]] : []));
}

function one(args: string[], flag: string): string {
  const v = values(args, flag);
  expect(v, flag).toHaveLength(1);
  return v[0];
}

/** `-netdev`/`-device` option strings parsed into key=value maps (first field under `_`). */
function opts(s: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  s.split(',').forEach((part, i) => {
    const eq = part.indexOf('=');
    const [k, v] = i === 0 && eq < 0 ? ['_', part] : [part.slice(0, eq), part.slice(eq + 1)];
    (out[k] ??= []).push(v);
  });
  return out;
}

function netdev(args: string[], id: string): Record<string, string[]> {
  const found = values(args, '-netdev').map(opts).filter((o) => o.id?.[0] === id);
  expect(found, `netdev ${id}`).toHaveLength(1);
  return found[0];
}

function nicOn(args: string[], netdevId: string): Record<string, string[]> {
  const found = values(args, '-device').map(opts).filter((o) => o.netdev?.[0] === netdevId);
  expect(found, `device on ${netdevId}`).toHaveLength(1);
  return found[0];
}

describe('QemuVm paths', () => {
  it('keeps log, pid file, QMP socket and disk in the node dir', () => {
    expect(vm.logFile).toBe(path.join(dir, 'node01', 'vm.log'));
    expect(vm.pidFile).toBe(path.join(dir, 'node01', 'qemu.pid'));
    expect(vm.qmpSocket).toBe(path.join(dir, 'node01', 'qmp.sock'));
    expect(vm.disk).toBe(path.join(dir, 'node01', 'disk.qcow2'));
  });

  it('refuses a node dir too long for a unix socket path', () => {
    expect(() => new QemuVm('node01', `/${'x'.repeat(120)}/node01`)).toThrow(HostError);
  });

  it('building arguments touches nothing on disk', () => {
    vm.args(spec());
    expect(fs.existsSync(vm.dir)).toBe(false);
  });
});

describe('QemuVm.args', () => {
  it('gives the management NIC a restricted user netdev', () => {
    const user = netdev(vm.args(spec()), 'mgmt');
    expect(user._).toEqual(['user']);
    expect(user.restrict).toEqual(['on']);
  });

  it('binds every host forward to 127.0.0.1 explicitly', () => {
    const fwds = netdev(vm.args(spec()), 'mgmt').hostfwd;
    expect(fwds).toEqual(['tcp:127.0.0.1:22201-:22', 'tcp:127.0.0.1:22280-:80']);
    for (const f of fwds) expect(f).toMatch(/^tcp:127\.0\.0\.1:\d+-:\d+$/);
  });

  it('has no forwards when none are asked for', () => {
    const user = netdev(vm.args(spec({ hostForwards: [] })), 'mgmt');
    expect(user.hostfwd).toBeUndefined();
    expect(user.restrict).toEqual(['on']);
  });

  it('puts the cluster NIC on the vde netdev with the cluster MAC, and the mgmt NIC on the user netdev', () => {
    const args = vm.args(spec());
    const vde = netdev(args, 'cluster');
    expect(vde._).toEqual(['vde']);
    expect(vde.sock).toEqual(['/state/vde/switch']);
    expect(nicOn(args, 'cluster')).toMatchObject({ _: ['virtio-net-pci'], mac: ['52:54:00:12:34:01'] });
    expect(nicOn(args, 'mgmt')).toMatchObject({ _: ['virtio-net-pci'], mac: ['52:54:00:aa:00:01'] });
    expect(values(args, '-netdev')).toHaveLength(2);
  });

  it('daemonizes with a pid file in the node dir', () => {
    const args = vm.args(spec());
    expect(args).toContain('-daemonize');
    expect(one(args, '-pidfile')).toBe(path.join(dir, 'node01', 'qemu.pid'));
  });

  it('uses -cpu host under kvm and -cpu max under tcg', () => {
    const kvm = vm.args(spec({ accel: 'kvm' }));
    expect(one(kvm, '-machine')).toBe('pc,accel=kvm');
    expect(one(kvm, '-cpu')).toBe('host');
    const tcg = vm.args(spec({ accel: 'tcg' }));
    expect(one(tcg, '-machine')).toBe('pc,accel=tcg');
    expect(one(tcg, '-cpu')).toBe('max');
  });

  it('serves the serial console on a socket in the node dir (no waiting for a client), logging all of it to vm.log', () => {
    const args = vm.args(spec());
    const chardev = opts(one(args, '-chardev'));
    expect(chardev).toEqual({
      _: ['socket'],
      id: ['serial0'],
      path: [path.join(dir, 'node01', 'console.sock')],
      server: ['on'],
      wait: ['off'],
      logfile: [path.join(dir, 'node01', 'vm.log')],
      logappend: ['on'],
    });
    expect(vm.consoleSocket).toBe(path.join(dir, 'node01', 'console.sock'));
    expect(one(args, '-serial')).toBe('chardev:serial0');
  });

  it('serves QMP on a unix socket in the node dir without waiting for a client', () => {
    expect(one(vm.args(spec()), '-qmp')).toBe(`unix:${path.join(dir, 'node01', 'qmp.sock')},server=on,wait=off`);
  });

  it('boots the given kernel, initrd and command line with the given memory and vCPUs, from the overlay disk', () => {
    const args = vm.args(spec({ memoryMiB: 1536, vcpus: 3 }));
    expect(one(args, '-name')).toBe('node01');
    expect(one(args, '-m')).toBe('1536');
    expect(one(args, '-smp')).toBe('3');
    expect(one(args, '-kernel')).toBe('/cache/img/vmlinuz');
    expect(one(args, '-initrd')).toBe('/cache/img/initrd.img');
    expect(one(args, '-append')).toBe('console=ttyS0,115200 root=/dev/vda rw');
    const drive = opts(one(args, '-drive'));
    expect(drive.file).toEqual([path.join(dir, 'node01', 'disk.qcow2')]);
    expect(drive.format).toEqual(['qcow2']);
    expect(args).not.toContain('/cache/img/disk.qcow2');
  });

  it('starts without default devices or a display', () => {
    const args = vm.args(spec());
    expect(args).toEqual(expect.arrayContaining(['-nodefaults', '-no-user-config']));
    expect(one(args, '-display')).toBe('none');
  });
});

describe('restoring a saved state', () => {
  it('waits for the state (paused, -incoming defer) and is otherwise the cold boot argument list', () => {
    const cold = vm.args(spec());
    const restore = vm.args(spec({ incoming: true }));
    expect(values(restore, '-incoming')).toEqual(['defer']);
    expect(values(cold, '-incoming')).toEqual([]);
    // Any other difference would make the saved device state fail to load.
    expect(restore.slice(0, cold.length)).toEqual(cold);
    expect(restore.length).toBe(cold.length + 2);
  });
});
