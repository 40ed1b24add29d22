/**
 * The cluster: state dir, lock, image, VDE switch, nodes started tier by
 * tier (each tier waits for SSH and its units before the next), status,
 * stop and clean. Knows nodes and units, never what a role's server is.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { resolveAccel } from './accel.js';
import { type NodeExpectations, nodeExpectations, readHostVirt } from './expectations.js';
import type { HarnessConfig } from './config.js';
import { cpuShare, readSamples, recordSample, startSampler, stopSampler } from './cpu.js';
import { HostError, NodeError, UsageError, WaitTimeoutError } from './errors.js';
import { type BuiltImage, ensureImage, imageDir, imageFiles, imageRecipe } from './image/debian.js';
import { readBuilt } from './image/cache.js';
import { type BuiltGuestImage, ensureGuestImage } from './image/guest.js';
import { hostSourcesFor } from './image/apt-sources.js';
import { BOOT_BYTES_PER_NODE, formatBytes, freeBytes, requireFreeSpace, requirePortsFree, requireTools } from './host.js';
import { FileLock } from './lock.js';
import { elapsed, progress, withHeartbeat } from './log.js';
import { Node, shellQuote } from './node.js';
import { findClusterProcesses, isAlive, procStat, terminate, ticksToSeconds } from './proc.js';
import { waitFor } from './wait.js';
import { type Accel, type BootSpec, QemuVm, type VmState } from './qemu.js';
import { SshPool } from './ssh.js';
import { SNAPSHOT_FORMAT, type SnapshotKeyParts, type SnapshotMeta, SnapshotStore, hostCpuModel, normaliseArgs, qemuVersion, snapshotKey } from './snapshot.js';
import { type Stack, readyUnits, rolesFor, secretsFor } from './stack.js';
import { type NodeSpec, PROFILES, hostPort, tiers } from './topology.js';
import { VdeSwitch } from './vde.js';

const STATE_MARKER = '.ultracloud-test-cluster';

/** Whether the boot recorded in cluster.json completed. */
export type BootState = 'booting' | 'ready' | 'failed';

/**
 * What `start` records in the state dir (`cluster.json`), for status, attach
 * and tests. `pid`, `state` and `recipeHash` are absent in files written
 * before they were recorded.
 */
export interface ClusterRuntime {
  profile: string;
  stack: string;
  image: BuiltImage;
  accel: Accel;
  accelReason: string;
  portBase: number;
  startedAt: string;
  /** The image recipe hash the nodes boot from (the image's cache key). */
  recipeHash?: string;
  /** The process that booted the cluster (or is booting it). */
  pid?: number;
  /** 'booting' while that process boots it; 'booting' with a dead pid: the runner died mid-boot. */
  state?: BootState;
  /** When `state` was last written. */
  updatedAt?: string;
  /** Nodes that did not come up, when state is 'failed'. */
  failedNodes?: string[];
  /** How the nodes came up: booted from the image, or restored from a warm snapshot. */
  boot?: 'cold' | 'restored';
  /** The warm snapshot the nodes were restored from (their disks are overlays on its disks). */
  snapshot?: { key: string; dir: string; createdAt: string };
  /** Seconds from `start` to all nodes ready. */
  readyS?: number;
  /** Per node, what it must offer, from the QEMU argv it was given and the host's facts (harness/expectations.ts). */
  expect?: Record<string, NodeExpectations>;
}

/** A boot wait prints which nodes it still waits for, and on what, this often. */
const HEARTBEAT_MS = 30_000;
/** How often a boot wait asks QMP whether a node's QEMU paused on an I/O error. */
const IO_ERROR_POLL_MS = 5_000;

/**
 * Why tests must not attach to the cluster recorded in `rt`, or undefined
 * when they may: one line that says what to do. Pure: the current recipe
 * hash (undefined: unknown here, not checked) and pid liveness come in.
 */
export function attachRefusal(
  stateDir: string,
  rt: ClusterRuntime | undefined,
  currentRecipe: string | undefined,
  alive: (pid: number) => boolean,
): string | undefined {
  if (!rt) {
    return `QEMUs are running in ${stateDir} but it has no cluster.json, so nothing says what they run: stop them with \`npx cluster stop\` (and start again)`;
  }
  const booted = rt.recipeHash ?? rt.image?.hash;
  if (currentRecipe && booted && booted !== currentRecipe) {
    return (
      `the running cluster in ${stateDir} was booted from image recipe ${booted}, but this checkout's recipe is ${currentRecipe}: ` +
      'restart it (`npx cluster stop`, then `npx cluster start`) before running tests against it'
    );
  }
  if (rt.state === 'booting' && rt.pid !== undefined && !alive(rt.pid)) {
    return (
      `the cluster in ${stateDir} was left half-booted by pid ${rt.pid}, which is gone (boot started ${rt.startedAt}): ` +
      'finish its boot with `npx cluster start`, or `npx cluster stop` it'
    );
  }
  return undefined;
}

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
  /** Boot from the image even when a warm snapshot fits (also ULTRACLOUD_COLD). */
  cold?: boolean;
}

