/**
 * One VM = one daemonized QEMU process with a pid file, its serial console
 * in `<node>/vm.log`, a QMP socket, a qcow2 overlay on the cached base image,
 * direct kernel boot, a virtio NIC on the cluster VDE switch and a
 * restricted user-mode NIC whose forwards bind 127.0.0.1 only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { HostError, NodeError, tail } from './errors.js';
import { cmdline, isAlive, procStat, readPidFile, sleep, terminate } from './proc.js';
import { qmp } from './qmp.js';
import { waitFor } from './wait.js';

export type Accel = 'kvm' | 'tcg';

/** How to boot a VM; runtime operations (state, stop) need only its folder. */
export interface BootSpec {
  accel: Accel;
  memoryMiB: number;
  kernel: string;
  initrd: string;
  append: string;
  baseDisk: string;
  vdeSocket: string;
  clusterMac: string;
  mgmtMac: string;
  hostForwards: { hostPort: number; guestPort: number }[];
  /** Files QEMU hands the guest over fw_cfg (secrets): argv names the path, never the content. */
  fwCfgFiles?: { name: string; file: string }[];
  /** Start paused, waiting for a saved state (`loadState`) instead of booting. */
  incoming?: boolean;
}

/** QMP's view; 'io-error': QEMU paused the guest on a disk I/O error (a full host disk, typically). */
export type VmState = 'running' | 'paused' | 'io-error' | 'shutdown' | 'stopped' | 'unresponsive';

const UNIX_PATH_MAX = 107;

export class QemuVm {
  readonly logFile: string;
  readonly pidFile: string;
  readonly qmpSocket: string;
  /** The serial console as a unix socket (`cluster console`); vm.log keeps a copy of everything. */
  readonly consoleSocket: string;
  readonly disk: string;
  private readonly diskBaseFile: string;

  constructor(
    readonly name: string,
    /** This VM's folder in the state dir. */
    readonly dir: string,
  ) {
    this.logFile = path.join(dir, 'vm.log');
    this.pidFile = path.join(dir, 'qemu.pid');
    this.qmpSocket = path.join(dir, 'qmp.sock');
    this.consoleSocket = path.join(dir, 'console.sock');
    this.disk = path.join(dir, 'disk.qcow2');
    this.diskBaseFile = path.join(dir, 'disk.base');
    if (this.consoleSocket.length > UNIX_PATH_MAX) {
      throw new HostError(`state dir path too long for a unix socket (${this.consoleSocket}); set PHOTON_VM_DIR to a shorter path`);
    }
  }

  /** The live QEMU pid, verified against its command line (pid files go stale). */
  pid(): number | undefined {
    const pid = readPidFile(this.pidFile);
    if (pid === undefined || !isAlive(pid)) return undefined;
    return cmdline(pid)?.includes(this.pidFile) ? pid : undefined;
  }

  /**
   * Overlay on the base image. Kept across stop/start (a stopped node keeps
   * its disk); recreated when `fresh` or when the base image changed.
   */
  async prepareDisk(baseDisk: string, fresh: boolean): Promise<'reused' | 'created'> {
    fs.mkdirSync(this.dir, { recursive: true });
    const sameBase = fs.existsSync(this.disk) && readText(this.diskBaseFile) === baseDisk;
    if (!fresh && sameBase) return 'reused';
    fs.rmSync(this.disk, { force: true });
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', baseDisk, this.disk]);
    fs.writeFileSync(this.diskBaseFile, baseDisk);
    return 'created';
  }

