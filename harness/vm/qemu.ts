/**
 * One VM = one daemonized QEMU process with a pid file, its serial console
 * in `<node>/vm.log`, a QMP socket, a qcow2 overlay on the cached base image,
 * direct kernel boot, a virtio NIC on the cluster VDE switch and a
 * restricted user-mode NIC whose forwards bind 127.0.0.1 only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { HostError, NodeError, tail } from '../errors.js';
import { procStat } from '../proc.js';
import { type Accel, QemuProcess } from './qemu-process.js';
import { qmp } from './qmp.js';
import { waitFor } from '../remote/wait.js';

export type { Accel };

/** How to boot a VM; runtime operations (state, stop) need only its folder. */
export interface BootSpec {
  accel: Accel;
  memoryMiB: number;
  vcpus: number;
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

export class QemuVm extends QemuProcess {
  readonly disk: string;
  private readonly diskBaseFile: string;

  constructor(
    readonly name: string,
    /** This VM's folder in the state dir. */
    dir: string,
  ) {
    super(dir);
    this.disk = path.join(dir, 'disk.qcow2');
    this.diskBaseFile = path.join(dir, 'disk.base');
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
    return this.qemuArgs(
      { ...s, name: this.name },
      {
        boot: [
          '-kernel', s.kernel,
          '-initrd', s.initrd,
          '-append', s.append,
          '-drive', `file=${this.disk},if=virtio,format=qcow2,cache=unsafe,discard=unmap`,
        ],
        devices: (s.fwCfgFiles ?? []).flatMap((f) => ['-fw_cfg', `name=${f.name},file=${f.file.replace(/,/g, ',,')}`]),
        tail: s.incoming ? ['-incoming', 'defer'] : [],
      },
    );
  }

  async start(spec: BootSpec): Promise<number> {
    return this.launch(this.name, this.args(spec), () => {
      if (fs.existsSync(this.logFile)) fs.renameSync(this.logFile, `${this.logFile}.prev`);
      fs.writeFileSync(path.join(this.dir, 'cmdline'), `${spec.append}\n`);
    });
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

  /**
   * Cuts (`up` false) or restores a NIC's link by its netdev id ('cluster':
   * the VDE switch; 'mgmt': SSH and forwards), as the NixOS test driver's
   * block(): QEMU drops every frame both ways and the guest sees no carrier.
   */
  async setLink(netdev: 'cluster' | 'mgmt', up: boolean): Promise<void> {
    await qmp(this.qmpSocket, 'set_link', { name: netdev, up }, 10_000);
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
