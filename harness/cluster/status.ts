/**
 * What `cluster status` and the tests' global setup see: each node's
 * readiness and QEMU state, its ports, its CPU share over the last minute
 * (sampled into the state dir), and what each node is expected to offer.
 */
import fs from 'node:fs';
import { cpuShare, readSamples, recordSample } from '../cpu.js';
import { type NodeExpectations, nodeExpectations, readHostVirt } from '../expectations.js';
import { isAlive, procStat } from '../proc.js';
import type { Accel, QemuVm, VmState } from '../vm/qemu.js';
import type { ClusterCore } from './core.js';
import type { ClusterRuntime } from './runtime.js';

/** A node's readiness as `status` reports it (see StatusRow.state). */
export type Readiness = 'ready' | 'booting' | 'no-ssh' | 'down' | 'io-error' | 'paused' | 'unresponsive' | 'stopped';

/** What global setup hands to test files (serialisable). */
export interface ClusterInfo {
  stateDir: string;
  profile: string;
  stack: string;
  accel: Accel | 'unknown';
  accelReason: string;
  portBase: number;
  keyPath: string;
  nodes: { name: string; kind: string; clusterIp: string; sshPort: number; forwards: Record<string, number> }[];
  /** Nodes whose boot failed in global setup, with the evidence. */
  bootErrors: Record<string, string>;
  /** Per node, what the harness expects it to offer (cluster.json's `expect`). */
  expect: Record<string, NodeExpectations>;
}

export interface StatusRow {
  node: string;
  /**
   * ready: QEMU running and root logs in over SSH within a few seconds;
   * booting: QEMU running, no SSH yet, within its boot deadline; no-ssh:
   * QEMU running, no SSH login past that deadline; down: no QEMU while
   * other nodes run; io-error:
   * QEMU paused the guest on a disk I/O error; paused: paused otherwise;
   * unresponsive: QMP does not answer; stopped: the cluster is not running.
   */
  state: Readiness;
  /** QEMU's own state (QMP query-status). */
  vm: VmState;
  pid?: number;
  sshPort: number;
  forwards: Record<string, number>;
  accel: string;
  uptimeS?: number;
  cpu?: { share: number; windowS: number };
}

/** What status saw of one node, for `readiness`. */
export interface NodeSeen {
  vm: VmState;
  /** Whether any part of the cluster runs (ClusterCore.isStarted). */
  started: boolean;
  /** Whether root logged in over SSH (asked only of a running QEMU). */
  ssh?: boolean;
  /** cluster.json says a live runner is still booting the cluster. */
  ownerBooting: boolean;
  /** How long the QEMU has run (asked only when SSH did not answer). */
  uptimeS?: number;
  bootTimeoutS: number;
}

/** A node's readiness from what was seen of it (StatusRow.state). Pure. */
export function readiness(seen: NodeSeen): Readiness {
  if (seen.vm === 'stopped' || seen.vm === 'shutdown') return seen.started ? 'down' : 'stopped';
  if (seen.vm !== 'running') return seen.vm;
  if (seen.ssh) return 'ready';
  return seen.ownerBooting || (seen.uptimeS ?? 0) < seen.bootTimeoutS ? 'booting' : 'no-ssh';
}

/** Whether root logs in on `name` over SSH and runs `true` within `timeoutMs`. */
export async function sshAnswers(c: ClusterCore, name: string, timeoutMs = 30_000): Promise<boolean> {
  if (!fs.existsSync(c.keyPath)) return false;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs + 1000)));
  const attempt = (async () => {
    try {
      await c.ssh.connection(name, timeoutMs);
      return (await c.ssh.exec(name, 'true', timeoutMs)).code === 0;
    } catch {
      c.ssh.drop(name);
      return false;
    }
  })();
  try {
    return await Promise.race([attempt, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The QEMU's CPU share since its sample nearest a minute ago (`ticks`: its CPU ticks now); records a new sample. */
function cpuSample(vm: QemuVm, pid: number, ticks: number): StatusRow['cpu'] {
  const now = { t: Date.now(), ticks, pid };
  const share = cpuShare(readSamples(vm.dir), now);
  recordSample(vm.dir, pid, now.t);
  return share;
}

export async function status(c: ClusterCore): Promise<StatusRow[]> {
  const rt = c.runtime();
  const started = c.isStarted();
  const ownerBooting = rt?.state === 'booting' && rt.pid !== undefined && isAlive(rt.pid);
  return Promise.all(
    c.specs.map(async (s) => {
      const vm = c.vm(s.name);
      const pid = vm.pid();
      const vmState = await vm.state();
      const ssh = vmState === 'running' ? await sshAnswers(c, s.name) : undefined;
      const uptimeS = ssh === false && !ownerBooting ? vm.uptimeS() : undefined;
      const row: StatusRow = {
        node: s.name,
        state: readiness({ vm: vmState, started, ssh, ownerBooting, uptimeS, bootTimeoutS: c.cfg.bootTimeoutS }),
        vm: vmState,
        pid,
        sshPort: c.sshPort(s),
        forwards: c.forwards(s),
        accel: pid ? (rt?.accel ?? 'unknown') : '-',
      };
      if (pid) {
        row.uptimeS = vm.uptimeS();
        const st = procStat(pid);
        if (st) row.cpu = cpuSample(vm, pid, st.cpuTicks);
      }
      return row;
    }),
  );
}

/** What each node must offer, from the argv `rt` boots it with and the host's facts. */
export function expectations(c: ClusterCore, rt: ClusterRuntime): Record<string, NodeExpectations> {
  const host = readHostVirt();
  return Object.fromEntries(c.specs.map((s) => [s.name, nodeExpectations(c.vm(s.name).args(c.bootSpec(s, rt)), host)]));
}

export function info(c: ClusterCore, bootErrors: Record<string, string> = {}): ClusterInfo {
  const rt = c.runtime();
  return {
    stateDir: c.stateDir,
    profile: c.cfg.profile,
    stack: c.stack.name,
    accel: rt?.accel ?? 'unknown',
    accelReason: rt?.accelReason ?? '',
    portBase: c.cfg.portBase,
    keyPath: c.keyPath,
    nodes: c.specs.map((s) => ({
      name: s.name,
      kind: s.kind,
      clusterIp: s.clusterIp,
      sshPort: c.sshPort(s),
      forwards: c.forwards(s),
    })),
    bootErrors,
    // A cluster.json written before expectations were recorded: the same function over the same argv.
    expect: rt ? (rt.expect ?? expectations(c, rt)) : {},
  };
}
