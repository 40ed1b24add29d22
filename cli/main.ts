/**
 * `npx cluster <command>` (or `npm run cluster -- <command>`): the
 * operator's entry point. Data goes to stdout, progress to stderr.
 * Bad input is one line on stderr and exit 2; host problems exit 1;
 * an unexpected error is one line too, its stack in `<state>/cli-error.log`.
 *
 * The command table is assembled here from the groups (lifecycle, inspect,
 * suites, serve, bench, prove). `main` runs only when this file is the
 * program (tsx cli/main.ts) or bin/cluster.mjs calls `runProgram`; a unit
 * test imports the table and the parts.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterStartError } from '../harness/cluster.js';
import { loadConfig, takeProfile } from '../harness/config.js';
import { HostError, NodeError, UsageError } from '../harness/errors.js';
import { setQuiet } from '../harness/log.js';
import { PROFILES } from '../harness/topology.js';
import { benchCommands } from './bench.js';
import { exportLogsCommand } from './export-logs.js';
import { faultsCommands } from './faults.js';
import { replCommand } from './repl.js';
import { type Command, OptionError, closest, opts } from './command.js';
import { inspectCommands } from './inspect.js';
import { lifecycleCommands } from './lifecycle.js';
import { proveCommand } from './prove.js';
import { serveCommands } from './serve.js';
import { attachedSuiteCommands, suiteCommands } from './suites.js';

export type { Command } from './command.js';

/** The profiles and the environment, wrapped to `width`. */
function environment(width: number): string {
  return [
    wrap('profiles (ULTRACLOUD_PROFILE, or --profile NAME with any command; each has its own state dir and forwards):', width, 2),
    ...Object.entries(PROFILES).map(([n, p]) => `  ${n.padEnd(8)} ${wrap(p.description, width, 11)}`),
    '',
    wrap(
      'environment: PHOTON_VM_DIR, ULTRACLOUD_PROFILE, ULTRACLOUD_STACK, ULTRACLOUD_ACCEL (auto|kvm|tcg), ULTRACLOUD_PORT_BASE, ULTRACLOUD_IMAGE_CACHE, ULTRACLOUD_BOOT_TIMEOUT, ULTRACLOUD_DEBIAN_SOURCES, ULTRACLOUD_KEEP_CLUSTER, ULTRACLOUD_ATTACH_ONLY, ULTRACLOUD_VERBOSE, ULTRACLOUD_QUIET, ULTRACLOUD_COLD, ULTRACLOUD_FLAKE, ULTRACLOUD_NIX_IMAGES (the ultracloud stack) (booleans: 1/0, true/false, yes/no; see README)',
      width,
      2,
    ),
  ].join('\n');
}

const { build, keys, start, stop, clean } = lifecycleCommands;
const { status, ssh, console: consoleCommand, logs } = inspectCommands;

/** Every command, in the order the command list shows them. */
export const commands: Record<string, Command> = {
  build,
  keys,
  start,
  status,
  ssh,
  console: consoleCommand,
  logs,
  'export-logs': exportLogsCommand,
  repl: replCommand,
  stop,
  clean,
  ...suiteCommands('smoke', 'the smoke suite', 'cluster smoke -t chainfire'),
  ...suiteCommands('matrix', 'the matrix suite of composed service scenarios', 'cluster matrix -t gateway'),
  ...suiteCommands('demo-vm-webapp', 'the tenant web app demo (tests/demo)', 'cluster demo-vm-webapp -t migrat', ['--project', 'demo']),
  ...serveCommands,
  ...suiteCommands('baremetal-iso', 'the bare-metal ISO bootstrap: raw-QEMU chassis phone home to deployer, install, converge (tests/baremetal; its files go to baremetal-iso/ in the run folder)', 'cluster baremetal-iso -t converge', ['--project', 'baremetal']),
  ...suiteCommands('rollout-soak', 'the deployer scheduling soak: drain and fail-stop (tests/scheduling)', 'cluster rollout-soak -t drain', ['--project', 'scheduling']),
  ...faultsCommands(),
  ...benchCommands(),
  prove: proveCommand,
  ...attachedSuiteCommands,

  help: {
    args: '[command]',
    summary: "this text, or a command's usage",
    details: 'Prints the command list, or the usage of one command.',
    async run(args) {
      const { positionals } = opts(args, {}, 1);
      if (positionals[0]) {
        console.log(commandHelp(positionals[0], lookup(positionals[0])));
        return 0;
      }
      console.log(usage());
      return 0;
    },
  },
};

