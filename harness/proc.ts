/**
 * Host processes by evidence, not by memory: a pid file can be stale and a
 * runner can die before writing one, so processes of a state dir are also
 * found by their command lines.
 */
import fs from 'node:fs';

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function cmdline(pid: number): string[] | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

export interface HostProcess {
  pid: number;
  argv: string[];
}

/** Every process whose command line mentions `needle` (a state dir path, say). */
export function findProcesses(needle: string): HostProcess[] {
  const found: HostProcess[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const argv = cmdline(pid);
    if (argv?.some((a) => a.includes(needle))) found.push({ pid, argv });
  }
  return found;
}

export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves when all are gone. */
export async function terminate(pids: number[], graceMs = 5000): Promise<void> {
  const signal = (sig: NodeJS.Signals) => {
    for (const pid of pids) {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(100);
  if (pids.some(isAlive)) {
    signal('SIGKILL');
    while (pids.some(isAlive)) await sleep(50);
  }
}

export interface ProcStat {
  /** utime + stime, clock ticks. */
  cpuTicks: number;
  /** Process start, seconds since host boot. */
  startS: number;
}

const CLK_TCK = 100; // Linux USER_HZ on every architecture we run on

export function procStat(pid: number): ProcStat | undefined {
  try {
    const raw = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm may contain spaces and parens; fields resume after the last ')'.
    const f = raw.slice(raw.lastIndexOf(')') + 2).split(' ');
    return { cpuTicks: Number(f[11]) + Number(f[12]), startS: Number(f[19]) / CLK_TCK };
  } catch {
    return undefined;
  }
}

export function ticksToSeconds(ticks: number): number {
  return ticks / CLK_TCK;
}

export function hostUptimeS(): number {
  return Number(fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
}

export function hostBootId(): string {
  return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
