/**
 * The CLI's parts, imported rather than spawned (cli.test.ts runs the
 * program as an operator does): the command table, option parsing, the
 * error -> exit code and one-line mapping, and the withCluster session
 * against a stand-in cluster (no state dir, no QEMU, no lock file).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { opts } from '../../cli/command.js';
import { GROUPS, commandHelp, commands, describeFailure, isProgram, lookup, main, usage, wantsHelp } from '../../cli/main.js';
import { type SessionCluster, withCluster } from '../../cli/session.js';
import { HostError, NodeError, UsageError } from '../../harness/errors.js';

process.env.ULTRACLOUD_QUIET = '1';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-cli-parts-'));
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** The command list as `cluster help` shows it, in its order. */
const COMMANDS = [
  'build', 'keys', 'start', 'status', 'ssh', 'console', 'logs', 'export-logs', 'repl', 'stop', 'clean',
  'smoke', 'fresh-smoke', 'matrix', 'fresh-matrix', 'demo-vm-webapp', 'fresh-demo-vm-webapp',
  'serve-vm-webapp', 'fresh-serve-vm-webapp', 'baremetal-iso', 'fresh-baremetal-iso', 'rollout-soak', 'fresh-rollout-soak', 'faults', 'fresh-faults',
  'bench-storage', 'fresh-bench-storage', 'fresh-storage-bench', 'bench-coronafs-local-matrix',
  'prove', 'validate', 'rerun-failed', 'help',
];

describe('the command table', () => {
  it('has every command, in the order of the command list', () => {
    expect(Object.keys(commands)).toEqual(COMMANDS);
  });

  it.each(COMMANDS)('%s has one-line args and summary, details and a handler', (name) => {
    const c = commands[name];
    expect(typeof c.run).toBe('function');
    expect(c.summary.trim()).not.toBe('');
    expect(c.summary).not.toContain('\n');
    expect(c.args).not.toContain('\n');
    expect(c.details.trim()).not.toBe('');
    expect(commandHelp(name, c).split('\n')[0]).toBe(`usage: cluster ${name} ${c.args}`);
  });

  it('every command is in exactly one group of the command list, and the list shows each (a fresh-<suite> on its suite\'s line)', () => {
    const grouped = GROUPS.flatMap((g) => g.names);
    expect([...grouped].sort()).toEqual([...COMMANDS].sort());
    const text = usage(100);
    for (const name of COMMANDS) expect(text, name).toMatch(new RegExp(`^  ${name}( |$)|also\\s[^)]*\\b${name}\\b`, 'm'));
  });

  it('the command list fits the width it is given', () => {
    for (const width of [60, 80, 120]) {
      const long = usage(width).split('\n').filter((l) => l.length > width);
      expect(long, `lines over ${width}`).toEqual([]);
    }
  });

  it('passes arguments through only where another program takes them', () => {
    const through = COMMANDS.filter((n) => commands[n].passThrough);
    expect(through).toEqual([
      'ssh', 'smoke', 'fresh-smoke', 'matrix', 'fresh-matrix', 'demo-vm-webapp', 'fresh-demo-vm-webapp',
      'serve-vm-webapp', 'fresh-serve-vm-webapp', 'baremetal-iso', 'fresh-baremetal-iso', 'rollout-soak', 'fresh-rollout-soak', 'faults', 'fresh-faults',
      'validate', 'rerun-failed',
    ]);
  });

  it('takes no inherited object key for a command', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) expect(() => lookup(name)).toThrow(UsageError);
  });

  it('a pass-through command takes only a leading --help; others take it anywhere before --', () => {
    expect(wantsHelp(commands.smoke, ['--help'])).toBe(true);
    expect(wantsHelp(commands.smoke, ['-t', 'x', '--help'])).toBe(false);
    expect(wantsHelp(commands.logs, ['node01', '-h'])).toBe(true);
    expect(wantsHelp(commands.logs, ['node01', '--', '--help'])).toBe(false);
  });
});