  args(s: BootSpec): string[] {
    const fwds = s.hostForwards.map((f) => `,hostfwd=tcp:127.0.0.1:${f.hostPort}-:${f.guestPort}`).join('');
    return [
      '-name', this.name,
      '-machine', `pc,accel=${s.accel}`,
      // max under TCG exposes an emulated SVM, so KVM works inside the guest.
      '-cpu', s.accel === 'kvm' ? 'host' : 'max',
      '-smp', '1',
      '-m', String(s.memoryMiB),
      '-nodefaults', '-no-user-config', '-display', 'none', '-vga', 'none',
      '-kernel', s.kernel,
      '-initrd', s.initrd,
      '-append', s.append,
      '-drive', `file=${this.disk},if=virtio,format=qcow2,cache=unsafe,discard=unmap`,
      '-netdev', `vde,id=cluster,sock=${s.vdeSocket}`,
      '-device', `virtio-net-pci,netdev=cluster,mac=${s.clusterMac}`,
      '-netdev', `user,id=mgmt,restrict=on${fwds}`,
      '-device', `virtio-net-pci,netdev=mgmt,mac=${s.mgmtMac}`,
      '-device', 'virtio-rng-pci',
      ...(s.fwCfgFiles ?? []).flatMap((f) => ['-fw_cfg', `name=${f.name},file=${f.file.replace(/,/g, ',,')}`]),
      '-rtc', 'base=utc',
      // A socket a client may attach to (`cluster console`), logging all output to vm.log whether or not one is attached.
      '-chardev', `socket,id=serial0,path=${this.consoleSocket},server=on,wait=off,logfile=${this.logFile},logappend=on`,
      '-serial', 'chardev:serial0',
      '-qmp', `unix:${this.qmpSocket},server=on,wait=off`,
      '-pidfile', this.pidFile,
      '-daemonize',
      ...(s.incoming ? ['-incoming', 'defer'] : []),
    ];
  }

  async start(spec: BootSpec): Promise<number> {
    if (this.pid()) throw new HostError(`${this.name}: QEMU already running (pid ${this.pid()})`);
    if (fs.existsSync(this.logFile)) fs.renameSync(this.logFile, `${this.logFile}.prev`);
    fs.rmSync(this.pidFile, { force: true });
    fs.rmSync(this.qmpSocket, { force: true });
    fs.rmSync(this.consoleSocket, { force: true });
    fs.writeFileSync(path.join(this.dir, 'cmdline'), `${spec.append}\n`);
    const r = await execa('qemu-system-x86_64', this.args(spec), { reject: false, all: true, timeout: 60_000 });
    const pid = this.pid();
    if (r.exitCode !== 0 || !pid) {
      throw new HostError(`${this.name}: QEMU failed to start (exit ${r.exitCode}): ${r.all?.trim() || 'no output'}`);
    }
    return pid;
  }

  async state(): Promise<VmState> {
    if (!this.pid()) return 'stopped';
    try {
      const r = await qmp<{ status: string }>(this.qmpSocket, 'query-status', undefined, 3000);
      if (r.status === 'running') return 'running';
      // Saving or loading a state (a snapshot) counts as paused: the guest does not run.
      if (['paused', 'inmigrate', 'postmigrate', 'finish-migrate', 'prelaunch'].includes(r.status)) return 'paused';
      if (r.status === 'io-error') return 'io-error';
      if (r.status === 'shutdown') return 'shutdown';
      return 'unresponsive';
    } catch {
      return 'unresponsive';
    }
  }

  /**
   * Forwards 127.0.0.1:`hostPort` on the host to `guestPort` on the guest's
   * management NIC while this QEMU runs (QEMU's hostfwd_add: no restart,
   * gone with the process). A rule already there for the port is replaced.
   * Throws one line when QEMU cannot listen there (the port is taken).
   */
  async addHostForward(hostPort: number, guestPort: number): Promise<void> {
    await this.removeHostForward(hostPort);
    const out = await qmp<string>(this.qmpSocket, 'human-monitor-command', { 'command-line': `hostfwd_add mgmt tcp:127.0.0.1:${hostPort}-:${guestPort}` });
    if (out.trim()) throw new HostError(`${this.name}: cannot forward 127.0.0.1:${hostPort} to the guest's port ${guestPort} (is the host port taken?): ${out.trim()}`);
  }

  /** Drops the forward of 127.0.0.1:`hostPort` added by addHostForward; none there is no error. */
  async removeHostForward(hostPort: number): Promise<void> {
    await qmp<string>(this.qmpSocket, 'human-monitor-command', { 'command-line': `hostfwd_remove mgmt tcp:127.0.0.1:${hostPort}` });
  }

