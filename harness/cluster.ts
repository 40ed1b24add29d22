/**
 * The cluster: state dir, lock, image, VDE switch, nodes started tier by
 * tier (each tier waits for SSH and its units before the next), status,
 * stop and clean. Knows nodes and units, never what a role's server is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { resolveAccel } from './accel.js';
import type { HarnessConfig } from './config.js';
import { cpuShare, readSamples, recordSample, startSampler, stopSampler } from './cpu.js';
import { HostError, NodeError, UsageError, WaitTimeoutError } from './errors.js';
import { type BuiltImage, ensureImage } from './image/debian.js';
import { requirePortsFree, requireTools } from './host.js';
import { FileLock } from './lock.js';
import { elapsed, progress } from './log.js';
import { Node } from './node.js';
import { findProcesses, procStat, terminate } from './proc.js';
import { type Accel, type BootSpec, QemuVm } from './qemu.js';
import { SshPool } from './ssh.js';
import { type Stack, readyUnits, secretsFor } from './stack.js';
import { type NodeSpec, PROFILES, hostPort, tiers } from './topology.js';
import { VdeSwitch } from './vde.js';

const STATE_MARKER = '.ultracloud-test-cluster';

/** What `start` records in the state dir, for status, attach and tests. */
export interface ClusterRuntime {
  profile: string;
  stack: string;
  image: BuiltImage;
  accel: Accel;
  accelReason: string;
  portBase: number;
  startedAt: string;
}

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
}

export interface StatusRow {
  node: string;
  state: string;
  pid?: number;
  sshPort: number;
  forwards: Record<string, number>;
  accel: string;
  uptimeS?: number;
  cpu?: { share: number; windowS: number };
}

export class ClusterStartError extends Error {
  override name = 'ClusterStartError';
  constructor(readonly failures: Map<string, Error>) {
    super(
      `cluster start failed on ${[...failures.keys()].join(', ')}:\n` +
        [...failures.values()].map((e) => e.message).join('\n\n'),
    );
  }
}

export interface StartOptions {
  /** Fresh disks for every node (what a test run that owns the cluster wants). */
  fresh?: boolean;
  rebuild?: boolean;
}

export class Cluster<Ops = unknown> {
  readonly specs: NodeSpec[];
  readonly vde: VdeSwitch;
  readonly keyPath: string;
  readonly runtimeFile: string;
  /** The stack's per-cluster secrets, one root-only file each; handed to nodes over fw_cfg, never on a command line. */
  readonly secretsDir: string;
  private pool?: SshPool;

  constructor(
    readonly cfg: HarnessConfig,
    readonly stack: Stack<Ops>,
  ) {
    this.specs = PROFILES[cfg.profile].nodes;
    this.vde = new VdeSwitch(cfg.stateDir);
    this.keyPath = path.join(cfg.stateDir, 'ssh', 'id_ed25519');
    this.runtimeFile = path.join(cfg.stateDir, 'cluster.json');
    this.secretsDir = path.join(cfg.stateDir, 'secrets');
  }

  get stateDir(): string {
    return this.cfg.stateDir;
  }

  spec(name: string): NodeSpec {
    const s = this.specs.find((n) => n.name === name);
    if (!s) throw new UsageError(`unknown node '${name}' (nodes: ${this.specs.map((n) => n.name).join(', ')})`);
    return s;
  }

  vm(name: string): QemuVm {
    return new QemuVm(name, path.join(this.stateDir, this.spec(name).name));
  }

  get ssh(): SshPool {
    this.pool ??= new SshPool(
      new Map(this.specs.map((s) => [s.name, { port: this.sshPort(s), privateKeyPath: this.keyPath }])),
    );
    return this.pool;
  }

  node(name: string): Node {
    return new Node(this.spec(name), this.vm(name), this.ssh);
  }

  sshPort(s: NodeSpec): number {
    return hostPort(this.cfg.portBase, s.forwards.find((f) => f.name === 'ssh')!);
  }

  forwards(s: NodeSpec): Record<string, number> {
    return Object.fromEntries(s.forwards.map((f) => [f.name, hostPort(this.cfg.portBase, f)]));
  }

