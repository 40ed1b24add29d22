import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cpuShare, readSamples, recordSample, samplesFile, type CpuSample } from '../../harness/cpu.js';

const PID = 4242;
const T = 1_700_000_000_000;
const s = (ageS: number, ticks: number, pid = PID): CpuSample => ({ t: T - ageS * 1000, ticks, pid });

describe('cpuShare', () => {
  it('uses the sample nearest 60 s before the current one', () => {
    const current = s(0, 10_000);
    const samples = [s(120, 0), s(70, 1000), s(58, 4000), s(30, 7000), s(10, 9000)];
    // base = the sample 58 s old: (10000 - 4000) ticks / 100 = 60 s of CPU over 58 s
    expect(cpuShare(samples, current)).toEqual({ share: 6000 / 100 / 58, windowS: 58 });
  });

  it('computes (ticks delta / 100) / seconds', () => {
    expect(cpuShare([s(60, 1000)], s(0, 1600))).toEqual({ share: 0.1, windowS: 60 });
    expect(cpuShare([s(60, 0)], s(0, 12_000))).toEqual({ share: 2, windowS: 60 });
    expect(cpuShare([s(60, 500)], s(0, 500))).toEqual({ share: 0, windowS: 60 });
  });

  it('falls back to the nearest older sample when none is a minute old', () => {
    expect(cpuShare([s(20, 0), s(10, 500)], s(0, 1000))).toEqual({ share: 1000 / 100 / 20, windowS: 20 });
  });

  it('honours another window', () => {
    expect(cpuShare([s(60, 0), s(10, 900)], s(0, 1000), 10)).toEqual({ share: 100 / 100 / 10, windowS: 10 });
  });

  it('ignores samples of another pid', () => {
    expect(cpuShare([s(60, 0, 1), s(30, 1000)], s(0, 4000))).toEqual({ share: 1, windowS: 30 });
  });

  it('is undefined without an older sample of the same pid', () => {
    expect(cpuShare([], s(0, 100))).toBeUndefined();
    expect(cpuShare([s(60, 0, PID + 1)], s(0, 100))).toBeUndefined();
  });

  it('ignores samples under a second older than the current one (and newer ones)', () => {
    expect(cpuShare([s(0.5, 90), s(0, 100), s(-5, 50)], s(0, 100))).toBeUndefined();
  });
});

describe('samples file', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-cpu-'));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads nothing from a missing or corrupt file', () => {
    expect(readSamples(dir)).toEqual([]);
    fs.writeFileSync(samplesFile(dir), '{oops');
    expect(readSamples(dir)).toEqual([]);
  });

  it('records samples of the live pid only, keeping the last 20', () => {
    fs.writeFileSync(samplesFile(dir), JSON.stringify([{ t: 1, ticks: 1, pid: process.pid + 1 }]));
    for (let i = 0; i < 25; i++) recordSample(dir, process.pid, T + i * 10_000);
    const samples = readSamples(dir);
    expect(samples).toHaveLength(20);
    expect(samples.every((x) => x.pid === process.pid)).toBe(true);
    expect(samples[0].t).toBe(T + 5 * 10_000);
    expect(samples[19].t).toBe(T + 24 * 10_000);
    expect(samples[19].ticks).toBeGreaterThanOrEqual(samples[0].ticks);
  });
});
