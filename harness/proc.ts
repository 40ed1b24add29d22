/**
 * Host processes by evidence, not by memory: a pid file can be stale and a
 * runner can die before writing one, so processes of a state dir are also
 * found by their command lines.
 */
import fs from 'node:fs';
import path from 'node:path';

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
  /** `/proc/<pid>/exe`, when readable. */
  exe?: string;
}

/** Every process whose command line mentions `needle` (a state dir path, say). */
export function findProcesses(needle: string): HostProcess[] {
  const found: HostProcess[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    const argv = cmdline(pid);
    if (argv?.some((a) => a.includes(needle))) found.push({ pid, argv, exe: exePath(pid) });
  }
  return found;
}

/** The executable of a process (`/proc/<pid>/exe`), when this user may read it. */
export function exePath(pid: number): string | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

/** What the harness itself runs for a cluster: the only processes `stop` may kill. */
export type ClusterProcessKind = 'qemu' | 'vde' | 'sampler';

/**
 * Whether a process that mentions `stateDir` is one of the cluster's own:
 * a QEMU (qemu-system-*), the VDE switch, or the CPU sampler (node running
 * harness/cpu-sampler.ts). A `less <state>/node01/vm.log`, a `tail -F`, an
 * `ssh -i <state>/ssh/id_ed25519` or an editor is not, whatever its argv says.
 */
export function clusterProcessKind(p: HostProcess, stateDir: string): ClusterProcessKind | undefined {
  const dir = stateDir.endsWith(path.sep) ? stateDir : stateDir + path.sep;
  if (!p.argv.some((a) => a.includes(dir))) return undefined;
  // The executable, else argv[0] (a process of another user hides its exe link).
  const names = [p.exe, p.argv[0]].filter((x): x is string => Boolean(x)).map((x) => path.basename(x));
  const exe = names[0] ?? '';
  if (/^qemu-system-/.test(exe)) return 'qemu';
  if (exe === 'vde_switch') return 'vde';
  if (/^node(js)?(\d+)?$/.test(exe) && p.argv.slice(1).some((a) => /(^|\/)cpu-sampler\.(ts|js|mjs)$/.test(a))) return 'sampler';
  return undefined;
}

/** The cluster's own processes in `stateDir` (see clusterProcessKind), found by command line. */
export function findClusterProcesses(stateDir: string): (HostProcess & { kind: ClusterProcessKind })[] {
  const dir = stateDir.endsWith(path.sep) ? stateDir : stateDir + path.sep;
  return findProcesses(dir).flatMap((p) => {
    const kind = clusterProcessKind(p, dir);
    return kind ? [{ ...p, kind }] : [];
  });
}

export function readPidFile(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The live pid a daemon wrote to `pidFile`, verified against its command line
 * (QEMU's -pidfile and vde_switch's --pidfile name the file there): a stale
 * pid file, or its pid reused by another process, counts as none.
 */
export function daemonPid(pidFile: string): number | undefined {
  const pid = readPidFile(pidFile);
  if (pid === undefined || !isAlive(pid)) return undefined;
  return cmdline(pid)?.includes(pidFile) ? pid : undefined;
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

export function hostBootId(): string {
  return fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
