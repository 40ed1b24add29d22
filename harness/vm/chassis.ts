/**
 * A raw-QEMU "bare-metal" chassis: firmware (SeaBIOS, or OVMF for UEFI), a
 * CD-ROM with the installer ISO, blank virtio disks with serials, a NIC on
 * the cluster switch and a restricted management NIC (SSH forward on
 * 127.0.0.1 only). No direct kernel boot: what runs is what the firmware
 * finds. Its folder lives in the cluster's state dir, so `cluster stop`
 * finds its QEMU by command line like any other.
 *
 * Progress comes from `ULTRACLOUD_MARKER <step>` lines on its serial
 * console; a wait fails fast on a failure marker, a QEMU exit or its
 * deadline, with the console tail.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { HostError, NodeError, tail } from '../errors.js';
import { QemuProcess } from './qemu-process.js';
import { qmp } from './qmp.js';
import { type ProbeResult, waitFor } from '../remote/wait.js';

export type Firmware = 'bios' | 'uefi';

/** OVMF as Debian's `ovmf` package installs it (4 MiB flash, no Secure Boot). */
export const OVMF = { code: '/usr/share/OVMF/OVMF_CODE_4M.fd', vars: '/usr/share/OVMF/OVMF_VARS_4M.fd' };

export interface ChassisDisk {
  serial: string;
  sizeMiB: number;
  /** The firmware tries this disk first (then the CD-ROM); the others it never boots. */
  boot?: boolean;
}

export interface ChassisSpec {
  name: string;
  firmware: Firmware;
  memoryMiB: number;
  iso: string;
  disks: ChassisDisk[];
  vdeSocket: string;
  clusterMac: string;
  mgmtMac: string;
  sshPort: number;
}

export interface Marker {
  step: string;
  detail: string;
  failed: boolean;
  /** When the harness first saw it (ms since epoch). */
  at: number;
}

/** One vCPU a chassis: the bare-metal suite installs two side by side, which already fills the host's two cores. */
const CHASSIS_VCPUS = 1;

const MARKER = /ULTRACLOUD_MARKER (\S+)(?: ([^\r\n]*))?/g;

/** Console lines that mean the machine will not get further by itself. */
const DEAD_END = [/You are in emergency mode/, /Kernel panic - not syncing/, /Give root password for maintenance/, /grub rescue>/];

/** The first dead end in a console text (emergency shell, panic, GRUB rescue), if any. */
export function deadEnd(text: string): string | undefined {
  for (const re of DEAD_END) {
    const m = re.exec(text);
    if (m) return m[0];
  }
  return undefined;
}

/** The markers in a console text, in order (colour codes and carriage returns ignored). */
export function parseMarkers(text: string): Omit<Marker, 'at'>[] {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escapes
  const clean = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  return [...clean.matchAll(MARKER)].map((m) => {
    const step = m[1];
    const failed = step.startsWith('failed:');
    return { step: failed ? step.slice('failed:'.length) : step, detail: (m[2] ?? '').trim(), failed };
  });
}

export class Chassis extends QemuProcess {
  private readonly seen: Marker[] = [];
  private consumed = 0;

  constructor(
    readonly spec: ChassisSpec,
    /** This chassis's folder (in the cluster's state dir). */
    dir: string,
  ) {
    super(dir);
  }

  diskFile(i: number): string {
    return path.join(this.dir, `disk${i}.qcow2`);
  }

  get varsFile(): string {
    return path.join(this.dir, 'OVMF_VARS.fd');
  }

  /** The QEMU command line (pure: unit-tested). */
  args(): string[] {
    const s = this.spec;
    const bootDisks = s.disks.filter((d) => d.boot).length;
    if (bootDisks > 1) throw new HostError(`${s.name}: more than one boot disk`);
    const fw =
      s.firmware === 'uefi'
        ? ['-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF.code}`, '-drive', `if=pflash,format=raw,unit=1,file=${this.varsFile}`]
        : [];
    const disks = s.disks.flatMap((d, i) => [
      '-drive', `id=disk${i},if=none,file=${this.diskFile(i)},format=qcow2,cache=unsafe,discard=unmap`,
      '-device', `virtio-blk-pci,drive=disk${i},serial=${d.serial}${d.boot ? ',bootindex=1' : ''}`,
    ]);
    return this.qemuArgs(
      { ...s, accel: 'tcg', vcpus: CHASSIS_VCPUS, hostForwards: [{ hostPort: s.sshPort, guestPort: 22 }] },
      {
        boot: [
          ...fw,
          ...disks,
          '-drive', `id=cd,if=none,media=cdrom,readonly=on,file=${s.iso}`,
          '-device', 'ide-cd,drive=cd,bus=ide.1,bootindex=2',
        ],
      },
    );
  }

  /** Blank disks and firmware variables: a machine fresh from the crate. */
  async create(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    for (const [i, d] of this.spec.disks.entries()) {
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', this.diskFile(i), `${d.sizeMiB}M`]);
    }
    if (this.spec.firmware === 'uefi') {
      if (!fs.existsSync(OVMF.code)) throw new HostError(`UEFI chassis need OVMF (${OVMF.code}): apt-get install ovmf, or run 'make deps'`);
      fs.copyFileSync(OVMF.vars, this.varsFile);
    }
  }

  /** Powers on (again, with the disks as they are). */
  async start(): Promise<number> {
    return this.launch(this.spec.name, this.args());
  }

  /** The reset button: the guest gets no warning. */
  async reset(): Promise<void> {
    await qmp(this.qmpSocket, 'system_reset', undefined, 5000);
  }

  /** Every marker so far, each with when the harness first saw it. */
  markers(): Marker[] {
    let text = '';
    try {
      text = fs.readFileSync(this.logFile, 'utf8');
    } catch {
      /* not started yet */
    }
    // Whole lines only: a marker QEMU is still writing must not be read half.
    const all = parseMarkers(text.slice(0, text.lastIndexOf('\n') + 1));
    const now = Date.now();
    for (const m of all.slice(this.consumed)) this.seen.push({ ...m, at: now });
    this.consumed = Math.max(this.consumed, all.length);
    return [...this.seen];
  }

  /** The console after the line of `marker` (all of it without one): a dead end before it is history. */
  private consoleSince(marker: Marker | undefined): string {
    let text = '';
    try {
      text = fs.readFileSync(this.logFile, 'utf8');
    } catch {
      return '';
    }
    if (!marker) return text;
    const line = `ULTRACLOUD_MARKER ${marker.failed ? 'failed:' : ''}${marker.step}`;
    const at = text.lastIndexOf(line);
    return at < 0 ? text : text.slice(at);
  }

  consoleTail(lines = 40): string {
    try {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: terminal escapes
      return tail(fs.readFileSync(this.logFile, 'utf8').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, ''), lines);
    } catch {
      return '(no console log)';
    }
  }

