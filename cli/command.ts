/**
 * What every command group shares: the shape of a command, option parsing
 * (a bad option is one line, exit 2), and opening the cluster the
 * environment names.
 */
import { parseArgs } from 'node:util';
import type { Cluster } from '../harness/cluster.js';
import { PROFILE_PROJECTS, profileServes } from '../fixtures/projects.js';
import { loadConfig } from '../harness/config.js';
import { UsageError } from '../harness/errors.js';
import { PROFILE_ROLES } from '../stacks/profiles.js';
import type { StackOps } from '../stacks/contracts.js';

export type Handler = (args: string[]) => Promise<number>;

export interface Command {
  /** Arguments after the command name, as shown in usage lines. */
  args: string;
  /** One line for the command list. */
  summary: string;
  /** The rest of `cluster <command> --help`. */
  details: string;
  /** Arguments go to another program (vitest, the remote shell): only a leading --help is ours. */
  passThrough?: boolean;
  run: Handler;
}

/** parseArgs, strict, with at most `positionals` positionals; any problem is a one-line UsageError. */
export function opts<T extends Record<string, { type: 'boolean' | 'string'; short?: string }>>(args: string[], options: T, positionals = 0) {
  try {
    const r = parseArgs({ args, options, allowPositionals: true, strict: true });
    if (r.positionals.length > positionals) throw new UsageError(`unexpected argument '${r.positionals[positionals]}'`);
    return r;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message.split('\n')[0]);
  }
}

export function requireServes(project: string, command: string): void {
  const cfg = loadConfig();
  if (!profileServes(cfg.profile, project)) {
    throw new UsageError(`\`cluster ${command}\` needs the default profile: the ${cfg.profile} profile boots only ${PROFILE_ROLES[cfg.profile]?.join(', ')} and serves ${PROFILE_PROJECTS[cfg.profile]?.join(', ')}`);
  }
}

/** A pass-through command's own leading `--cold` (the rest goes to vitest). */
export function takeCold(args: string[]): { cold: boolean; rest: string[] } {
  return args[0] === '--cold' ? { cold: true, rest: args.slice(1) } : { cold: false, rest: args };
}

/** The cluster the environment names, with its stack: loaded on demand, so `--help` and usage errors stay quick. */
export async function openCluster(): Promise<Cluster<StackOps>> {
  const stacks = await import('../stacks/index.js');
  return stacks.openCluster();
}

export function requireNode(cluster: Cluster<StackOps>, name: string | undefined, command: string): string {
  if (!name) throw new UsageError(`${command} needs a node name, e.g. \`cluster ${command} node01\``);
  return cluster.spec(name).name;
}