/** Before a capture: every node under this share of a host core for this long (at most QUIET_MAX_S). */
const QUIET_SHARE = 0.3;
const QUIET_WINDOW_S = 3;
const QUIET_MAX_S = 180;

/** How long a restored cluster may take to load, resume and be ready before the restore counts as failed. */
const RESTORE_DEADLINE_MS = 180_000;

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

  /** Written whole under a temp name: a reader never sees half a cluster.json. */
  private writeRuntime(rt: ClusterRuntime): void {
    const tmp = `${this.runtimeFile}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${JSON.stringify(rt, null, 2)}\n`);
    fs.renameSync(tmp, this.runtimeFile);
  }

  private setBootState(rt: ClusterRuntime, state: BootState, failedNodes?: string[]): void {
    rt.state = state;
    rt.updatedAt = new Date().toISOString();
    if (failedNodes) rt.failedNodes = failedNodes;
    else delete rt.failedNodes;
    this.writeRuntime(rt);
  }

  /**
   * The lock lives next to the state dir (`<stateDir>.lock`), not inside it,
   * so `clean` and `fresh-*` hold it while they remove the state dir.
   */
  get lockFile(): string {
    return `${this.stateDir}.lock`;
  }

  lock(purpose: string): FileLock {
    return FileLock.acquire(this.lockFile, purpose, this.stateDir);
  }

  /**
   * The image recipe hash this checkout would build (no build: hashes the
   * recipe only); undefined when it cannot be computed here (no apt sources).
   */
  currentRecipeHash(): string | undefined {
    try {
      if (this.stack.imageBackend) return this.stack.imageBackend.recipeHash(this.specs);
      return imageRecipe(this.stack, this.specs, hostSourcesFor(this.stack.suite, this.cfg.debianSources)).hash;
    } catch {
      return undefined;
    }
  }

  /** Why tests must not attach to the running cluster (see attachRefusal), or undefined. */
  attachRefusal(): string | undefined {
    const rt = this.runtime();
    const recipe = this.currentRecipeHash();
    const booted = rt?.recipeHash ?? rt?.image?.hash;
    if (this.cfg.devRecipeDrift && recipe && booted && recipe !== booted) {
      progress('attach', `WARNING: ULTRACLOUD_DEV_RECIPE_DRIFT: attaching to a cluster booted from image recipe ${booted}, not this checkout's ${recipe}`);
      return attachRefusal(this.stateDir, rt, undefined, isAlive);
    }
    return attachRefusal(this.stateDir, rt, recipe, isAlive);
  }

  runningNodes(): NodeSpec[] {
    return this.specs.filter((s) => this.vm(s.name).pid() !== undefined);
  }

  async build(rebuild = false): Promise<BuiltImage> {
    const opts = { cacheDir: this.cfg.cacheDir, debianSources: this.cfg.debianSources, rebuild, verbose: this.cfg.verbose };
    // A stack with its own image backend (nix) builds there; its preflight runs first, so a host that cannot build says so in one line.
    if (this.stack.imageBackend) return this.stack.imageBackend.ensure(this.specs, opts);
    return ensureImage(this.stack, this.specs, opts);
  }

  /** Throws (one line) when this host cannot build the stack's images; reads only. */
  preflightImage(): void {
    this.stack.imageBackend?.preflight();
  }

  /** The tenant web app's guest image (guests/webapp), built like the node image from the same suite and sources. */
  async buildGuest(rebuild = false): Promise<BuiltGuestImage> {
    const { webappGuest } = await import('../guests/webapp/index.js');
    return ensureGuestImage(webappGuest, { cacheDir: this.cfg.cacheDir, suite: this.stack.suite, debianSources: this.cfg.debianSources, rebuild, verbose: this.cfg.verbose });
  }

  /** The public half of the cluster's SSH key, as the nodes get it on their kernel command line. */
  authKey(): string {
    return fs.readFileSync(`${this.keyPath}.pub`, 'utf8').trim();
  }

  kernelCmdline(s: NodeSpec, key = this.authKey()): string {
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
    const before = this.runtime();
    if (before?.state === 'booting' && before.pid !== undefined && before.pid !== process.pid && !isAlive(before.pid)) {
      const paused = (await Promise.all(this.runningNodes().map(async (s) => ((await this.vm(s.name).state()) === 'paused' ? s.name : undefined)))).filter(Boolean);
      if (paused.length > 0) {
        // Paused by a runner that died mid-capture (or mid-restore): nothing to finish, so start over.
        progress('boot', `pid ${before.pid} died and left ${paused.join(' ')} paused (a snapshot capture or restore cut short): stopping the cluster and starting it whole`);
        await this.stop();
      }
    }
    const prior = this.runtime();
    const toStart = this.specs.filter((s) => !this.vm(s.name).pid());
    // A running, fully booted cluster is left exactly as it is (cluster.json included).
    if (toStart.length === 0 && prior && (prior.state ?? 'ready') === 'ready') {
      progress('boot', `all ${this.specs.length} nodes already running (booted ${prior.startedAt}); nothing to do`);
      return;
    }
    requireTools(['qemu-system-x86_64', 'qemu-img', 'vde_switch', 'ssh-keygen']);
    // An image backend that cannot build here (no nix, no UltraCloud flake) stops before the state dir is touched.
    const resumable = toStart.length < this.specs.length && prior !== undefined && fs.existsSync(prior.image.disk);
    if (!resumable) this.preflightImage();
    this.ensureStateDir();
    await requirePortsFree(
      toStart.flatMap((s) => s.forwards.map((f) => ({ port: hostPort(this.cfg.portBase, f), what: `${s.name} ${f.name}` }))),
    );
    requireFreeSpace(this.stateDir, toStart.length * BOOT_BYTES_PER_NODE, `booting ${toStart.length} node(s)`, 'free space there, or set PHOTON_VM_DIR elsewhere');
    // Nodes already running keep their image and accel; the others join them on the same.
    const resume = toStart.length < this.specs.length && prior !== undefined && fs.existsSync(prior.image.disk);
    // A boot that never finished (its runner died, or it failed) is waited for again, running nodes included.
    const recheck = !prior || (prior.state ?? 'ready') !== 'ready';
    let image: BuiltImage;
    let verdict: { accel: Accel; reason: string };
    if (resume) {
      image = prior.image;
      verdict = { accel: prior.accel, reason: prior.accelReason };
      const running = this.specs.filter((s) => !toStart.includes(s)).map((s) => s.name);
      progress('boot', `resuming the cluster booted ${prior.startedAt} on image ${image.hash} (running: ${running.join(' ')})`);
    } else {
      image = await this.build(opts.rebuild);
      verdict = await resolveAccel(this.cfg.accel, this.cfg.cacheDir, image);
    }
    progress('accel', `${verdict.accel} (${verdict.reason})`);
    // Boot figures leave the image build out.
    const bootT0 = Date.now();
    await this.ensureKey();
    await this.vde.start();
    const now = new Date().toISOString();
    const runtime: ClusterRuntime = {
      profile: this.cfg.profile,
      stack: this.stack.name,
      image,
      accel: verdict.accel,
      accelReason: verdict.reason,
      portBase: this.cfg.portBase,
      startedAt: resume ? prior.startedAt : now,
      recipeHash: image.hash,
      pid: process.pid,
      state: 'booting',
      updatedAt: now,
    };
    runtime.expect = this.expectations(runtime);
    this.writeRuntime(runtime);

    // A whole cluster to bring up: from the warm snapshot when one fits, else cold (and captured once ready).
    const whole = toStart.length === this.specs.length;
    if (whole) {
      const why = (opts.cold ?? false) || this.cfg.cold ? 'forced (--cold or ULTRACLOUD_COLD)' : await this.tryRestore(runtime, bootT0);
      if (why === undefined) return;
      progress('snapshot', `cold boot: ${why}`);
      runtime.boot = 'cold';
      delete runtime.snapshot;
      this.writeRuntime(runtime);
    }
    const created = new Set<string>();

    const failures = new Map<string, Error>();
    try {
      for (const tier of tiers(this.specs)) {
        if (failures.size > 0) {
          for (const s of tier) failures.set(s.name, new NodeError(s.name, `not started: an earlier tier failed (${[...failures.keys()].join(', ')})`));
          continue;
        }
        const pending = tier.filter((s) => toStart.includes(s));
        const waiting = tier.filter((s) => toStart.includes(s) || recheck);
        if (waiting.length === 0) continue;
        progress(
          'boot',
          pending.length > 0
            ? `tier ${tier[0].tier}: starting ${pending.map((s) => s.name).join(' ')}`
            : `tier ${tier[0].tier}: waiting for ${waiting.map((s) => s.name).join(' ')} (already running)`,
        );
        const tierStart = Date.now();
        await Promise.all(
          pending.map(async (s) => {
            const vm = this.vm(s.name);
            const disk = await vm.prepareDisk(this.baseDisk(s, runtime), opts.fresh ?? false);
            if (disk === 'created') created.add(s.name);
            const pid = await vm.start(this.bootSpec(s, runtime));
            progress(s.name, `QEMU pid ${pid} (${disk} disk), SSH on 127.0.0.1:${this.sshPort(s)}, log ${vm.logFile}`);
          }),
        );
        startSampler(this.stateDir);
        const results = await this.waitTier(waiting, tierStart);
        results.forEach((r, i) => {
          if (r.status === 'rejected') failures.set(waiting[i].name, r.reason as Error);
        });
      }
    } catch (e) {
      this.setBootState(runtime, 'failed', [...failures.keys()]);
      throw e;
    }
    if (failures.size > 0) {
      this.setBootState(runtime, 'failed', [...failures.keys()]);
      throw new ClusterStartError(failures);
    }
    runtime.readyS = (Date.now() - bootT0) / 1000;
    progress('boot', `all ${this.specs.length} nodes ready in ${elapsed(bootT0)}${bootT0 - t0 > 5000 ? ` (${elapsed(t0)} with the image step)` : ''}`);
    // Only a cluster booted whole on new disks, before anything touched it, is worth keeping. Still
    // 'booting' meanwhile: a runner killed mid-capture leaves paused nodes that the next start replaces.
    if (whole && created.size === this.specs.length) {
      try {
        await this.captureSnapshot(runtime);
      } catch (e) {
        progress('snapshot', `not captured: ${(e as Error).message.split('\n')[0]}`);
        if (this.specs.some((s) => this.vm(s.name).pid() === undefined)) {
          this.setBootState(runtime, 'failed', this.specs.filter((s) => this.vm(s.name).pid() === undefined).map((s) => s.name));
          throw e;
        }
      }
    }
    this.setBootState(runtime, 'ready');
  }

  snapshots(): SnapshotStore {
    return new SnapshotStore(this.cfg.cacheDir, this.stack.name, this.cfg.profile);
  }

  /** What a snapshot of this cluster, booted as `rt` says, is keyed by. */
  snapshotParts(rt: ClusterRuntime): SnapshotKeyParts {
    return this.keyParts(rt);
  }

  /**
   * The warm snapshot's key as data, for an image and accel, booted or only
   * planned (`cluster keys` asks before any build): each node's QEMU command
   * line with placeholders for the state dir, the image folder and the SSH
   * key, and the units each node waits for. No harness code is hashed: how
   * snapshots are taken and restored is SNAPSHOT_FORMAT.
   */
  keyParts(plan: { accel: Accel | 'unprobed'; image: BuiltImage }): SnapshotKeyParts {
    const img = plan.image;
    // Before any probe (`cluster keys` on a fresh host) the command lines are written as TCG's; `accel` says it was not probed.
    const boot = { image: img, accel: plan.accel === 'unprobed' ? ('tcg' as const) : plan.accel };
    const imageDirs = [img.dir, ...Object.values(img.nodes ?? {}).flatMap((n) => [n.disk, n.kernel, n.initrd].map((f) => path.dirname(f)))];
    return {
      format: SNAPSHOT_FORMAT,
      stack: this.stack.name,
      profile: this.cfg.profile,
      recipe: img.hash,
      qemu: qemuVersion(),
      accel: plan.accel,
      hostCpu: hostCpuModel(),
      nodes: Object.fromEntries(this.specs.map((s) => [s.name, normaliseArgs(this.vm(s.name).args(this.bootSpec(s, boot, '$KEY')), this.stateDir, imageDirs)])),
      readiness: Object.fromEntries(this.specs.map((s) => [s.name, readyUnits(this.stack, s)])),
    };
  }

  /**
   * The image this checkout boots, built or not: its cached build, else the
   * folder and files a build fills (the snapshot key replaces the folder with
   * a placeholder). Undefined when the recipe cannot be computed here.
   */
  plannedImage(): BuiltImage | undefined {
    const hash = this.currentRecipeHash();
    if (!hash) return undefined;
    const dir = imageDir(this.cfg.cacheDir, this.stack.name, hash);
    return readBuilt<BuiltImage>(dir) ?? { ...imageFiles(dir), stack: this.stack.name, hash, builtAt: '', buildSeconds: 0 };
  }

  /** The disk a node's overlay sits on: the snapshot's disk of that node when restored from one, else the image. */
  baseDisk(s: NodeSpec, rt: ClusterRuntime): string {
    if (rt.snapshot) {
      const disk = path.join(rt.snapshot.dir, `${s.name}.qcow2`);
      if (fs.existsSync(disk)) return disk;
    }
    return this.nodeImage(s, rt).disk;
  }

  /** The disk, kernel and initrd `s` boots: its own where the image has one per node (nix), else the one image. */
  nodeImage(s: NodeSpec, rt: Pick<ClusterRuntime, 'image'>): { disk: string; kernel: string; initrd: string; append: string[] } {
    return rt.image.nodes?.[s.name] ?? { disk: rt.image.disk, kernel: rt.image.kernel, initrd: rt.image.initrd, append: [] };
  }

  /**
   * Restores the whole cluster from the snapshot that fits `rt`: every node
   * loaded paused, all released in one burst, clocks stepped to the host's,
   * then the same readiness as a cold boot. Returns why it did not (one
   * line), with nothing of the attempt left running; undefined when ready.
   */
  private async tryRestore(rt: ClusterRuntime, t0: number): Promise<string | undefined> {
    const store = this.snapshots();
    const found = store.find(this.snapshotParts(rt));
    if (!('meta' in found)) return found.reason;
    const { meta, dir } = found;
    progress('snapshot', `restoring ${meta.key} (captured ${meta.createdAt})`);
    for (const f of meta.files) {
      const to = path.join(this.stateDir, f);
      fs.mkdirSync(path.dirname(to), { recursive: true, mode: 0o700 });
      fs.copyFileSync(path.join(dir, f), `${to}.tmp`);
      fs.chmodSync(`${to}.tmp`, 0o600);
      fs.renameSync(`${to}.tmp`, to);
    }
    rt.boot = 'restored';
    rt.snapshot = { key: meta.key, dir, createdAt: meta.createdAt };
    this.writeRuntime(rt);
    try {
      await Promise.all(
        this.specs.map(async (s) => {
          const vm = this.vm(s.name);
          await vm.prepareDisk(this.baseDisk(s, rt), true);
          await vm.start({ ...this.bootSpec(s, rt), incoming: true });
          await vm.loadState(path.join(dir, meta.nodes[s.name].state));
        }),
      );
      progress('snapshot', `${this.specs.length} nodes loaded in ${elapsed(t0)}; releasing them together`);
      await Promise.all(this.specs.map((s) => this.vm(s.name).resume()));
      startSampler(this.stateDir);
      await this.afterResume(t0, RESTORE_DEADLINE_MS);
    } catch (e) {
      const reason = (e instanceof ClusterStartError ? [...e.failures.values()][0] : (e as Error)).message.split('\n')[0];
      await this.pool?.closeAll();
      await Promise.all(this.specs.map((s) => this.vm(s.name).stop(0)));
      // A snapshot that loads but does not come up is no use to the next start either.
      store.remove(dir);
      return `restoring snapshot ${meta.key} failed (${reason}); it was removed`;
    }
    rt.readyS = (Date.now() - t0) / 1000;
    this.setBootState(rt, 'ready');
    progress('boot', `all ${this.specs.length} nodes ready from snapshot ${meta.key} in ${elapsed(t0)}`);
    return undefined;
  }

  /**
   * Captures the whole cluster at one point: all paused, each node's state
   * and disk written, all resumed together, then settled and ready again.
   * The snapshot is only found once complete.
   */
  async captureSnapshot(rt: ClusterRuntime): Promise<SnapshotMeta> {
    // A restored node's disk is an overlay on the old snapshot's disk: copied, it would hang on a file the new capture deletes.
    if (rt.snapshot) throw new HostError(`a snapshot is captured from a cluster booted cold, not from one restored from snapshot ${rt.snapshot.key}`);
    const parts = this.snapshotParts(rt);
    const key = snapshotKey(parts);
    const store = this.snapshots();
    fs.mkdirSync(store.root, { recursive: true });
    // At most every node's whole RAM (zero pages cost nothing) plus its overlay.
    requireFreeSpace(store.root, this.specs.reduce((a, s) => a + s.memoryMiB * 2 ** 20, 0) + 2 ** 30, 'capturing a warm snapshot', 'free space there or set ULTRACLOUD_IMAGE_CACHE elsewhere; the cluster runs on without one');
    await this.waitQuiet();
    const tmp = store.begin(key);
    // Pooled connections would be dead in a restored guest; the guest should not remember them either.
    await this.pool?.closeAll();
    const t0 = Date.now();
    const nodes: SnapshotMeta['nodes'] = {};
    const paused = await Promise.allSettled(this.specs.map((s) => this.vm(s.name).pause()));
    try {
      const bad = paused.findIndex((r) => r.status === 'rejected');
      if (bad >= 0) throw new HostError(`${this.specs[bad].name}: could not pause: ${(paused[bad] as PromiseRejectedResult).reason}`);
      await Promise.all(
        this.specs.map(async (s) => {
          const vm = this.vm(s.name);
          const state = `${s.name}.state`;
          const disk = `${s.name}.qcow2`;
          await vm.saveState(path.join(tmp, state));
          // Flushed to the file when the save completed; copied while the guest cannot write.
          await execa('cp', ['--sparse=always', vm.disk, path.join(tmp, disk)]);
          nodes[s.name] = { state, stateBytes: fs.statSync(path.join(tmp, state)).size, disk, diskBytes: fs.statSync(path.join(tmp, disk)).size };
        }),
      );
    } finally {
      await Promise.allSettled(this.specs.map((s) => this.vm(s.name).resume()));
    }
    const captureS = (Date.now() - t0) / 1000;
    const files = [path.relative(this.stateDir, this.keyPath), path.relative(this.stateDir, `${this.keyPath}.pub`), ...this.stack.secrets.map((x) => path.join('secrets', x.name))];
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(tmp, f)), { recursive: true, mode: 0o700 });
      fs.copyFileSync(path.join(this.stateDir, f), path.join(tmp, f));
    }
    progress('snapshot', `captured ${key} in ${captureS.toFixed(1)}s (${formatBytes(Object.values(nodes).reduce((a, n) => a + n.stateBytes + n.diskBytes, 0))}); settling the resumed nodes`);
    await this.afterResume(Date.now(), RESTORE_DEADLINE_MS);
    const meta: SnapshotMeta = { key, parts, createdAt: new Date().toISOString(), captureS, baseDisk: rt.image.disk, nodes, files };
    store.commit(tmp, meta);
    progress('snapshot', `kept in ${store.dirFor(key)}`);
    return meta;
  }

  /**
   * Waits until every QEMU has used less than QUIET_SHARE of a host core over
   * QUIET_WINDOW_S (at most QUIET_MAX_S): servers still starting up when the
   * units are active (swift's Python workers take a minute or two under TCG)
   * would otherwise be caught mid-work, and every restore would redo it, all
   * nodes fighting for the host's cores.
   */
  private async waitQuiet(): Promise<void> {
    const t0 = Date.now();
    const ticks = () => Object.fromEntries(this.specs.map((s) => [s.name, { t: Date.now(), cpu: procStat(this.vm(s.name).pid() ?? -1)?.cpuTicks ?? 0 }]));
    let before = ticks();
    try {
      await waitFor({ node: 'cluster', what: 'a quiet cluster', timeoutMs: QUIET_MAX_S * 1000, intervalMs: QUIET_WINDOW_S * 1000, quiet: true }, async () => {
        const now = ticks();
        const busy = this.specs.filter((s) => ticksToSeconds(now[s.name].cpu - before[s.name].cpu) / ((now[s.name].t - before[s.name].t) / 1000) >= QUIET_SHARE);
        before = now;
        // The first look has no window behind it yet.
        return Date.now() - t0 >= QUIET_WINDOW_S * 1000 && busy.length === 0 ? { ok: true } : { ok: false, seen: `busy: ${busy.map((s) => s.name).join(' ') || '(first window)'}` };
      });
      progress('snapshot', `cluster quiet after ${elapsed(t0)} (every node under ${QUIET_SHARE * 100} % of a core for ${QUIET_WINDOW_S} s)`);
    } catch (e) {
      if (!(e instanceof WaitTimeoutError)) throw e;
      progress('snapshot', `still not quiet after ${elapsed(t0)} (${e.evidence.lastSeen}); capturing anyway`);
    }
  }

  /**
   * After every node was paused and released again (a restore, a capture):
   * each guest's clock stepped to the host's at once, what each role needs
   * after such a jump, then the cold boot's readiness.
   */
  private async afterResume(since: number, deadlineMs: number): Promise<void> {
    const deadline = since + deadlineMs;
    const results = await Promise.allSettled(
      this.specs.map(async (s) => {
        await this.ssh.waitForSsh(s.name, deadline - Date.now(), () => (this.vm(s.name).pid() ? undefined : new NodeError(s.name, 'QEMU exited after resume')), () => this.vm(s.name).consoleTail());
        const node = this.node(s.name);
        // The guest's clock stood still while it was paused; the timestamp is taken as the command leaves.
        await node.succeed(`date -u -s @${(Date.now() / 1000).toFixed(3)} >/dev/null`, 30_000);
        await Promise.all([
          ...rolesFor(this.stack, s).map((role) => role.afterClockStep?.(node)),
          this.waitReady(s, Math.max(1000, deadline - Date.now()), since),
        ]);
      }),
    );
    const failures = new Map<string, Error>();
    results.forEach((r, i) => {
      if (r.status === 'rejected') failures.set(this.specs[i].name, r.reason as Error);
    });
    if (failures.size > 0) throw new ClusterStartError(failures);
  }

  /**
   * waitReady for each node of a tier, all at once. Every 30 s a heartbeat
   * line says which nodes are still not ready and what they wait on; a QEMU
   * that pauses its guest on a disk I/O error ends that node's wait at once.
   */
  private async waitTier(specs: NodeSpec[], since: number): Promise<PromiseSettledResult<void>[]> {
    const done = new Set<string>();
    const waits = specs.map(async (s) => {
      try {
        await Promise.race([this.waitReady(s, this.cfg.bootTimeoutS * 1000, since), this.failOnIoError(s, () => done.has(s.name))]);
      } finally {
        done.add(s.name);
      }
    });
    try {
      return await withHeartbeat(
        HEARTBEAT_MS,
        () => void this.heartbeat(specs.filter((s) => !done.has(s.name)), since),
        Promise.allSettled(waits),
      );
    } finally {
      for (const s of specs) done.add(s.name);
    }
  }

  /** Rejects when `s`'s QEMU reports an I/O-error pause; stays pending (and stops polling) once `over()`. */
  private failOnIoError(s: NodeSpec, over: () => boolean): Promise<never> {
    const vm = this.vm(s.name);
    return new Promise<never>((_, reject) => {
      const tick = async () => {
        if (over()) return;
        if ((await vm.state()) === 'io-error') {
          let free = '?';
          try {
            free = formatBytes(freeBytes(this.stateDir));
          } catch {
            /* the folder is gone: say so with '?' */
          }
          reject(
            new NodeError(s.name, 'QEMU paused the guest on a disk I/O error', {
              expected: 'a running guest',
              lastSeen: `QMP status io-error; ${free} free in ${this.stateDir} (a full host disk does this)`,
              consoleTail: vm.consoleTail(),
            }),
          );
          return;
        }
        if (!over()) setTimeout(() => void tick(), IO_ERROR_POLL_MS).unref();
      };
      setTimeout(() => void tick(), IO_ERROR_POLL_MS).unref();
    });
  }

  /** One line: the nodes of a tier still not ready, and what each waits on. */
  private async heartbeat(pending: NodeSpec[], since: number): Promise<void> {
    if (pending.length === 0) return;
    const what = await Promise.all(
      pending.map(async (s) => {
        const vm = this.vm(s.name);
        const st = await vm.state();
        if (st !== 'running') return `${s.name} (QEMU ${st})`;
        return `${s.name} (${(await sshBanner(this.sshPort(s), 2000)) ? 'sshd up; waiting for login, its units and the end of boot' : 'sshd not answering yet'})`;
      }),
    );
    progress('boot', `still waiting after ${elapsed(since)}: ${what.join(', ')}`);
  }

  /** How `s` boots: `key` is the SSH public key its command line carries (a placeholder when only the snapshot key is wanted). */
  bootSpec(s: NodeSpec, rt: Pick<ClusterRuntime, 'accel' | 'image'>, key = this.authKey()): BootSpec {
    const img = this.nodeImage(s, rt);
    return {
      accel: rt.accel,
      memoryMiB: s.memoryMiB,
      kernel: img.kernel,
      initrd: img.initrd,
      append: [this.kernelCmdline(s, key), ...img.append].join(' '),
      fwCfgFiles: this.secretFiles(s),
      baseDisk: img.disk,
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
    const vm = this.vm(name);
    if (vm.pid()) throw new HostError(`${name} is already running (QEMU pid ${vm.pid()})`);
    if (!this.vde.pid()) throw new HostError(`the cluster in ${this.stateDir} is not running (no VDE switch): boot it with \`cluster start\``);
    await requirePortsFree(s.forwards.map((f) => ({ port: hostPort(this.cfg.portBase, f), what: `${s.name} ${f.name}` })));
    requireFreeSpace(this.stateDir, BOOT_BYTES_PER_NODE, `booting ${name}`, 'free space there, or set PHOTON_VM_DIR elsewhere');
    await vm.prepareDisk(this.baseDisk(s, rt), false);
    const started = Date.now();
    const pid = await vm.start(this.bootSpec(s, rt));
    progress(s.name, `QEMU pid ${pid} (booted again)`);
    const [r] = await this.waitTier([s], started);
    if (r.status === 'rejected') throw r.reason;
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
    // One round trip when all is well (each one costs a TCG guest a fraction of a second); the unit-by-unit wait below names what is not.
    const quick = await node.execute(
      `systemctl is-system-running --wait; systemctl show -p Id -p ActiveState ${units.map(shellQuote).join(' ')}`,
      Math.max(1000, deadline - Date.now()),
    );
    const [head, ...props] = quick.stdout.trim().split('\n');
    const active = props.filter((l) => l === 'ActiveState=active').length;
    if (head === 'running' && active === units.length) {
      progress(s.name, `ready: ${units.join(', ')} active, system running (${elapsed(since)})`);
      return;
    }
    for (const unit of units) await node.waitForUnit(unit, Math.max(1000, deadline - Date.now()));
    const r = await node.execute('systemctl is-system-running --wait', Math.max(1000, deadline - Date.now()));
    const state = r.stdout.trim();
    // Degraded means a unit failed during boot: not ready, whatever the role units say. Name them, with their journals.
    if (state === 'degraded') {
      const failed = await node.failedUnits();
      const journals = await Promise.all(failed.map(async (u) => `--- ${u} ---\n${await node.journal(u, 20)}`));
      throw new NodeError(s.name, `boot finished degraded: failed ${failed.join(', ') || '(no unit listed)'}`, {
        expected: 'systemctl is-system-running: running (no failed unit)',
        lastSeen: `degraded; systemctl --failed: ${failed.join(', ') || '(none)'}`,
        journal: journals.join('\n'),
        consoleTail: vm.consoleTail(),
      });
    }
    if (state !== 'running') {
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
    // Only our own kinds (QEMU, VDE switch, sampler): never a `less vm.log` or an `ssh -i <state>/ssh/...`.
    const leftovers = fs.existsSync(this.stateDir) ? findClusterProcesses(this.stateDir) : [];
    if (leftovers.length > 0) {
      progress('stop', `stopping ${leftovers.length} leftover process(es): ${leftovers.map((p) => `${p.pid} ${p.kind}`).join(', ')}`);
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

  /** Whether root logs in on `name` over SSH and runs `true` within `timeoutMs`. */
  async sshAnswers(name: string, timeoutMs = 30_000): Promise<boolean> {
    if (!fs.existsSync(this.keyPath)) return false;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs + 1000)));
    const attempt = (async () => {
      try {
        await this.ssh.connection(name, timeoutMs);
        return (await this.ssh.exec(name, 'true', timeoutMs)).code === 0;
      } catch {
        this.ssh.drop(name);
        return false;
      }
    })();
    try {
      return await Promise.race([attempt, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Whether any part of the cluster runs (a QEMU or the VDE switch): a node not running then is down, not stopped. */
  isStarted(): boolean {
    return this.runningNodes().length > 0 || this.vde.pid() !== undefined;
  }

  async status(): Promise<StatusRow[]> {
    const rt = this.runtime();
    const started = this.isStarted();
    const ownerBooting = rt?.state === 'booting' && rt.pid !== undefined && isAlive(rt.pid);
    return Promise.all(
      this.specs.map(async (s) => {
        const vm = this.vm(s.name);
        const pid = vm.pid();
        const vmState = await vm.state();
        let state: Readiness;
        if (vmState === 'stopped' || vmState === 'shutdown') state = started ? 'down' : 'stopped';
        else if (vmState !== 'running') state = vmState;
        else if (await this.sshAnswers(s.name)) state = 'ready';
        else state = ownerBooting || (vm.uptimeS() ?? 0) < this.cfg.bootTimeoutS ? 'booting' : 'no-ssh';
        const row: StatusRow = {
          node: s.name,
          state,
          vm: vmState,
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

  /** What each node must offer, from the argv `rt` boots it with and the host's facts. */
  expectations(rt: ClusterRuntime): Record<string, NodeExpectations> {
    const host = readHostVirt();
    return Object.fromEntries(this.specs.map((s) => [s.name, nodeExpectations(this.vm(s.name).args(this.bootSpec(s, rt)), host)]));
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
      // A cluster.json written before expectations were recorded: the same function over the same argv.
      expect: rt ? (rt.expect ?? this.expectations(rt)) : {},
    };
  }

  async close(): Promise<void> {
    await this.pool?.closeAll();
  }

  private ensureStateDir(): void {
    fs.mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    // Owner only: the serial console sockets in it log root in without a password.
    fs.chmodSync(this.stateDir, 0o700);
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

/** Whether something on 127.0.0.1:`port` greets with an SSH banner within `timeoutMs` (sshd is up in the guest). */
export function sshBanner(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.createConnection({ host: '127.0.0.1', port });
    let buf = '';
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      buf += d;
      if (buf.startsWith('SSH-')) finish(true);
      else if (buf.length >= 4) finish(false);
    });
    sock.on('error', () => finish(false));
    sock.on('close', () => finish(false));
  });
}