  /**
   * Waits for `step` (after the first `after` markers): fails at once on a
   * failure marker, on a dead end on the console, on QEMU exiting, or at the
   * deadline, with the console tail.
   */
  async waitForMarker(step: string, deadlineMs: number, opts: { after?: number; signal?: AbortSignal } = {}): Promise<Marker> {
    return this.waitMarkers(step, deadlineMs, opts.signal, () => {
      const ms = this.markers().slice(opts.after ?? 0);
      const hit = ms.find((m) => m.step === step && !m.failed);
      if (hit) return { ok: true, value: hit };
      const failed = ms.find((m) => m.failed);
      const last = ms.at(-1);
      const seen = last ? `${last.failed ? 'failed:' : ''}${last.step} ${last.detail}`.trim() : 'no marker yet';
      if (failed) return { ok: false, fail: this.error(`failure marker failed:${failed.step} (${failed.detail}) while waiting for ${step}`, step, seen) };
      const dead = deadEnd(this.consoleSince(last));
      if (dead) return { ok: false, fail: this.error(`the console says "${dead}" while waiting for ${step}`, step, seen) };
      return { ok: false, seen };
    });
  }

  /** Waits for the failure marker of `step` (a refusal the test expects). */
  async waitForFailure(step: string, deadlineMs: number, opts: { after?: number; signal?: AbortSignal } = {}): Promise<Marker> {
    return this.waitMarkers(`failed:${step}`, deadlineMs, opts.signal, () => {
      const ms = this.markers().slice(opts.after ?? 0);
      const failed = ms.find((m) => m.failed);
      if (failed?.step === step) return { ok: true, value: failed };
      if (failed) return { ok: false, fail: this.error(`failed at ${failed.step} (${failed.detail}), expected a failure at ${step}`, `failed:${step}`, `failed:${failed.step}`) };
      const last = ms.at(-1);
      const seen = last ? `${last.step} ${last.detail}`.trim() : 'no marker yet';
      if (ms.some((m) => m.step === 'install:done')) return { ok: false, fail: this.error(`installed, expected a failure at ${step}`, `failed:${step}`, seen) };
      return { ok: false, seen };
    });
  }

  /** The console read every 500 ms through the harness's one wait loop; QEMU exiting ends it at once. */
  private waitMarkers(step: string, deadlineMs: number, signal: AbortSignal | undefined, probe: () => ProbeResult<Marker>): Promise<Marker> {
    let lastSeen = 'no marker yet';
    return waitFor(
      {
        node: this.spec.name,
        what: `ULTRACLOUD_MARKER ${step}`,
        timeoutMs: deadlineMs,
        intervalMs: 500,
        signal,
        quiet: true,
        consoleTail: () => this.consoleTail(),
        failFast: () => (this.pid() ? undefined : this.error(`QEMU exited while waiting for ${step}`, step, lastSeen)),
      },
      async () => {
        const r = probe();
        lastSeen = r.seen ?? lastSeen;
        return r;
      },
    );
  }

  private error(summary: string, expected: string, lastSeen: string): NodeError {
    return new NodeError(this.spec.name, summary, { expected: `ULTRACLOUD_MARKER ${expected}`, lastSeen, consoleTail: this.consoleTail() });
  }

  /** Whether anything was ever written to disk `i` (qcow2 allocation: a blank disk has no data clusters). */
  async diskWritten(i: number): Promise<boolean> {
    const r = await execa('qemu-img', ['map', '--output=json', '-U', this.diskFile(i)]);
    const extents = JSON.parse(r.stdout) as { data: boolean }[];
    return extents.some((e) => e.data);
  }
}