/**
 * The command list's groups, in order. Every command is in exactly one
 * (tests/unit/cli-parts.test.ts holds it): a `fresh-<x>` twin sits in its
 * suite's group, shown on the suite's line.
 */
export const GROUPS: { title: string; names: string[] }[] = [
  { title: 'lifecycle', names: ['build', 'keys', 'start', 'stop', 'clean'] },
  { title: 'inspect', names: ['status', 'ssh', 'console', 'logs', 'export-logs', 'repl'] },
  {
    title: 'suites (each boots the cluster when none is up and leaves it running; fresh-<suite>: clean, build, start, then the suite)',
    names: ['smoke', 'fresh-smoke', 'matrix', 'fresh-matrix', 'demo-vm-webapp', 'fresh-demo-vm-webapp', 'serve-vm-webapp', 'fresh-serve-vm-webapp', 'baremetal-iso', 'fresh-baremetal-iso', 'rollout-soak', 'fresh-rollout-soak', 'faults', 'fresh-faults'],
  },
  { title: 'bench', names: ['bench-storage', 'fresh-bench-storage', 'fresh-storage-bench', 'bench-coronafs-local-matrix'] },
  { title: 'CI and re-runs (never boot a cluster)', names: ['validate', 'rerun-failed', 'prove'] },
  { title: 'help', names: ['help'] },
];

export function lookup(name: string): Command {
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    const near = closest(name, Object.keys(commands));
    throw new UsageError(`unknown command '${name}'${near ? ` (did you mean \`${near}\`?)` : ''}; \`cluster help\` lists them`);
  }
  return command;
}

