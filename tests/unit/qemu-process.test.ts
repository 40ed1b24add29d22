import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Chassis } from '../../harness/vm/chassis.js';
import { isAlive } from '../../harness/proc.js';
import { QemuVm } from '../../harness/vm/qemu.js';
import { type QemuArgParts, type QemuMachine, QemuProcess } from '../../harness/vm/qemu-process.js';

class TestQemu extends QemuProcess {
  args(m: QemuMachine, parts: QemuArgParts): string[] {
    return this.qemuArgs(m, parts);
  }
  start(): Promise<number> {
    return this.launch('test', ['-version']);
  }
}

const tmp: string[] = [];
const children: number[] = [];
afterEach(() => {
  for (const pid of children.splice(0)) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  for (const d of tmp.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function folder(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-qemuproc-'));
  tmp.push(d);
  return d;
}

/** A process that stands in for QEMU: its command line names `pidFile`, as QEMU's `-pidfile` does. */
function fakeQemu(pidFile: string): number {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', pidFile], { stdio: 'ignore' });
  children.push(child.pid!);
  fs.writeFileSync(pidFile, `${child.pid}\n`);
  return child.pid!;
}

describe('QEMU process (node VMs and chassis alike)', () => {
  it('node VMs and chassis keep console log, pid file and sockets alike in their folder', () => {
    for (const q of [new QemuVm('node01', '/s/node01'), new Chassis({ name: 'bm' } as never, '/s/node01')]) {
      expect([q.logFile, q.pidFile, q.qmpSocket, q.consoleSocket]).toEqual(['/s/node01/vm.log', '/s/node01/qemu.pid', '/s/node01/qmp.sock', '/s/node01/console.sock']);
    }
    expect(() => new Chassis({ name: 'bm' } as never, `/${'x'.repeat(100)}`)).toThrow(/too long for a unix socket/);
  });

  it('the machine, NICs and console around what it boots; forwards on 127.0.0.1 only', () => {
    const m: QemuMachine = { name: 'n', accel: 'kvm', memoryMiB: 512, vcpus: 3, vdeSocket: '/v', clusterMac: 'c', mgmtMac: 'g', hostForwards: [{ hostPort: 2222, guestPort: 22 }] };
    const args = new TestQemu('/s/n').args(m, { boot: ['BOOT'], devices: ['DEV'], tail: ['TAIL'] });
    expect(args.slice(0, 4)).toEqual(['-name', 'n', '-machine', 'pc,accel=kvm']);
    expect(args[args.indexOf('-cpu') + 1]).toBe('host');
    expect(args[args.indexOf('-smp') + 1], 'the vCPUs the machine asks for').toBe('3');
    expect(args.indexOf('BOOT')).toBeLessThan(args.indexOf('-netdev'));
    expect(args.indexOf('DEV')).toBe(args.indexOf('virtio-rng-pci') + 1);
    expect(args.at(-1)).toBe('TAIL');
    expect(args).toContain('user,id=mgmt,restrict=on,hostfwd=tcp:127.0.0.1:2222-:22');
    expect(args).toContain('/s/n/qemu.pid');
  });

  it('a pid file counts only while its process names that file on its command line', () => {
    const q = new TestQemu(folder());
    expect(q.pid()).toBeUndefined();
    fs.writeFileSync(q.pidFile, `${process.pid}\n`); // alive, but not a QEMU of this folder: a stale pid file
    expect(q.pid()).toBeUndefined();
    const pid = fakeQemu(q.pidFile);
    expect(q.pid()).toBe(pid);
  });

  it('refuses to start a second QEMU in its folder', async () => {
    const q = new TestQemu(folder());
    const pid = fakeQemu(q.pidFile);
    await expect(q.start()).rejects.toThrow(`test: QEMU already running (pid ${pid})`);
  });

  it('stop: a QEMU that does not answer QMP quit gets SIGTERM; its pid file and sockets go', async () => {
    const q = new TestQemu(folder());
    const pid = fakeQemu(q.pidFile);
    fs.writeFileSync(q.qmpSocket, '');
    await q.stop();
    expect(isAlive(pid)).toBe(false);
    expect([q.pidFile, q.qmpSocket].filter((f) => fs.existsSync(f))).toEqual([]);
    await q.stop(); // nothing running: nothing to do
  }, 20_000);
});
