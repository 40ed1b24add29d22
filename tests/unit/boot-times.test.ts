import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BOOT_TIMES, KEEP_BOOT_TIMES, bootEstimate, lastBootTime, recordBootTime } from '../../harness/cluster/boot-times.js';

describe('boot times (the estimate a start prints)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-boot-times-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const rec = (kind: 'cold' | 'restore', seconds: number, stack = 'reference', profile = 'default') =>
    recordBootTime(dir, { kind, stack, profile, seconds, at: `2026-12-06T21:${String(seconds % 60).padStart(2, '0')}:00.000Z` });

  it('the newest boot of the kind asked, for this stack and profile only', () => {
    rec('cold', 600);
    rec('restore', 36);
    rec('cold', 540);
    rec('cold', 100, 'ultracloud');
    rec('cold', 200, 'reference', 'edge');
    expect(lastBootTime(dir, 'cold', 'reference', 'default')?.seconds).toBe(540);
    expect(lastBootTime(dir, 'restore', 'reference', 'default')?.seconds).toBe(36);
    expect(lastBootTime(dir, 'restore', 'ultracloud', 'default')).toBeUndefined();
  });

  it('says so when nothing is recorded, and the figure and date when something is', () => {
    expect(bootEstimate('cold', lastBootTime(dir, 'cold', 'reference', 'default'))).toBe('no earlier cold boot recorded on this host');
    rec('cold', 552);
    expect(bootEstimate('cold', lastBootTime(dir, 'cold', 'reference', 'default'))).toBe(
      'the last cold boot here took 552 s (2026-12-06 21:12 UTC); about as long again',
    );
    rec('restore', 35.6);
    expect(bootEstimate('restore', lastBootTime(dir, 'restore', 'reference', 'default'))).toMatch(/^the last restore here took 36 s /);
  });

  it('a torn line (a killed run) is passed over, and the file keeps only the newest', () => {
    rec('cold', 600);
    fs.appendFileSync(path.join(dir, BOOT_TIMES), '{"kind":"cold","sec\n');
    expect(lastBootTime(dir, 'cold', 'reference', 'default')?.seconds).toBe(600);
    for (let i = 0; i < KEEP_BOOT_TIMES + 10; i++) rec('restore', i);
    const lines = fs.readFileSync(path.join(dir, BOOT_TIMES), 'utf8').trim().split('\n');
    expect(lines).toHaveLength(KEEP_BOOT_TIMES);
    expect(lastBootTime(dir, 'restore', 'reference', 'default')?.seconds).toBe(KEEP_BOOT_TIMES + 9);
  });
});
