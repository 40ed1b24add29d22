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

/** A bad option or argument, in our words (main prefixes the command's name and where its options are listed). */
export class OptionError extends UsageError {
  override name = 'OptionError';
}

type OptionSpec = Record<string, { type: 'boolean' | 'string'; short?: string }>;

/** parseArgs, strict, with at most `positionals` positionals; any problem is a one-line OptionError in our words. */
export function opts<T extends OptionSpec>(args: string[], options: T, positionals = 0) {
  let r;
  try {
    r = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new OptionError(optionProblem(e as Error & { code?: string }, args, options));
  }
  if (r.positionals.length > positionals) {
    throw new OptionError(positionals === 0 ? `takes no argument, got '${r.positionals[0]}'` : `takes at most ${positionals} argument${positionals > 1 ? 's' : ''}, got '${r.positionals[positionals]}' too`);
  }
  return r;
}

/** What parseArgs rejected, said plainly: the option as typed, and the nearest known one. */
export function optionProblem(e: Error & { code?: string }, args: string[], options: OptionSpec): string {
  const known = Object.entries(options).map(([n, o]) => `--${n}${o.type === 'string' ? ' <value>' : ''}`);
  const list = known.length ? `its options: ${known.join(', ')}` : 'it takes no options';
  // parseArgs quotes the option it is about: '--jsno', '-x', '--lines <value>'.
  const quoted = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1] ?? args.find((a) => a.startsWith('-')) ?? '';
  if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const names = Object.keys(options).map((n) => `--${n}`);
    const typed = quoted.split('=')[0];
    const near = typed.startsWith('--') ? closest(typed, names) : undefined;
    return `unknown option ${typed}${near ? ` (did you mean ${near}?)` : ''}; ${list}`;
  }
  if (e.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    // "Option '-n, --lines <value>' argument missing", "Option '--json' does not take an argument".
    const long = /--([\w-]+)/.exec(e.message)?.[1] ?? quoted.replace(/^-+/, '');
    const short = options[long]?.short ? ` (-${options[long].short})` : '';
    return options[long]?.type === 'string' ? `--${long}${short} needs a value: --${long} <value>` : `--${long}${short} takes no value`;
  }
  return `${e.message.split('\n')[0]}; ${list}`;
}

/** The candidate nearest to `word` by edit distance, when near enough to be a typo (at most 2 edits, and fewer than half its length). */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: { c: string; d: number } | undefined;
  for (const c of candidates) {
    const d = editDistance(word, c);
    if (!best || d < best.d) best = { c, d };
  }
  return best && best.d <= 2 && best.d < Math.max(2, word.length / 2) ? best.c : undefined;
}

/** Edit distance (insert, delete, substitute, swap two neighbours), one row at a time. */
function editDistance(a: string, b: string): number {
  let before: number[] = [];
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      // Two letters swapped is one slip of the fingers, not two (stauts -> status).
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j], before[j - 2] + 1);
    }
    before = prev;
    prev = row;
  }
  return prev[b.length];
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
