/**
 * Which accelerator the nodes get. `/dev/kvm` existing proves nothing (on
 * our machines it exists and Linux guests hang in early boot), so `auto`
 * boots a real kernel under KVM with a short deadline and looks for a
 * userspace marker. The verdict is cached per host boot.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { HostError } from '../errors.js';
import { progress } from '../log.js';
import { hostBootId } from '../proc.js';
import type { Accel } from './qemu.js';
import type { AccelChoice } from '../config.js';

export const PROBE_MARKER = 'ULTRACLOUD_PROBE_USERSPACE';
const PROBE_DEADLINE_MS = 20_000;

export interface AccelVerdict {
  accel: Accel;
  /** Why: the probe's finding, or the env override. */
  reason: string;
}

interface ProbeResult {
  bootId: string;
  kvmWorks: boolean;
  reason: string;
  probedAt: string;
}

export interface ProbeKernel {
  kernel: string;
  probeInitrd: string;
}

export async function resolveAccel(choice: AccelChoice, cacheDir: string, probe: ProbeKernel): Promise<AccelVerdict> {
  if (choice === 'tcg') return { accel: 'tcg', reason: 'ULTRACLOUD_ACCEL=tcg' };
  const result = await cachedProbe(cacheDir, probe);
  if (choice === 'kvm') {
    if (!result.kvmWorks) throw new HostError(`ULTRACLOUD_ACCEL=kvm, but KVM does not work on this host: ${result.reason}`);
    return { accel: 'kvm', reason: 'ULTRACLOUD_ACCEL=kvm (probe passed)' };
  }
  return result.kvmWorks
    ? { accel: 'kvm', reason: result.reason }
    : { accel: 'tcg', reason: `falling back to TCG: ${result.reason}` };
}

/**
 * The accel a start would pick, known without probing: the override, or this
 * host boot's cached probe; undefined when only a probe (a boot) can say.
 */
export function knownAccel(choice: AccelChoice, cacheDir: string): AccelVerdict | undefined {
  if (choice === 'tcg') return { accel: 'tcg', reason: 'ULTRACLOUD_ACCEL=tcg' };
  const cached = readCachedProbe(cacheDir);
  if (!cached) return choice === 'kvm' ? { accel: 'kvm', reason: 'ULTRACLOUD_ACCEL=kvm (not probed yet)' } : undefined;
  if (choice === 'kvm' || cached.kvmWorks) return { accel: 'kvm', reason: cached.reason };
  return { accel: 'tcg', reason: `falling back to TCG: ${cached.reason}` };
}

function readCachedProbe(cacheDir: string): ProbeResult | undefined {
  try {
    const cached = JSON.parse(fs.readFileSync(path.join(cacheDir, 'accel-probe.json'), 'utf8')) as ProbeResult;
    return cached.bootId === hostBootId() ? cached : undefined;
  } catch {
    return undefined; // none yet
  }
}

async function cachedProbe(cacheDir: string, probe: ProbeKernel): Promise<ProbeResult> {
  const file = path.join(cacheDir, 'accel-probe.json');
  const bootId = hostBootId();
  const cached = readCachedProbe(cacheDir);
  if (cached) return cached;
  progress('accel', `probing KVM with a real boot (at most ${PROBE_DEADLINE_MS / 1000}s, once per host boot)`);
  const { kvmWorks, reason } = await probeKvm(probe);
  const result: ProbeResult = { bootId, kvmWorks, reason, probedAt: new Date().toISOString() };
  progress('accel', `${kvmWorks ? 'kvm' : 'tcg'}: ${reason}`);
  fs.mkdirSync(cacheDir, { recursive: true });
  fs.writeFileSync(file, JSON.stringify(result, null, 2));
  return result;
}

export async function probeKvm(probe: ProbeKernel): Promise<{ kvmWorks: boolean; reason: string }> {
  if (!fs.existsSync('/dev/kvm')) return { kvmWorks: false, reason: '/dev/kvm does not exist' };
  try {
    fs.closeSync(fs.openSync('/dev/kvm', 'r+'));
  } catch (e) {
    return { kvmWorks: false, reason: `/dev/kvm cannot be opened: ${(e as Error).message}` };
  }
  const started = Date.now();
  const child = execa(
    'qemu-system-x86_64',
    [
      '-machine', 'pc,accel=kvm', '-cpu', 'host', '-m', '256', '-smp', '1',
      '-nodefaults', '-no-user-config', '-display', 'none', '-no-reboot',
      '-kernel', probe.kernel, '-initrd', probe.probeInitrd,
      '-append', 'console=ttyS0 rdinit=/init panic=-1 quiet',
      '-serial', 'stdio',
    ],
    { reject: false, all: true, timeout: PROBE_DEADLINE_MS, stdin: 'ignore' },
  );
  let seen = '';
  child.all?.on('data', (d: Buffer) => {
    seen += d.toString();
    if (seen.includes(PROBE_MARKER)) child.kill('SIGKILL');
  });
  const r = await child;
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  if (seen.includes(PROBE_MARKER)) return { kvmWorks: true, reason: `a KVM guest reached userspace in ${secs}s` };
  if (r.timedOut) {
    return { kvmWorks: false, reason: `/dev/kvm exists, but a KVM guest showed no userspace marker within ${PROBE_DEADLINE_MS / 1000}s` };
  }
  const last = seen.trim().split('\n').slice(-2).join(' | ') || 'no output';
  return { kvmWorks: false, reason: `/dev/kvm exists, but QEMU ${howItEnded(r)} under KVM: ${last}` };
}

/** How a process ended, in words: its exit code, or the signal that killed it (which leaves no exit code: never "exited (undefined)"). */
export function howItEnded(r: { exitCode?: number | null; signal?: string | null }): string {
  if (r.exitCode !== undefined && r.exitCode !== null) return `exited (code ${r.exitCode})`;
  return `was killed by ${r.signal ?? 'a signal'}`;
}