describe('main', () => {
  const printed = () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    return () => log.mock.calls.map((c) => String(c[0])).join('\n');
  };

  it('--help prints the usage, exit 0; no command prints it, exit 2', async () => {
    const out = printed();
    expect(await main(['--help'])).toBe(0);
    expect(out()).toBe(usage());
    expect(await main([])).toBe(2);
  });

  it('help <command> and <command> --help print the same usage', async () => {
    const out = printed();
    expect(await main(['help', 'console'])).toBe(0);
    expect(await main(['console', '--help'])).toBe(0);
    const help = commandHelp('console', commands.console);
    expect(out()).toBe(`${help}\n${help}`);
  });

  it('an unknown command is a UsageError naming it', async () => {
    await expect(main(['frobnicate'])).rejects.toThrow(new UsageError("unknown command 'frobnicate'; `cluster help` lists them"));
  });

  it('is not run on import: this module is not the program', () => {
    const mainUrl = pathToFileURL(path.resolve(import.meta.dirname, '../../cli/main.ts')).href;
    expect(isProgram(mainUrl)).toBe(false);
  });
});

describe('isProgram', () => {
  const self = fileURLToPath(import.meta.url);
  it('compares the module with the script node started, through symlinks', () => {
    expect(isProgram(import.meta.url, self)).toBe(true);
    const link = path.join(tmp, 'link.ts');
    fs.symlinkSync(self, link);
    expect(isProgram(import.meta.url, link)).toBe(true);
    expect(isProgram(import.meta.url, path.join(tmp, 'other.ts'))).toBe(false);
    expect(isProgram(import.meta.url, undefined)).toBe(false);
  });
});

describe('option parsing', () => {
  const options = { json: { type: 'boolean' }, lines: { type: 'string', short: 'n' } } as const;
  const usageError = (f: () => unknown): UsageError => {
    try {
      f();
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      expect((e as Error).message).not.toContain('\n');
      return e as UsageError;
    }
    throw new Error('no UsageError');
  };

  it('parses what it is given', () => {
    expect(opts(['--json', '-n', '5', 'node01'], options, 1)).toMatchObject({ values: { json: true, lines: '5' }, positionals: ['node01'] });
  });

  it('an unknown option is one line naming it', () => {
    expect(usageError(() => opts(['--bogus'], options)).message).toContain('--bogus');
  });

  it('a stray argument is one line naming it', () => {
    expect(usageError(() => opts(['node01', 'node02'], options, 1)).message).toBe("takes at most 1 argument, got 'node02' too");
  });

  it('a missing option value is one line', () => {
    expect(usageError(() => opts(['-n'], options)).message).toContain('-n');
  });

  it("a bench command's bad --runs or option is a UsageError before any cluster is opened", async () => {
    await expect(commands['bench-storage'].run(['--runs', '0'])).rejects.toThrow(new UsageError("--runs takes a whole number 1-99, got '0'"));
    await expect(commands['bench-coronafs-local-matrix'].run(['--runs', 'x'])).rejects.toThrow(UsageError);
    await expect(commands['fresh-bench-storage'].run(['--bogus'])).rejects.toThrow(UsageError);
  });
});

describe('describeFailure: an error that ended a command -> exit code and one stderr line', () => {
  const log = path.join(tmp, 'cli-error.log');
  const noLog = () => {
    throw new Error('no log for an expected error');
  };

  it('bad input: exit 2, its message', () => {
    expect(describeFailure(new UsageError('unknown node'), noLog)).toEqual({ code: 2, line: 'cluster: unknown node' });
  });

  it('a host problem and an expected failure: exit 1, the message is the report', () => {
    expect(describeFailure(new HostError('no cluster is running'), noLog)).toEqual({ code: 1, line: 'cluster: no cluster is running' });
    const e = new NodeError('node01', 'no SSH');
    expect(describeFailure(e, noLog)).toEqual({ code: 1, line: `cluster: ${e.message}` });
  });

  it('anything else: exit 1, its first line and where its stack went', () => {
    const r = describeFailure(new TypeError('boom\nsecond line'), () => log);
    expect(r).toEqual({ code: 1, line: `cluster: boom (details: ${log})` });
    expect(fs.readFileSync(log, 'utf8')).toMatch(/TypeError: boom\nsecond line\n\s+at /);
    expect(describeFailure('a string', () => log)).toEqual({ code: 1, line: `cluster: a string (details: ${log})` });
  });

  it('a log that cannot be written says so', () => {
    expect(describeFailure(new Error('boom'), () => path.join(tmp, 'no', 'such', 'dir', 'log')).line).toBe('cluster: boom (details: (could not write a log))');
  });
});

