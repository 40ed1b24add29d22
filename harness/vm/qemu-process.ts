/**
 * What every QEMU the harness runs shares, a node VM (qemu.ts) or a
 * bare-metal chassis (chassis.ts): one daemonized process per folder, with
 * its serial console in `vm.log` (and on a unix socket), a QMP socket and a
 * pid file; the same machine, NICs and console on its command line around
 * what it boots; the pid verified against that command line; the start and
 * the stop (QMP quit, then SIGTERM, then SIGKILL).
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { HostError } from '../errors.js';
import { daemonPid, isAlive, sleep, terminate } from '../proc.js';
import { qmp } from './qmp.js';

export type Accel = 'kvm' | 'tcg';

/** The machine around what a QEMU boots: CPU, memory, the NIC on the cluster switch and the restricted management NIC. */
export interface QemuMachine {
  name: string;
  accel: Accel;
  memoryMiB: number;
  /** `-smp`: virtual CPUs (one QEMU thread each under multi-threaded TCG). */
  vcpus: number;
  vdeSocket: string;
  clusterMac: string;
  mgmtMac: string;
  /** 127.0.0.1:hostPort on the host to guestPort on the management NIC. */
  hostForwards: { hostPort: number; guestPort: number }[];
}

/** Where a command line's own pieces go: boot devices after the machine, more devices after the NICs, options after all. */
export interface QemuArgParts {
  /** Kernel, firmware, disks, CD-ROM. */
  boot: string[];
  /** After the NICs and the RNG (fw_cfg files). */
  devices?: string[];
  /** At the very end (`-incoming defer`). */
  tail?: string[];
}

const UNIX_PATH_MAX = 107;

export abstract class QemuProcess {
  readonly logFile: string;
  readonly pidFile: string;
  readonly qmpSocket: string;
  /** The serial console as a unix socket (`cluster console`); vm.log keeps a copy of everything. */
  readonly consoleSocket: string;

  constructor(
    /** This QEMU's folder (in the cluster's state dir). */
    readonly dir: string,
  ) {
    this.logFile = path.join(dir, 'vm.log');
    this.pidFile = path.join(dir, 'qemu.pid');
    this.qmpSocket = path.join(dir, 'qmp.sock');
    this.consoleSocket = path.join(dir, 'console.sock');
    if (this.consoleSocket.length > UNIX_PATH_MAX) {
      throw new HostError(`state dir path too long for a unix socket (${this.consoleSocket}); set PHOTON_VM_DIR to a shorter path`);
    }
  }

  /** The live QEMU pid, verified against its command line (pid files go stale). */
  pid(): number | undefined {
    return daemonPid(this.pidFile);
  }

  /** The command line: `m`'s machine and NICs around `parts`, the console, QMP and pid file in this folder (pure: unit-tested). */
  protected qemuArgs(m: QemuMachine, parts: QemuArgParts): string[] {
    const fwds = m.hostForwards.map((f) => `,hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`).join('');
    return [
      '-name', m.name,
      '-machine', `pc,accel=${m.accel}`,
      // max under TCG exposes an emulated SVM, so KVM works inside the guest.
      '-cpu', m.accel === 'kvm' ? 'host' : 'max',
      '-smp', String(m.vcpus),
      '-m', String(m.memoryMiB),
      '-nodefaults', '-no-user-config', '-display', 'none', '-vga', 'none',
      ...parts.boot,
      '-netdev', `vde,id=cluster,sock=${m.vdeSocket}`,
      '-device', `virtio-net-pci,netdev=cluster,mac=${m.clusterMac}`,
      '-netdev', `user,id=mgmt,restrict=on${fwds}`,
      '-device', `virtio-net-pci,netdev=mgmt,mac=${m.mgmtMac}`,
      '-device', 'virtio-rng-pci',
      ...(parts.devices ?? []),
      '-rtc', 'base=utc',
      // A socket a client may attach to (`cluster console`), logging all output to vm.log whether or not one is attached.
      '-chardev', `socket,id=serial0,path=${this.consoleSocket},server=on,wait=off,logfile=${this.logFile},logappend=on`,
      '-serial', 'chardev:serial0',
      '-qmp', `unix:${this.qmpSocket},server=on,wait=off`,
      '-pidfile', this.pidFile,
      '-daemonize',
      ...(parts.tail ?? []),
    ];
  }

  /** Starts QEMU with `args` (`prepare` runs once it is known not to run); its pid, or a HostError with QEMU's output. */
  protected async launch(name: string, args: string[], prepare?: () => void): Promise<number> {
    if (this.pid()) throw new HostError(`${name}: QEMU already running (pid ${this.pid()})`);
    prepare?.();
    fs.rmSync(this.pidFile, { force: true });
    fs.rmSync(this.qmpSocket, { force: true });
    fs.rmSync(this.consoleSocket, { force: true });
    const r = await execa('qemu-system-x86_64', args, { reject: false, all: true, timeout: 60_000 });
    const pid = this.pid();
    if (r.exitCode !== 0 || !pid) {
      throw new HostError(`${name}: QEMU failed to start (exit ${r.exitCode}): ${r.all?.trim() || 'no output'}`);
    }
    return pid;
  }

  /** ACPI power button, like pressing it on hardware. */
  async powerdown(): Promise<void> {
    await qmp(this.qmpSocket, 'system_powerdown');
  }

  /** Stops QEMU: ACPI powerdown for up to `graceMs` (0: none), then QMP quit, then SIGTERM and SIGKILL. */
  async stop(graceMs = 0): Promise<void> {
    const pid = this.pid();
    if (!pid) return;
    if (graceMs > 0) {
      await this.powerdown().catch(() => undefined);
      const deadline = Date.now() + graceMs;
      while (isAlive(pid) && Date.now() < deadline) await sleep(250);
    }
    if (isAlive(pid)) await qmp(this.qmpSocket, 'quit', undefined, 3000).catch(() => undefined);
    const deadline = Date.now() + 5000;
    while (isAlive(pid) && Date.now() < deadline) await sleep(100);
    if (isAlive(pid)) await terminate([pid], 2000);
    fs.rmSync(this.pidFile, { force: true });
    fs.rmSync(this.qmpSocket, { force: true });
    fs.rmSync(this.consoleSocket, { force: true });
  }
}
