import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { howItEnded, resolveAccel } from '../../harness/vm/accel.js';
import { HostError } from '../../harness/errors.js';

/**
 * Every test here either never probes (tcg) or finds a verdict cached for
 * this host boot, so no QEMU ever runs. The probe kernel paths do not exist,
 * so a probe that ran by mistake could never pass.
 */
const PROBE = { kernel: '/nonexistent/vmlinuz', probeInitrd: '/nonexistent/probe-initrd.img' };
const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

let cacheDir: string;

function cacheVerdict(kvmWorks: boolean, reason: string, id = bootId): string {
  const file = path.join(cacheDir, 'accel-probe.json');
  const content = JSON.stringify({ bootId: id, kvmWorks, reason, probedAt: '2020-01-01T00:00:00.000Z' });
  fs.writeFileSync(file, content);
  return content;
}

beforeEach(() => {
  cacheDir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-accel-'));
});
afterEach(() => {
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

describe('resolveAccel', () => {
  it('returns tcg for tcg without probing or reading the cache', async () => {
    const missing = path.join(cacheDir, 'not-created');
    expect(await resolveAccel('tcg', missing, PROBE)).toEqual({ accel: 'tcg', reason: 'ULTRACLOUD_ACCEL=tcg' });
    expect(fs.existsSync(missing)).toBe(false);
  });

  it('returns tcg for tcg even when the cache says KVM works', async () => {
    cacheVerdict(true, 'a KVM guest reached userspace in 1.0s');
    expect((await resolveAccel('tcg', cacheDir, PROBE)).accel).toBe('tcg');
  });

  describe('with a cached verdict that KVM does not work', () => {
    const reason = '/dev/kvm exists, but a KVM guest showed no userspace marker within 20s';

    it('kvm throws a HostError with the reason', async () => {
      cacheVerdict(false, reason);
      const p = resolveAccel('kvm', cacheDir, PROBE);
      await expect(p).rejects.toBeInstanceOf(HostError);
      await expect(p).rejects.toThrow(reason);
      await expect(p).rejects.toThrow('ULTRACLOUD_ACCEL=kvm');
    });

    it('auto falls back to tcg with the cached reason', async () => {
      const content = cacheVerdict(false, reason);
      expect(await resolveAccel('auto', cacheDir, PROBE)).toEqual({ accel: 'tcg', reason: `falling back to TCG: ${reason}` });
      expect(fs.readFileSync(path.join(cacheDir, 'accel-probe.json'), 'utf8')).toBe(content);
    });
  });

  describe('with a cached verdict that KVM works', () => {
    const reason = 'a KVM guest reached userspace in 2.3s';

    it('auto returns kvm with the cached reason', async () => {
      cacheVerdict(true, reason);
      expect(await resolveAccel('auto', cacheDir, PROBE)).toEqual({ accel: 'kvm', reason });
    });

    it('kvm returns kvm', async () => {
      cacheVerdict(true, reason);
      expect(await resolveAccel('kvm', cacheDir, PROBE)).toEqual({ accel: 'kvm', reason: 'ULTRACLOUD_ACCEL=kvm (probe passed)' });
    });
  });
});

describe('how the probe QEMU ended, in words', () => {
  it('says the exit code, or the signal when it was killed (no exit code then)', () => {
    expect(howItEnded({ exitCode: 1, signal: undefined })).toBe('exited (code 1)');
    expect(howItEnded({ exitCode: undefined, signal: 'SIGSEGV' })).toBe('was killed by SIGSEGV');
    expect(howItEnded({})).toBe('was killed by a signal');
  });
});
