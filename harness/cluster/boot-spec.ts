/**
 * How each node boots, as data: its kernel command line, the secrets it gets
 * over fw_cfg, its image files, its QEMU boot spec, and the warm snapshot's
 * key made of those. Pure: everything comes in (the stack, the node, the
 * image and accel, the state dir's paths, the SSH public key, QEMU's version
 * and the host CPU); nothing is read or run here.
 */
import path from 'node:path';
import type { BuiltImage } from '../image/built.js';
import { type Accel, type BootSpec, QemuVm } from '../vm/qemu.js';
import { SNAPSHOT_FORMAT, type SnapshotKeyParts, normaliseArgs } from '../snapshot.js';
import { type Stack, readinessDefinition, secretsFor } from '../stack.js';
import { type NodeSpec, hostPort } from '../topology.js';

/** What a node's boot spec needs of the cluster besides the node, the image and the key. */
export interface BootInputs {
  stack: Stack;
  /** The folder of the stack's per-cluster secrets (`<stateDir>/secrets`). */
  secretsDir: string;
  portBase: number;
  /** The cluster's VDE switch socket. */
  vdeSocket: string;
}

/** The image and accel a node boots with (cluster.json's, or a plan's). */
export type BootImage = { accel: Accel; image: BuiltImage };

/** `s`'s kernel command line: identity, the stack's role arguments and the public half of the SSH key `key`. */
export function kernelCmdline(stack: Pick<Stack, 'bootArgs'>, s: NodeSpec, key: string): string {
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
    ...stack.bootArgs(s),
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
export function secretFiles(stack: Stack, secretsDir: string, s: NodeSpec): { name: string; file: string }[] {
  return secretsFor(stack, s).map((x) => ({ name: `opt/ultracloud/${x.name}`, file: path.join(secretsDir, x.name) }));
}

/** The disk, kernel and initrd `s` boots: its own where the image has one per node (nix), else the one image. */
export function nodeImage(s: NodeSpec, rt: { image: BuiltImage }): { disk: string; kernel: string; initrd: string; append: string[] } {
  return rt.image.nodes?.[s.name] ?? { disk: rt.image.disk, kernel: rt.image.kernel, initrd: rt.image.initrd, append: [] };
}

/** How `s` boots: `key` is the SSH public key its command line carries (a placeholder when only the snapshot key is wanted). */
export function bootSpec(inputs: BootInputs, s: NodeSpec, rt: BootImage, key: string): BootSpec {
  const img = nodeImage(s, rt);
  return {
    accel: rt.accel,
    memoryMiB: s.memoryMiB,
    vcpus: s.vcpus,
    kernel: img.kernel,
    initrd: img.initrd,
    append: [kernelCmdline(inputs.stack, s, key), ...img.append].join(' '),
    fwCfgFiles: secretFiles(inputs.stack, inputs.secretsDir, s),
    baseDisk: img.disk,
    vdeSocket: inputs.vdeSocket,
    clusterMac: s.clusterMac,
    mgmtMac: s.mgmtMac,
    hostForwards: s.forwards.map((f) => ({ hostPort: hostPort(inputs.portBase, f), guestPort: f.guestPort })),
  };
}

/** What the warm snapshot's key needs besides the image and accel. */
export interface KeyInputs extends BootInputs {
  profile: string;
  stateDir: string;
  specs: NodeSpec[];
  /** `qemu-system-x86_64 --version`, first line. */
  qemu: string;
  hostCpu: string;
}

/**
 * The warm snapshot's key as data, for an image and accel, booted or only
 * planned (`cluster keys` asks before any build): each node's QEMU command
 * line with placeholders for the state dir, the image folder and the SSH
 * key, and the units each node waits for. No harness code is hashed: how
 * snapshots are taken and restored is SNAPSHOT_FORMAT.
 */
export function keyParts(inputs: KeyInputs, plan: { accel: Accel | 'unprobed'; image: BuiltImage }): SnapshotKeyParts {
  const img = plan.image;
  // Before any probe (`cluster keys` on a fresh host) the command lines are written as TCG's; `accel` says it was not probed.
  const boot = { image: img, accel: plan.accel === 'unprobed' ? ('tcg' as const) : plan.accel };
  const imageDirs = [img.dir, ...Object.values(img.nodes ?? {}).flatMap((n) => [n.disk, n.kernel, n.initrd].map((f) => path.dirname(f)))];
  const argv = (s: NodeSpec) => new QemuVm(s.name, path.join(inputs.stateDir, s.name)).args(bootSpec(inputs, s, boot, '$KEY'));
  return {
    format: SNAPSHOT_FORMAT,
    stack: inputs.stack.name,
    profile: inputs.profile,
    recipe: img.hash,
    qemu: inputs.qemu,
    accel: plan.accel,
    hostCpu: inputs.hostCpu,
    nodes: Object.fromEntries(inputs.specs.map((s) => [s.name, normaliseArgs(argv(s), inputs.stateDir, imageDirs)])),
    readiness: Object.fromEntries(inputs.specs.map((s) => [s.name, readinessDefinition(inputs.stack, s)])),
  };
}
