/**
 * What every part of the cluster works with: the config and stack, its
 * nodes, their QEMUs and SSH, the state dir's paths, cluster.json, the lock,
 * and each node's boot spec and the warm snapshot's key. The other modules
 * of harness/cluster/ take a ClusterCore; harness/cluster.ts's Cluster is
 * one, with the lifecycle on top.
 */
import path from 'node:path';
import fs from 'node:fs';
import type { HarnessConfig } from '../config.js';
import { UsageError } from '../errors.js';
import type { BuiltImage } from '../image/built.js';
import { FileLock } from '../lock.js';
import { Node } from '../remote/node.js';
import { type Accel, type BootSpec, QemuVm } from '../vm/qemu.js';
import { type SnapshotKeyParts, SnapshotStore, hostCpuModel, qemuVersion } from '../snapshot.js';
import { SshPool } from '../remote/ssh.js';
import { type Stack, nodesFor } from '../stack.js';
import { type NodeSpec, PROFILES, hostPort } from '../topology.js';
import { VdeSwitch } from '../vm/vde.js';
import { type BootImage, type BootInputs, bootSpec, kernelCmdline, keyParts, nodeImage, secretFiles } from './boot-spec.js';
import { type ClusterRuntime, readRuntime } from './runtime.js';

export class ClusterCore<Ops = unknown> {
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
    // The profile's nodes with the stack's forwards (a gateway's HTTP ports) after each node's SSH.
    this.specs = nodesFor(stack, PROFILES[cfg.profile].nodes);
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
    return readRuntime(this.runtimeFile);
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

  runningNodes(): NodeSpec[] {
    return this.specs.filter((s) => this.vm(s.name).pid() !== undefined);
  }

  /** Whether any part of the cluster runs (a QEMU or the VDE switch): a node not running then is down, not stopped. */
  isStarted(): boolean {
    return this.runningNodes().length > 0 || this.vde.pid() !== undefined;
  }

  /** The public half of the cluster's SSH key, as the nodes get it on their kernel command line. */
  authKey(): string {
    return fs.readFileSync(`${this.keyPath}.pub`, 'utf8').trim();
  }

  /** What a node's boot spec takes from this cluster (boot-spec.ts). */
  bootInputs(): BootInputs {
    return { stack: this.stack, secretsDir: this.secretsDir, portBase: this.cfg.portBase, vdeSocket: this.vde.socket };
  }

  kernelCmdline(s: NodeSpec, key = this.authKey()): string {
    return kernelCmdline(this.stack, s, key);
  }

  /** The secrets `s`'s roles need, as QEMU fw_cfg files (see boot-spec.ts). */
  secretFiles(s: NodeSpec): { name: string; file: string }[] {
    return secretFiles(this.stack, this.secretsDir, s);
  }

  /** The disk, kernel and initrd `s` boots: its own where the image has one per node (nix), else the one image. */
  nodeImage(s: NodeSpec, rt: Pick<ClusterRuntime, 'image'>): { disk: string; kernel: string; initrd: string; append: string[] } {
    return nodeImage(s, rt);
  }

  /** How `s` boots: `key` is the SSH public key its command line carries (a placeholder when only the snapshot key is wanted). */
  bootSpec(s: NodeSpec, rt: BootImage, key = this.authKey()): BootSpec {
    return bootSpec(this.bootInputs(), s, rt, key);
  }

  snapshots(): SnapshotStore {
    return new SnapshotStore(this.cfg.cacheDir, this.stack.name, this.cfg.profile);
  }

  /** What a snapshot of this cluster, booted as `rt` says, is keyed by. */
  snapshotParts(rt: ClusterRuntime): SnapshotKeyParts {
    return this.keyParts(rt);
  }

  /** The warm snapshot's key as data, for an image and accel, booted or only planned (see boot-spec.ts keyParts). */
  keyParts(plan: { accel: Accel | 'unprobed'; image: BuiltImage }): SnapshotKeyParts {
    const inputs = { ...this.bootInputs(), profile: this.cfg.profile, stateDir: this.stateDir, specs: this.specs, qemu: qemuVersion(), hostCpu: hostCpuModel() };
    return keyParts(inputs, plan);
  }

  async close(): Promise<void> {
    await this.pool?.closeAll();
  }
}
