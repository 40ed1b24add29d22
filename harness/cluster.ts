/**
 * The cluster: state dir, lock, image, VDE switch, nodes started tier by
 * tier (each tier waits for SSH and its units before the next), status,
 * stop and clean. Knows nodes and units, never what a role's server is.
 *
 * The work is done in harness/cluster/: core.ts (nodes, QEMUs, SSH, paths,
 * boot specs), runtime.ts (cluster.json and the attach policy), boot-spec.ts
 * (pure: command lines, secrets, the snapshot key), plan-start.ts (pure:
 * what `start` does), lifecycle.ts, readiness.ts, snapshots.ts, status.ts
 * and images.ts. This file is the public entry.
 */
import { isAlive } from './proc.js';
import { progress } from './log.js';
import type { NodeExpectations } from './expectations.js';
import type { BaremetalImages } from './image/baremetal.js';
import type { BuiltImage } from './image/built.js';
import type { BuiltGuestImage } from './image/guest.js';
import type { SnapshotMeta } from './snapshot.js';
import type { NodeSpec } from './topology.js';
import { ClusterCore } from './cluster/core.js';
import { buildBaremetal, buildGuest, build, currentRecipeHash, plannedImage, preflightImage } from './cluster/images.js';
import { bootNode, clean, powerOff, start, stop } from './cluster/lifecycle.js';
import type { StartOptions } from './cluster/plan-start.js';
import { waitReady } from './cluster/readiness.js';
import { type ClusterRuntime, attachPolicy } from './cluster/runtime.js';
import { baseDisk, captureSnapshot } from './cluster/snapshots.js';
import { type ClusterInfo, type StatusRow, expectations, info, sshAnswers, status } from './cluster/status.js';

export { type BootState, type ClusterRuntime, attachRefusal } from './cluster/runtime.js';
export { type StartOptions } from './cluster/plan-start.js';
export { ClusterStartError, sshBanner } from './cluster/readiness.js';
export { type ClusterInfo, type Readiness, type StatusRow } from './cluster/status.js';

export class Cluster<Ops = unknown> extends ClusterCore<Ops> {
  /**
   * The image recipe hash this checkout would build (no build: hashes the
   * recipe only); undefined when it cannot be computed here (no apt sources).
   */
  currentRecipeHash(): string | undefined {
    return currentRecipeHash(this);
  }

  /** Why tests must not attach to the running cluster (see attachRefusal), or undefined. */
  attachRefusal(): string | undefined {
    const { refusal, warning } = attachPolicy(this.stateDir, this.runtime(), this.currentRecipeHash(), this.cfg.devRecipeDrift, isAlive);
    if (warning) progress('attach', warning);
    return refusal;
  }

  async build(rebuild = false): Promise<BuiltImage> {
    return build(this, rebuild);
  }

  /** Throws (one line) when this host cannot build the stack's images; reads only. */
  preflightImage(): void {
    preflightImage(this);
  }

  /** A tenant guest image of the stack (`name`, else its first: Stack.guests), built like the node image from the same suite and sources. */
  async buildGuest(rebuild = false, name?: string): Promise<BuiltGuestImage> {
    return buildGuest(this, rebuild, name);
  }

  /** The stack's bare-metal installer ISO and install bundle (Stack.baremetal): cached by recipe, built on the host when missing. */
  async buildBaremetal(rebuild = false): Promise<BaremetalImages> {
    return buildBaremetal(this, rebuild);
  }

  /** The image this checkout boots, built or not (see images.ts); undefined when the recipe cannot be computed here. */
  plannedImage(): BuiltImage | undefined {
    return plannedImage(this);
  }

  /**
   * Builds (if needed) and boots every node that is not running, tier by
   * tier. Running nodes are left alone, so `start` also resumes a partial
   * cluster. What it does is planStart's decision (cluster/plan-start.ts).
   */
  async start(opts: StartOptions = {}): Promise<void> {
    return start(this, opts);
  }

  /**
   * Stops every QEMU and the switch of this state dir, found by pid file
   * and by command line, so runs killed mid-boot leave nothing behind.
   */
  async stop(graceMs = 0): Promise<string[]> {
    return stop(this, graceMs);
  }

  /** Stops the cluster and removes the runtime state dir, and nothing else. */
  async clean(): Promise<void> {
    return clean(this);
  }

  /** Powers one node off through QEMU, as pulling its plug would (`graceMs` 0), or by the ACPI power button first. */
  async powerOff(name: string, graceMs = 0): Promise<void> {
    return powerOff(this, name, graceMs);
  }

  /** Boots one stopped node of a started cluster again, on its own disk, and waits until it is ready. */
  async bootNode(name: string): Promise<void> {
    return bootNode(this, name);
  }

  /** SSH, then each unit the node's roles need, then the end of boot; fails fast. A node that was up already: not recorded as a boot. */
  async waitReady(s: NodeSpec, deadlineMs: number, since = Date.now()): Promise<void> {
    return waitReady(this, s, deadlineMs, since, false);
  }

  /** The disk a node's overlay sits on: the snapshot's disk of that node when restored from one, else the image. */
  baseDisk(s: NodeSpec, rt: ClusterRuntime): string {
    return baseDisk(s, rt);
  }

  /** Captures the whole cluster at one point into the warm snapshot (see cluster/snapshots.ts). */
  async captureSnapshot(rt: ClusterRuntime): Promise<SnapshotMeta> {
    return captureSnapshot(this, rt);
  }

  /** Whether root logs in on `name` over SSH and runs `true` within `timeoutMs`. */
  async sshAnswers(name: string, timeoutMs = 30_000): Promise<boolean> {
    return sshAnswers(this, name, timeoutMs);
  }

  async status(): Promise<StatusRow[]> {
    return status(this);
  }

  /** What each node must offer, from the argv `rt` boots it with and the host's facts. */
  expectations(rt: ClusterRuntime): Record<string, NodeExpectations> {
    return expectations(this, rt);
  }

  info(bootErrors: Record<string, string> = {}): ClusterInfo {
    return info(this, bootErrors);
  }
}