  /** Freezes the guest (CPUs and its clock); block I/O is drained. */
  async pause(): Promise<void> {
    await qmp(this.qmpSocket, 'stop', undefined, 10_000);
  }

  /** Runs a paused guest (or one whose state was just saved or loaded) again. */
  async resume(): Promise<void> {
    await qmp(this.qmpSocket, 'cont', undefined, 10_000);
  }

  /**
   * Writes the paused guest's RAM and device state to `file` (QEMU 7.2 has
   * no file: transport, so through `cat`). Disks are flushed to the OS when
   * it completes; the guest stays paused.
   */
  async saveState(file: string, timeoutMs = 120_000): Promise<void> {
    // A stopped guest is saved in one pass; QEMU's default bandwidth cap (128 MiB/s) would only slow it.
    await qmp(this.qmpSocket, 'migrate-set-parameters', { 'max-bandwidth': 64 * 2 ** 30 });
    await qmp(this.qmpSocket, 'migrate', { uri: `exec:cat > ${shq(file)}` });
    await this.migration(timeoutMs, 'saving state');
  }

  /** Loads a state written by `saveState` into a QEMU started with `incoming`; the guest stays paused. */
  async loadState(file: string, timeoutMs = 120_000): Promise<void> {
    await qmp(this.qmpSocket, 'migrate-incoming', { uri: `exec:cat ${shq(file)}` });
    await this.migration(timeoutMs, 'loading state');
  }

  private async migration(timeoutMs: number, what: string): Promise<void> {
    await waitFor(
      {
        node: this.name,
        what,
        timeoutMs,
        intervalMs: 100,
        quiet: true,
        failFast: () => (this.pid() ? undefined : new NodeError(this.name, `QEMU exited while ${what}`, { consoleTail: this.consoleTail() })),
      },
      async () => {
        const r = await qmp<{ status?: string; 'error-desc'?: string }>(this.qmpSocket, 'query-migrate', undefined, 5000);
        if (r.status === 'completed') return { ok: true };
        if (r.status === 'failed' || r.status === 'cancelled') return { ok: false, fail: new NodeError(this.name, `${what} failed: ${r['error-desc'] ?? r.status}`) };
        return { ok: false, seen: `migration ${r.status ?? 'not started'}` };
      },
    );
  }

  /** ACPI power button, like pressing it on hardware. */
  async powerdown(): Promise<void> {
    await qmp(this.qmpSocket, 'system_powerdown');
  }

  /** Stops the VM: ACPI powerdown for up to `graceMs` (0: none), then QMP quit, then SIGKILL. */
  async stop(graceMs: number): Promise<void> {
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

  /** Hard kill, as a fault: what `kill -9` of a hypervisor does to a node. */
  async crash(): Promise<void> {
    const pid = this.pid();
    if (pid) process.kill(pid, 'SIGKILL');
  }

  /** Last lines of the serial console, without colour codes and spinner redraws. */
  consoleTail(lines = 40): string {
    const text = (readText(this.logFile) ?? '(no vm.log)')
      // eslint-disable-next-line no-control-regex
      .replace(/\x1b\[[0-9;]*[A-Za-z]/g, '')
      .split('\n')
      .map((l) => {
        const line = l.replace(/\r+$/, ''); // serial lines end in \r\n; a bare \r redraws
        return line.slice(line.lastIndexOf('\r') + 1);
      })
      .filter((l) => !/^\s*\*+\s*\] (A start job|Job) .* running \(/.test(l))
      .join('\n');
    return tail(text, lines).trimEnd();
  }

  /** Seconds this QEMU has been running. */
  uptimeS(): number | undefined {
    const pid = this.pid();
    const st = pid ? procStat(pid) : undefined;
    if (!st) return undefined;
    return Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]) - st.startS;
  }
}

/** Quoted for the /bin/sh that QEMU's exec: migration runs. */
function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
