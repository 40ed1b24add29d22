/**
 * The runtime file (`<stateDir>/cluster.json`): what `start` records about
 * the cluster it boots, read by status, attach and tests; the policy that
 * says when tests may attach to it; the state dir and the per-cluster
 * secrets and SSH key `start` creates.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import type { NodeExpectations } from '../expectations.js';
import type { BuiltImage } from '../image/built.js';
import type { Accel } from '../vm/qemu.js';
import type { SecretSpec } from '../stack.js';

/** The file that marks a folder as a cluster state dir (`clean` removes no other). */
export const STATE_MARKER = '.ultracloud-test-cluster';

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

/** The runtime file's content; undefined when there is none (or it does not parse). */
export function readRuntime(file: string): ClusterRuntime | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as ClusterRuntime;
  } catch {
    return undefined;
  }
}

/** Written whole under a temp name: a reader never sees half a cluster.json. */
export function writeRuntime(file: string, rt: ClusterRuntime): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify(rt, null, 2)}\n`);
  fs.renameSync(tmp, file);
}

/** Records how the boot stands (with the nodes that failed, if any) and writes the file. */
export function setBootState(file: string, rt: ClusterRuntime, state: BootState, failedNodes?: string[]): void {
  rt.state = state;
  rt.updatedAt = new Date().toISOString();
  if (failedNodes) rt.failedNodes = failedNodes;
  else delete rt.failedNodes;
  writeRuntime(file, rt);
}

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

/**
 * attachRefusal with ULTRACLOUD_DEV_RECIPE_DRIFT (`devRecipeDrift`): a
 * recipe that differs is then not refused but warned about (`warning`, one
 * line); the other checks stay. Pure.
 */
export function attachPolicy(
  stateDir: string,
  rt: ClusterRuntime | undefined,
  currentRecipe: string | undefined,
  devRecipeDrift: boolean,
  alive: (pid: number) => boolean,
): { refusal?: string; warning?: string } {
  const booted = rt?.recipeHash ?? rt?.image?.hash;
  if (devRecipeDrift && currentRecipe && booted && currentRecipe !== booted) {
    return {
      warning: `WARNING: ULTRACLOUD_DEV_RECIPE_DRIFT: attaching to a cluster booted from image recipe ${booted}, not this checkout's ${currentRecipe}`,
      refusal: attachRefusal(stateDir, rt, undefined, alive),
    };
  }
  return { refusal: attachRefusal(stateDir, rt, currentRecipe, alive) };
}

/** Creates the state dir (owner only) with its marker. */
export function ensureStateDir(stateDir: string): void {
  fs.mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  // Owner only: the serial console sockets in it log root in without a password.
  fs.chmodSync(stateDir, 0o700);
  const marker = path.join(stateDir, STATE_MARKER);
  if (!fs.existsSync(marker)) fs.writeFileSync(marker, 'runtime state of an UltraCloud test cluster; `cluster clean` removes this folder\n');
}

/** Creates the stack's secrets that are missing (each kept once made) and the cluster's SSH key. */
export async function ensureKey(secretsDir: string, secrets: SecretSpec[], keyPath: string, profile: string): Promise<void> {
  fs.mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
  for (const x of secrets) {
    const file = path.join(secretsDir, x.name);
    if (fs.existsSync(file)) continue;
    // Written whole under a temp name: a killed start never leaves half a secret.
    fs.writeFileSync(`${file}.tmp`, x.make(), { mode: 0o600 });
    fs.renameSync(`${file}.tmp`, file);
  }
  if (fs.existsSync(keyPath) && fs.existsSync(`${keyPath}.pub`)) return;
  fs.mkdirSync(path.dirname(keyPath), { recursive: true, mode: 0o700 });
  fs.rmSync(keyPath, { force: true });
  fs.rmSync(`${keyPath}.pub`, { force: true });
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `ultracloud-test-cluster-${profile}`, '-f', keyPath]);
}