/** `text` in lines that fit `width` columns when each starts at column `indent` (words kept whole); lines after the first carry the indent. */
export function wrap(text: string, width: number, indent: number): string {
  const room = Math.max(20, width - indent);
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** The terminal's width when stdout is one, else 100; never under 60. */
export function terminalWidth(): number {
  return Math.max(60, process.stdout.isTTY ? process.stdout.columns || 100 : 100);
}

/**
 * The command list, grouped: each command with its arguments, then its
 * summary wrapped to `width` (on the next line when the arguments are
 * long). A fresh-<x> twin is named on its suite's line, not given its own.
 */
export function usage(width = terminalWidth()): string {
  const COLUMN = Math.min(32, Math.floor(width / 3));
  const out = [wrap('usage: cluster <command> [options]   (npx cluster ..., or npm run cluster -- ...)', width, 2), ''];
  for (const g of GROUPS) {
    out.push(wrap(`${g.title}:`, width, 2));
    for (const name of g.names) {
      if (name.startsWith('fresh-') && g.names.includes(name.slice('fresh-'.length))) continue;
      const twins = g.names.filter((n) => n === `fresh-${name}`);
      const summary = commands[name].summary + (twins.length ? ` (also ${twins.join(', ')})` : '');
      const head = `  ${`${name} ${commands[name].args}`.trim()}`;
      const body = wrap(summary, width, COLUMN);
      out.push(head.length + 2 <= COLUMN ? `${head.padEnd(COLUMN)}${body}` : `  ${wrap(head.trim(), width, 6)}\n${' '.repeat(COLUMN)}${body}`);
    }
    out.push('');
  }
  out.push(wrap('`cluster help <command>` (or `cluster <command> --help`) shows its options; `cluster --version` the version.', width, 0), '', environment(width));
  return out.join('\n');
}

/** `cluster --version`: the package's version and, in a git checkout, its commit. */
export function version(root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')): string {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string; version: string };
  let commit = '';
  try {
    commit = execFileSync('git', ['-C', root, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    /* not a git checkout (an unpacked tarball): the version alone */
  }
  return `cluster ${pkg.version} (${pkg.name}${commit ? `, commit ${commit}` : ''})`;
}

export function commandHelp(name: string, c: Command): string {
  return `usage: cluster ${name} ${c.args}\n\n${c.details}`;
}

/** Whether the arguments ask for the command's usage (a pass-through command's: only a leading --help / -h). */
export function wantsHelp(c: Command, args: string[]): boolean {
  if (c.passThrough) return args[0] === '--help' || args[0] === '-h';
  const end = args.indexOf('--');
  return (end < 0 ? args : args.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** Runs one command line (without the program name); its exit code, or an error for `describeFailure`. */
export async function main(args: string[]): Promise<number> {
  const argv = takeProfile(args);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    console.log(usage());
    return name ? 0 : 2;
  }
  if (name === '--version' || name === '-V') {
    console.log(version());
    return 0;
  }
  const command = lookup(name);
  if (wantsHelp(command, rest)) {
    console.log(commandHelp(name, command));
    return 0;
  }
  if (name !== 'help') setQuiet(loadConfig().quiet); // every knob checked up front: a bad value is one line and exit 2
  try {
    return await command.run(rest);
  } catch (e) {
    // An option error names the command it is about.
    if (e instanceof OptionError) throw new UsageError(`${name}: ${e.message}; \`cluster ${name} --help\` lists its options`);
    throw e;
  }
}

/** Where an unexpected error's details go: the state dir when it exists, else the temp dir. */
export function errorLogPath(): string {
  try {
    const dir = loadConfig().stateDir;
    if (fs.existsSync(dir)) return path.join(dir, 'cli-error.log');
  } catch {
    /* no usable config: fall through */
  }
  return path.join(os.tmpdir(), 'ultracloud-cluster-cli-error.log');
}

/**
 * The exit code and the one stderr line (without its newline) for an error
 * that ended a command: bad input 2, host problems and expected failures 1
 * (their message is the report), anything else 1 with its stack appended to
 * `logPath()` and that path in the line.
 */
export function describeFailure(e: unknown, logPath: () => string = errorLogPath): { code: number; line: string } {
  if (e instanceof UsageError) return { code: 2, line: `cluster: ${e.message}` };
  if (e instanceof HostError) return { code: 1, line: `cluster: ${e.message}` };
  // Expected failures that carry their evidence (console tails, journals): the message is the report.
  if (e instanceof ClusterStartError || e instanceof NodeError) return { code: 1, line: `cluster: ${e.message}` };
  const err = e instanceof Error ? e : new Error(String(e));
  const first = (err.message || err.name).split('\n')[0];
  let where = logPath();
  try {
    fs.appendFileSync(where, `[${new Date().toISOString()}] cluster ${process.argv.slice(2).join(' ')}\n${err.stack ?? err.message}\n\n`);
  } catch {
    where = '(could not write a log)';
  }
  return { code: 1, line: `cluster: ${first} (details: ${where})` };
}

function fail(e: unknown): never {
  const { code, line } = describeFailure(e);
  process.stderr.write(`${line}\n`);
  process.exit(code);
}

/** The program: runs the command line and exits with its code (bin/cluster.mjs calls this). */
export function runProgram(args: string[] = process.argv.slice(2)): Promise<never> {
  return main(args).then((code) => process.exit(code), fail);
}

/** Whether `moduleUrl` is the script node was started with (symlinks resolved). */
export function isProgram(moduleUrl: string, script: string | undefined = process.argv[1]): boolean {
  if (!script) return false;
  const real = (p: string) => {
    try {
      return fs.realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return real(script) === real(fileURLToPath(moduleUrl));
}

if (isProgram(import.meta.url)) void runProgram();
