/**
 * QEMU CPU share over the last minute. A small detached sampler records each
 * node's CPU ticks every 10 s into the state dir, so `cluster status` can
 * answer at once; it exits by itself when no QEMU of the cluster is left.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findProcesses, procStat, terminate } from './proc.js';

export interface CpuSample {
  t: number;
  ticks: number;
  pid: number;
}

export const SAMPLE_FILE = 'cpu-samples.json';
const KEEP = 20; // 20 x 10 s: always a sample about a minute old

export function samplesFile(nodeDir: string): string {
  return path.join(nodeDir, SAMPLE_FILE);
}

export function readSamples(nodeDir: string): CpuSample[] {
  try {
    return JSON.parse(fs.readFileSync(samplesFile(nodeDir), 'utf8')) as CpuSample[];
  } catch {
    return [];
  }
}

export function recordSample(nodeDir: string, pid: number, now = Date.now()): void {
  const st = procStat(pid);
  if (!st) return;
  const samples = readSamples(nodeDir).filter((s) => s.pid === pid);
  samples.push({ t: now, ticks: st.cpuTicks, pid });
  fs.writeFileSync(samplesFile(nodeDir), JSON.stringify(samples.slice(-KEEP)));
}

export interface CpuShare {
  /** Fraction of one host core, 0..n. */
  share: number;
  windowS: number;
}

/** Share of one host core between the sample nearest `windowS` ago and `current`. */
export function cpuShare(samples: CpuSample[], current: CpuSample, windowS = 60): CpuShare | undefined {
  const same = samples.filter((s) => s.pid === current.pid && s.t < current.t - 1000);
  if (same.length === 0) return undefined;
  const target = current.t - windowS * 1000;
  const base = same.reduce((best, s) => (Math.abs(s.t - target) < Math.abs(best.t - target) ? s : best));
  const dt = (current.t - base.t) / 1000;
  return { share: (current.ticks - base.ticks) / 100 / dt, windowS: Math.round(dt) };
}

function samplers(stateDir: string): number[] {
  return findProcesses(stateDir + path.sep)
    .filter((p) => p.argv.some((a) => a.endsWith('cpu-sampler.ts')))
    .map((p) => p.pid);
}

export async function stopSampler(stateDir: string): Promise<void> {
  await terminate(samplers(stateDir));
}

export function startSampler(stateDir: string): void {
  if (samplers(stateDir).length > 0) return;
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'cpu-sampler.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', script, stateDir + path.sep], {
    detached: true,
    stdio: 'ignore',
    cwd: path.dirname(path.dirname(script)),
  });
  child.unref();
}