/** A cluster that records what the session does with it. */
function standIn(o: { running?: string[]; preflight?: () => void; start?: () => Promise<void>; close?: () => Promise<void> } = {}) {
  const calls: string[] = [];
  const cluster = {
    specs: [{ name: 'node01' }, { name: 'node02' }],
    lock(purpose: string) {
      calls.push(`lock ${purpose}`);
      return { release: () => calls.push(`release ${purpose}`) };
    },
    preflightImage() {
      calls.push('preflight');
      o.preflight?.();
    },
    async clean() {
      calls.push('clean');
    },
    runningNodes() {
      return (o.running ?? []).map((name) => ({ name }));
    },
    async start(s: { fresh: boolean; cold: boolean }) {
      calls.push(`start fresh=${s.fresh} cold=${s.cold}`);
      await o.start?.();
    },
    async stop() {
      calls.push('stop');
      return [];
    },
    async close() {
      calls.push('close');
      await o.close?.();
    },
    vm: () => ({ stop: async () => undefined }),
  };
  return { cluster: cluster as unknown as SessionCluster, calls };
}

describe('withCluster', () => {
  const signals = () => [process.listenerCount('SIGINT'), process.listenerCount('SIGTERM')];

  it('reuses a running cluster: lock, run, close, release', async () => {
    const { cluster, calls } = standIn({ running: ['node01'] });
    const r = await withCluster({ purpose: 'cluster smoke', cluster }, async (c) => {
      expect(c).toBe(cluster);
      calls.push('run');
      return 7;
    });
    expect(r).toBe(7);
    expect(calls).toEqual(['lock cluster smoke', 'run', 'close', 'release cluster smoke']);
  });

  it('brings the cluster up when no node runs, as `cluster start` does, cold when asked', async () => {
    const { cluster, calls } = standIn();
    const before = signals();
    await withCluster({ purpose: 'cluster smoke', cold: true, cluster }, async () => calls.push('run'));
    expect(calls).toEqual([
      'lock cluster smoke',
      'lock cluster start', 'start fresh=false cold=true', 'close', 'release cluster start',
      'run', 'close', 'release cluster smoke',
    ]);
    expect(signals()).toEqual(before);
  });

  it('fresh: the image preflight before the lock, then the clean, then new disks', async () => {
    const { cluster, calls } = standIn({ running: ['node01'] });
    await withCluster({ purpose: 'cluster fresh-smoke', fresh: true, cluster }, async () => calls.push('run'));
    expect(calls).toEqual([
      'preflight', 'lock cluster fresh-smoke', 'clean',
      'lock cluster start', 'start fresh=true cold=false', 'close', 'release cluster start',
      'run', 'close', 'release cluster fresh-smoke',
    ]);
  });

  it('a failed preflight takes no lock and throws nothing away', async () => {
    const { cluster, calls } = standIn({ preflight: () => { throw new HostError('no nix here'); } });
    await expect(withCluster({ purpose: 'cluster fresh-smoke', fresh: true, cluster }, async () => calls.push('run'))).rejects.toThrow('no nix here');
    expect(calls).toEqual(['preflight']);
  });

  it('releases the lock when run throws, and passes the error on', async () => {
    const { cluster, calls } = standIn({ running: ['node01'] });
    const boom = new Error('run failed');
    await expect(withCluster({ purpose: 'cluster bench-storage', cluster }, async () => { throw boom; })).rejects.toBe(boom);
    expect(calls).toEqual(['lock cluster bench-storage', 'close', 'release cluster bench-storage']);
  });

  it('releases the lock when the start fails, and does not run', async () => {
    const { cluster, calls } = standIn({ start: async () => { throw new Error('node03 did not boot'); } });
    const before = signals();
    await expect(withCluster({ purpose: 'cluster smoke', cluster }, async () => calls.push('run'))).rejects.toThrow('node03 did not boot');
    expect(calls).not.toContain('run');
    expect(calls.at(-1)).toBe('release cluster smoke');
    expect(calls).toContain('release cluster start');
    expect(signals()).toEqual(before);
  });

  it('releases the lock even when closing the SSH pool fails', async () => {
    const { cluster, calls } = standIn({ running: ['node01'], close: async () => { throw new Error('pool'); } });
    await expect(withCluster({ purpose: 'cluster smoke', cluster }, async () => 0)).rejects.toThrow('pool');
    expect(calls.at(-1)).toBe('release cluster smoke');
  });
});
