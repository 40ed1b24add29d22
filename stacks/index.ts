/** Stacks by name, and the cluster with its stack handed in (the harness never imports a stack). */
import { Cluster } from '../harness/cluster.js';
import { type HarnessConfig, loadConfig } from '../harness/config.js';
import { UsageError } from '../harness/errors.js';
import { type Stack, withRoles } from '../harness/stack.js';
import type { StackOps, StackTiming } from './contracts.js';
import { PROFILE_ROLES } from './profiles.js';
import { reference, timing as referenceTiming } from './reference/index.js';
import { ultracloud, timing as ultracloudTiming } from './ultracloud/index.js';

export function loadStack(name: string): Stack<StackOps> {
  if (name === 'reference') return reference;
  // Its images come from nix; a host without nix or the UltraCloud flake is told so (one line) before anything is written or booted.
  if (name === 'ultracloud') return ultracloud;
  throw new UsageError(`unknown stack '${name}'`);
}

/**
 * The deadlines of stack `name`'s roles (the same objects as its ops'
 * `timing`): static data of the stack, so a test's timeout is known at
 * collection time without opening a cluster.
 */
export function timingOf(name: string): StackTiming {
  if (name === 'reference') return referenceTiming;
  if (name === 'ultracloud') return ultracloudTiming;
  throw new UsageError(`unknown stack '${name}'`);
}

/** The cluster the environment (and .env) names, with its stack narrowed to the roles its profile boots. */
export function openCluster(cfg: HarnessConfig = loadConfig()): Cluster<StackOps> {
  return new Cluster(cfg, withRoles(loadStack(cfg.stack), PROFILE_ROLES[cfg.profile]));
}