  runtime(): ClusterRuntime | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.runtimeFile, 'utf8')) as ClusterRuntime;
    } catch {
      return undefined;
    }
  }

  lock(purpose: string): FileLock {
    this.ensureStateDir();
    return FileLock.acquire(path.join(this.stateDir, 'lock'), purpose);
  }

  runningNodes(): NodeSpec[] {
    return this.specs.filter((s) => this.vm(s.name).pid() !== undefined);
  }

  async build(rebuild = false): Promise<BuiltImage> {
    return ensureImage(this.stack, this.specs, {
      cacheDir: this.cfg.cacheDir,
      debianSources: this.cfg.debianSources,
      rebuild,
    });
  }

  kernelCmdline(s: NodeSpec): string {
    const key = fs.readFileSync(`${this.keyPath}.pub`, 'utf8').trim();
    return [
      'console=ttyS0,115200',
      'root=/dev/vda',
      'rw',
      // Kernel chatter on an emulated UART costs boot time; warnings still show.
      'quiet',
      // Test VMs on a shared host: Spectre mitigations only slow TCG down.
      'mitigations=off',
      `systemd.hostname=${s.name}`,
      `ultracloud.node=${s.name}`,
      `ultracloud.cluster_ip=${s.clusterIp}/${s.clusterPrefix}`,
      `ultracloud.cluster_mac=${s.clusterMac}`,
      `ultracloud.mgmt_mac=${s.mgmtMac}`,
      ...this.stack.bootArgs(s),
      // The public half only: anyone may read a command line.
      `ultracloud.authkey=${Buffer.from(key).toString('base64')}`,
    ].join(' ');
  }

  /**
   * The secrets `s`'s roles need, as QEMU fw_cfg files: QEMU reads each file
   * itself, so only its path is in argv; the guest sees it root-only under
   * /sys/firmware/qemu_fw_cfg, and the image's generator copies it to
   * /run/ultracloud/<name> (0600).
   */
  secretFiles(s: NodeSpec): { name: string; file: string }[] {
    return secretsFor(this.stack, s).map((x) => ({ name: `opt/ultracloud/${x.name}`, file: path.join(this.secretsDir, x.name) }));
  }

  /**
   * Builds (if needed) and boots every node that is not running, tier by
   * tier. Running nodes are left alone, so `start` also resumes a partial
   * cluster.
   */
  async start(opts: StartOptions = {}): Promise<void> {
    const t0 = Date.now();
    requireTools(['qemu-system-x86_64', 'qemu-img', 'vde_switch', 'ssh-keygen']);
    this.ensureStateDir();
    const toStart = this.specs.filter((s) => !this.vm(s.name).pid());
    await requirePortsFree(
      toStart.flatMap((s) => s.forwards.map((f) => ({ port: hostPort(this.cfg.portBase, f), what: `${s.name} ${f.name}` }))),
    );
    const image = await this.build(opts.rebuild);
    const verdict = await resolveAccel(this.cfg.accel, this.cfg.cacheDir, image);
    progress('accel', `${verdict.accel} (${verdict.reason})`);
    await this.ensureKey();
    await this.vde.start();
    const runtime: ClusterRuntime = {
      profile: this.cfg.profile,
      stack: this.stack.name,
      image,
      accel: verdict.accel,
      accelReason: verdict.reason,
      portBase: this.cfg.portBase,
      startedAt: new Date().toISOString(),
    };
    fs.writeFileSync(this.runtimeFile, JSON.stringify(runtime, null, 2));

    const failures = new Map<string, Error>();
    for (const tier of tiers(this.specs)) {
      if (failures.size > 0) {
        for (const s of tier) failures.set(s.name, new NodeError(s.name, `not started: an earlier tier failed (${[...failures.keys()].join(', ')})`));
        continue;
      }
      const pending = tier.filter((s) => toStart.includes(s));
      if (pending.length === 0) continue;
      progress('boot', `tier ${tier[0].tier}: starting ${pending.map((s) => s.name).join(' ')}`);
      const tierStart = Date.now();
      await Promise.all(
        pending.map(async (s) => {
          const vm = this.vm(s.name);
          const disk = await vm.prepareDisk(image.disk, opts.fresh ?? false);
          const pid = await vm.start(this.bootSpec(s, runtime));
          progress(s.name, `QEMU pid ${pid} (${disk} disk), SSH on 127.0.0.1:${this.sshPort(s)}, log ${vm.logFile}`);
        }),
      );
      startSampler(this.stateDir);
      const results = await Promise.allSettled(pending.map((s) => this.waitReady(s, this.cfg.bootTimeoutS * 1000, tierStart)));
      results.forEach((r, i) => {
        if (r.status === 'rejected') failures.set(pending[i].name, r.reason as Error);
      });
    }
    if (failures.size > 0) throw new ClusterStartError(failures);
    progress('boot', `all ${this.specs.length} nodes ready in ${elapsed(t0)}`);
  }

  bootSpec(s: NodeSpec, rt: ClusterRuntime): BootSpec {
    return {
      accel: rt.accel,
      memoryMiB: s.memoryMiB,
      kernel: rt.image.kernel,
      initrd: rt.image.initrd,
      append: this.kernelCmdline(s),
      fwCfgFiles: this.secretFiles(s),
      baseDisk: rt.image.disk,
      vdeSocket: this.vde.socket,
      clusterMac: s.clusterMac,
      mgmtMac: s.mgmtMac,
      hostForwards: s.forwards.map((f) => ({ hostPort: hostPort(this.cfg.portBase, f), guestPort: f.guestPort })),
    };
  }

  /**
   * Powers one node off through QEMU, as pulling its plug would (`graceMs`
   * 0), or by the ACPI power button first.
   */
  async powerOff(name: string, graceMs = 0): Promise<void> {
    this.ssh.drop(name);
    await this.vm(name).stop(graceMs);
  }

  /** Boots one stopped node of a started cluster again, on its own disk, and waits until it is ready. */
  async bootNode(name: string): Promise<void> {
    const rt = this.runtime();
    if (!rt) throw new HostError(`no cluster was started in ${this.stateDir}`);
    const s = this.spec(name);
    const started = Date.now();
    const pid = await this.vm(name).start(this.bootSpec(s, rt));
    progress(s.name, `QEMU pid ${pid} (booted again)`);
    await this.waitReady(s, this.cfg.bootTimeoutS * 1000, started);
  }

  /** SSH, then each unit the node's roles need, then the end of boot; fails fast. */
  async waitReady(s: NodeSpec, deadlineMs: number, since = Date.now()): Promise<void> {
    const node = this.node(s.name);
    const vm = node.vm;
    const deadline = since + deadlineMs;
    await this.ssh.waitForSsh(
      s.name,
      deadline - Date.now(),
      () =>
        vm.pid()
          ? undefined
          : new NodeError(s.name, 'QEMU exited while waiting for SSH', {
              expected: 'a running QEMU and SSH login',
              lastSeen: `no live QEMU (pid file ${vm.pidFile})`,
              consoleTail: vm.consoleTail(),
            }),
      () => vm.consoleTail(),
    );
    progress(s.name, `SSH up (${elapsed(since)})`);
    const units = readyUnits(this.stack, s);
    for (const unit of units) await node.waitForUnit(unit, Math.max(1000, deadline - Date.now()));
    const r = await node.execute('systemctl is-system-running --wait', Math.max(1000, deadline - Date.now()));
    const state = r.stdout.trim();
    if (state !== 'running' && state !== 'degraded') {
      throw new WaitTimeoutError(s.name, `boot did not finish (systemctl is-system-running: ${state || 'no answer'})`, {
        expected: 'running',
        lastSeen: state,
        consoleTail: vm.consoleTail(),
      });
    }
    progress(s.name, `ready: ${units.join(', ')} active, system ${state} (${elapsed(since)})`);
  }

  /**
   * Stops every QEMU and the switch of this state dir, found by pid file
   * and by command line, so runs killed mid-boot leave nothing behind.
   */
  async stop(graceMs = 0): Promise<string[]> {
    await this.pool?.closeAll();
    const stopped: string[] = [];
    await Promise.all(
      this.specs.map(async (s) => {
        const vm = this.vm(s.name);
        if (vm.pid()) {
          await vm.stop(graceMs);
          stopped.push(s.name);
        }
      }),
    );
    await this.vde.stop();
    await stopSampler(this.stateDir);
    const leftovers = fs.existsSync(this.stateDir) ? findProcesses(this.stateDir + path.sep) : [];
    if (leftovers.length > 0) {
      progress('stop', `stopping ${leftovers.length} leftover process(es): ${leftovers.map((p) => `${p.pid} ${path.basename(p.argv[0])}`).join(', ')}`);
      await terminate(leftovers.map((p) => p.pid));
    }
    return stopped.sort();
  }

  /** Stops the cluster and removes the runtime state dir, and nothing else. */
  async clean(): Promise<void> {
    await this.stop();
    if (!fs.existsSync(this.stateDir)) return;
    if (!fs.existsSync(path.join(this.stateDir, STATE_MARKER))) {
      throw new HostError(`${this.stateDir} does not look like a cluster state dir (no ${STATE_MARKER}); not removing it`);
    }
    await execa('rm', ['-rf', '--one-file-system', this.stateDir]);
  }

  async status(): Promise<StatusRow[]> {
    const rt = this.runtime();
    return Promise.all(
      this.specs.map(async (s) => {
        const vm = this.vm(s.name);
        const pid = vm.pid();
        const row: StatusRow = {
          node: s.name,
          state: await vm.state(),
          pid,
          sshPort: this.sshPort(s),
          forwards: this.forwards(s),
          accel: pid ? (rt?.accel ?? 'unknown') : '-',
        };
        if (pid) {
          row.uptimeS = vm.uptimeS();
          const st = procStat(pid);
          if (st) {
            const now = { t: Date.now(), ticks: st.cpuTicks, pid };
            row.cpu = cpuShare(readSamples(vm.dir), now);
            recordSample(vm.dir, pid, now.t);
          }
        }
        return row;
      }),
    );
  }

  info(bootErrors: Record<string, string> = {}): ClusterInfo {
    const rt = this.runtime();
    return {
      stateDir: this.stateDir,
      profile: this.cfg.profile,
      stack: this.stack.name,
      accel: rt?.accel ?? 'unknown',
      accelReason: rt?.accelReason ?? '',
      portBase: this.cfg.portBase,
      keyPath: this.keyPath,
      nodes: this.specs.map((s) => ({
        name: s.name,
        kind: s.kind,
        clusterIp: s.clusterIp,
        sshPort: this.sshPort(s),
        forwards: this.forwards(s),
      })),
      bootErrors,
    };
  }

  async close(): Promise<void> {
    await this.pool?.closeAll();
  }

  private ensureStateDir(): void {
    fs.mkdirSync(this.stateDir, { recursive: true });
    const marker = path.join(this.stateDir, STATE_MARKER);
    if (!fs.existsSync(marker)) fs.writeFileSync(marker, 'runtime state of an UltraCloud test cluster; `cluster clean` removes this folder\n');
  }

  private async ensureKey(): Promise<void> {
    fs.mkdirSync(this.secretsDir, { recursive: true, mode: 0o700 });
    for (const x of this.stack.secrets) {
      const file = path.join(this.secretsDir, x.name);
      if (fs.existsSync(file)) continue;
      // Written whole under a temp name: a killed start never leaves half a secret.
      fs.writeFileSync(`${file}.tmp`, x.make(), { mode: 0o600 });
      fs.renameSync(`${file}.tmp`, file);
    }
    if (fs.existsSync(this.keyPath) && fs.existsSync(`${this.keyPath}.pub`)) return;
    fs.mkdirSync(path.dirname(this.keyPath), { recursive: true, mode: 0o700 });
    fs.rmSync(this.keyPath, { force: true });
    fs.rmSync(`${this.keyPath}.pub`, { force: true });
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `ultracloud-test-cluster-${this.cfg.profile}`, '-f', this.keyPath]);
  }
}
