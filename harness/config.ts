/**
 * Every knob the harness reads from the environment, parsed and checked in
 * one place. A bad value is a UsageError naming the variable.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import { UsageError } from './errors.js';
import { PROFILES, type ProfileName } from './topology.js';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export type AccelChoice = 'auto' | 'kvm' | 'tcg';

export interface HarnessConfig {
  profile: ProfileName;
  stack: string;
  /** Runtime state: keys, node disks, logs, sockets, lock. `clean` removes exactly this. */
  stateDir: string;
  /** Built images, keyed by recipe hash; survives `clean` and `fresh-*`. */
  cacheDir: string;
  accel: AccelChoice;
  portBase: number;
  /** Per-tier deadline for SSH plus units, seconds. */
  bootTimeoutS: number;
  /** Explicit apt sources file for the image build, else the host's own. */
  debianSources?: string;
  /** ULTRACLOUD_KEEP_CLUSTER: vitest's global setup leaves a cluster it booted running. */
  keepCluster: boolean;
  /** ULTRACLOUD_ATTACH_ONLY: global setup never boots a cluster (what `cluster validate` sets). */
  attachOnly: boolean;
  /** ULTRACLOUD_VERBOSE: every line of the image build. */
  verbose: boolean;
  /** ULTRACLOUD_QUIET: no progress lines. */
  quiet: boolean;
  /** ULTRACLOUD_COLD: a forced cold boot (fresh disks, no snapshot). */
  cold: boolean;
  /**
   * ULTRACLOUD_DEV_RECIPE_DRIFT: tests attach to a cluster booted from
   * another image recipe (while developing image files copied onto the
   * nodes by hand); a warning line says so. Never for a verdict.
   */
  devRecipeDrift: boolean;
}

/** Accepted spellings of a boolean environment value (case-insensitive); unset or empty is false. */
const TRUE_WORDS = ['1', 'true', 'yes'];
const FALSE_WORDS = ['0', 'false', 'no'];

let loaded = false;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): HarnessConfig {
  if (!loaded && env === process.env) {
    dotenv.config({ path: path.join(PROJECT_ROOT, '.env'), quiet: true });
    loaded = true;
  }
  const profile = oneOf('ULTRACLOUD_PROFILE', env.ULTRACLOUD_PROFILE, Object.keys(PROFILES), 'default') as ProfileName;
  const home = env.HOME || os.homedir();
  const baseState = env.PHOTON_VM_DIR || path.join(home, '.ultracloud-test-cluster');
  if (!path.isAbsolute(baseState)) throw new UsageError(`PHOTON_VM_DIR must be an absolute path, got '${baseState}'`);
  const stateDir = profile === 'default' ? baseState : `${baseState}-${profile}`;
  const cacheDir =
    env.ULTRACLOUD_IMAGE_CACHE || path.join(env.XDG_CACHE_HOME || path.join(home, '.cache'), 'ultracloud-test-cluster');
  if (!path.isAbsolute(cacheDir)) throw new UsageError(`ULTRACLOUD_IMAGE_CACHE must be an absolute path, got '${cacheDir}'`);
  if (isInside(cacheDir, stateDir)) {
    throw new UsageError(`ULTRACLOUD_IMAGE_CACHE (${cacheDir}) must lie outside the state dir (${stateDir}): clean would delete it`);
  }
  return {
    profile,
    stack: oneOf('ULTRACLOUD_STACK', env.ULTRACLOUD_STACK, ['reference', 'ultracloud'], 'reference'),
    stateDir,
    cacheDir,
    accel: oneOf('ULTRACLOUD_ACCEL', env.ULTRACLOUD_ACCEL, ['auto', 'kvm', 'tcg'], 'auto') as AccelChoice,
    portBase: int('ULTRACLOUD_PORT_BASE', env.ULTRACLOUD_PORT_BASE, PROFILES[profile].defaultPortBase, 1024, 65000),
    bootTimeoutS: int('ULTRACLOUD_BOOT_TIMEOUT', env.ULTRACLOUD_BOOT_TIMEOUT, 900, 30, 7200),
    debianSources: env.ULTRACLOUD_DEBIAN_SOURCES || undefined,
    keepCluster: bool('ULTRACLOUD_KEEP_CLUSTER', env.ULTRACLOUD_KEEP_CLUSTER),
    attachOnly: bool('ULTRACLOUD_ATTACH_ONLY', env.ULTRACLOUD_ATTACH_ONLY),
    verbose: bool('ULTRACLOUD_VERBOSE', env.ULTRACLOUD_VERBOSE),
    quiet: bool('ULTRACLOUD_QUIET', env.ULTRACLOUD_QUIET),
    cold: bool('ULTRACLOUD_COLD', env.ULTRACLOUD_COLD),
    devRecipeDrift: bool('ULTRACLOUD_DEV_RECIPE_DRIFT', env.ULTRACLOUD_DEV_RECIPE_DRIFT),
  };
}

/**
 * A boolean knob, parsed strictly: 1/0, true/false, yes/no in any case, or
 * unset/empty (false). Anything else (`on`, `2`, `ture`) is a UsageError
 * naming the variable, never a silent false.
 */
export function bool(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '') return false;
  const v = value.toLowerCase();
  if (TRUE_WORDS.includes(v)) return true;
  if (FALSE_WORDS.includes(v)) return false;
  throw new UsageError(`${name}='${value}' is not a boolean (use 1/0, true/false or yes/no, or leave it unset)`);
}

function oneOf(name: string, value: string | undefined, allowed: string[], dflt: string): string {
  if (value === undefined || value === '') return dflt;
  if (!allowed.includes(value)) throw new UsageError(`${name}='${value}' is not one of: ${allowed.join(', ')}`);
  return value;
}

function int(name: string, value: string | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined || value === '') return dflt;
  if (!/^\d+$/.test(value)) throw new UsageError(`${name}='${value}' is not a whole number`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${name}=${n} is outside ${min}..${max}`);
  return n;
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * `--profile <name>` (or `--profile=<name>`) anywhere before a `--`: taken
 * out of the arguments and set as ULTRACLOUD_PROFILE, so the parsed config,
 * vitest children and helpers all see one profile.
 */
export function takeProfile(argv: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const end = argv.indexOf('--');
  const head = end < 0 ? argv : argv.slice(0, end);
  const out: string[] = [];
  for (let i = 0; i < head.length; i++) {
    const a = head[i];
    if (a === '--profile') {
      const v = head[i + 1];
      if (v === undefined || v.startsWith('-')) throw new UsageError(`--profile needs a profile name (${Object.keys(PROFILES).join(', ')})`);
      env.ULTRACLOUD_PROFILE = v;
      i++;
    } else if (a.startsWith('--profile=')) env.ULTRACLOUD_PROFILE = a.slice('--profile='.length);
    else out.push(a);
  }
  return end < 0 ? out : [...out, ...argv.slice(end)];
}
