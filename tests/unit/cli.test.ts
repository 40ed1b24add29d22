import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { type ChildProcess, spawn } from 'node:child_process';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { PROJECT_ROOT } from '../../harness/config.js';
import { isAlive } from '../../harness/proc.js';

/**
 * The CLI as an operator runs it, against a private empty state dir and
 * image cache: it never builds an image or starts a QEMU; `stop` and `start`
 * only ever meet stand-in processes this file started.
 */
let tmp: string;
let stateDir: string;
let cacheDir: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-cli-'));
  stateDir = path.join(tmp, 'state');
  cacheDir = path.join(tmp, 'cache');
  fs.mkdirSync(stateDir);
  fs.mkdirSync(cacheDir);
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** process.env without any harness knob, so the operator's own settings cannot leak in. */
function baseEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      (e): e is [string, string] => e[1] !== undefined && !/^(ULTRACLOUD_|PHOTON_)/.test(e[0]) && e[0] !== 'XDG_CACHE_HOME',
    ),
  );
}

async function cluster(args: string[], env: Record<string, string> = {}, via: { argv?: string[]; cwd?: string; input?: string } = {}) {
  const r = await execa(process.execPath, [...(via.argv ?? ['--import', 'tsx', 'cli/main.ts']), ...args], {
    cwd: via.cwd ?? PROJECT_ROOT,
    env: { ...baseEnv(), PHOTON_VM_DIR: stateDir, ULTRACLOUD_IMAGE_CACHE: cacheDir, ULTRACLOUD_QUIET: '1', ...env },
    extendEnv: false,
    reject: false,
    ...(via.input !== undefined ? { input: via.input } : { stdin: 'ignore' as const }),
    timeout: 60_000,
  });
  const stderrLines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr, stderrLines };
}

/**
 * The same command line run in this process: main() as runProgram runs it
 * (its exit code, or the thrown error through describeFailure: the code and
 * the one stderr line), stdout and stderr captured, the environment set as
 * the spawned CLI would get it. For input that never reaches a process
 * boundary (options, help, environment checks): a spawn costs a loaded
 * host seconds of CPU each, and this file had about a hundred. What only a
 * real process shows (the bin shim, exit codes passed through, signals,
 * stand-in processes) is still spawned below. Not concurrent: it sets
 * process.env for the call.
 */
async function cli(args: string[], env: Record<string, string> = {}) {
  const { main, describeFailure } = await import('../../cli/main.js');
  const saved = { ...process.env };
  const want = { ...baseEnv(), PHOTON_VM_DIR: stateDir, ULTRACLOUD_IMAGE_CACHE: cacheDir, ULTRACLOUD_QUIET: '1', ...env };
  for (const k of Object.keys(process.env)) if (!(k in want)) delete process.env[k];
  Object.assign(process.env, want);
  let stdout = '';
  let stderr = '';
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    stdout += `${a.map(String).join(' ')}\n`;
  });
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  let code: number;
  try {
    code = await main(args);
  } catch (e) {
    const f = describeFailure(e, () => path.join(tmp, 'cli-error.log'));
    stderr += `${f.line}\n`;
    code = f.code;
  } finally {
    log.mockRestore();
    out.mockRestore();
    err.mockRestore();
    for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  stdout = stdout.replace(/\n$/, '');
  const stderrLines = stderr.split('\n').filter((l) => l.trim() !== '');
  return { code, stdout, stderr, stderrLines };
}

describe('the program itself (spawned): one line on stderr and its exit code', { timeout: 90_000 }, () => {
  it('an unknown command is exit 2 and one line', async () => {
    const r = await cluster(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toEqual(["cluster: unknown command 'frobnicate'; `cluster help` lists them"]);
    expect(r.stdout).toBe('');
  });

  it('a bad option is exit 2 and one line; help is exit 0 on stdout', async () => {
    const [bad, help] = await Promise.all([cluster(['status', '--jsno']), cluster(['status', '--help'])]);
    expect(bad.code).toBe(2);
    expect(bad.stderrLines).toHaveLength(1);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: cluster status/);
    expect(help.stderr).toBe('');
  });
});

describe('cluster CLI', { timeout: 90_000 }, () => {
  it('rejects an unknown command with exit 2 and one line', async () => {
    const r = await cli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('unknown command');
    expect(r.stderrLines[0]).toContain('frobnicate');
    expect(r.stdout).toBe('');
  });

  it('does not take inherited object keys for commands', async () => {
    const r = await cli(['constructor']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('unknown command');
  });

  it('rejects an unknown node for ssh with exit 2 and one line', async () => {
    const r = await cli(['ssh', 'node9']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('unknown node');
    expect(r.stderrLines[0]).toContain('node9');
  });

  it('rejects ssh without a node name with exit 2', async () => {
    const r = await cli(['ssh']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
  });

  it('rejects an unknown option with exit 2 and one line', async () => {
    const r = await cli(['status', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toBe('cluster: status: unknown option --bogus; its options: --json; `cluster status --help` lists its options');
  });

  it('an option one slip away is named in our words, with the one meant; a near-miss command too', async () => {
    const r = await cli(['status', '--jsno']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toEqual(['cluster: status: unknown option --jsno (did you mean --json?); its options: --json; `cluster status --help` lists its options']);
    const missing = await cli(['logs', 'node01', '-n']);
    expect(missing.code).toBe(2);
    expect(missing.stderrLines).toEqual(['cluster: logs: --lines (-n) needs a value: --lines <value>; `cluster logs --help` lists its options']);
    const typo = await cli(['stauts']);
    expect(typo.code).toBe(2);
    expect(typo.stderrLines).toEqual(['cluster: unknown command \'stauts\' (did you mean `status`?); `cluster help` lists them']);
  });

  it('--version prints the version and the commit, exit 0', async () => {
    const r = await cli(['--version']);
    expect(r.code).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(r.stdout.trim()).toMatch(new RegExp(`^cluster ${pkg.version.replace(/\./g, '\\.')} \\(ultracloud-test-cluster(, commit [0-9a-f]{12})?\\)$`));
  });

  it('rejects a stray argument with exit 2', async () => {
    const r = await cli(['status', 'extra']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toBe("cluster: status: takes no argument, got 'extra'; `cluster status --help` lists its options");
  });

  it('rejects a bad ULTRACLOUD_ACCEL with exit 2, naming the variable', async () => {
    const r = await cli(['status'], { ULTRACLOUD_ACCEL: 'foo' });
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('ULTRACLOUD_ACCEL');
    expect(r.stdout).toBe('');
  });

  it('rejects a bad logs -n with exit 2', async () => {
    const r = await cli(['logs', 'node01', '-n', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
  });

  it('status on an empty state dir lists node01..node06 as stopped, changes nothing, and exits 1 saying no cluster runs', async () => {
    const r = await cli(['status']);
    expect(r.stderrLines).toEqual([`cluster: no cluster is running (state dir ${stateDir}); \`cluster start\` boots one`]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toBe(`state dir: ${stateDir}`);
    expect(lines[1].split(/\s+/)).toEqual(['NODE', 'STATE', 'PID', 'SSH', 'ACCEL', 'UPTIME', 'CPU', 'FORWARDS']);
    const rows = lines.slice(2).filter(Boolean).map((l) => l.split(/\s+/));
    expect(rows.map((c) => c[0])).toEqual(['node01', 'node02', 'node03', 'node04', 'node05', 'node06']);
    for (const c of rows) {
      expect(c[1], c[0]).toBe('stopped');
      expect(c[2], c[0]).toBe('-');
    }
    expect(rows[0][3]).toBe('127.0.0.1:22201');
    expect(rows[5]).toContain('apigateway=127.0.0.1:22280');
    expect(rows[5]).toContain('nightlight=127.0.0.1:22290');
    expect(fs.readdirSync(stateDir)).toEqual([]);
    expect(fs.readdirSync(cacheDir)).toEqual([]);
  });

  it('status --json reports every node stopped, with ports from ULTRACLOUD_PORT_BASE, every key present (null where unknown)', async () => {
    const r = await cli(['status', '--json'], { ULTRACLOUD_PORT_BASE: '30000' });
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { schema: number; stateDir: string; sshKey: string; runtime: unknown; nodes: Record<string, unknown>[] & { node: string; state: string; sshPort: number }[] };
    expect(out.schema).toBe(1);
    expect(out.stateDir).toBe(stateDir);
    expect(out.sshKey).toBe(path.join(stateDir, 'ssh', 'id_ed25519'));
    expect(out.runtime).toBeNull();
    expect(Object.keys(out.nodes[0])).toEqual(['node', 'state', 'vm', 'pid', 'sshPort', 'ssh', 'forwards', 'accel', 'uptimeS', 'cpu']);
    expect(out.nodes[0]).toMatchObject({ pid: null, uptimeS: null, cpu: null, ssh: `ssh -i ${out.sshKey} -p 30001 -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null root@127.0.0.1` });
    expect(out.nodes.map((n) => [n.node, n.state, n.sshPort])).toEqual([
      ['node01', 'stopped', 30001],
      ['node02', 'stopped', 30002],
      ['node03', 'stopped', 30003],
      ['node04', 'stopped', 30004],
      ['node05', 'stopped', 30005],
      ['node06', 'stopped', 30006],
    ]);
  });

  it('--profile storage: storage-node01..05 on their own ports, in <state dir>-storage', async () => {
    const r = await cli(['status', '--json', '--profile', 'storage']);
    const out = JSON.parse(r.stdout) as { profile: string; stateDir: string; nodes: { node: string; sshPort: number }[] };
    expect(out.profile).toBe('storage');
    expect(out.stateDir).toBe(`${stateDir}-storage`);
    expect(out.nodes.map((n) => `${n.node}:${n.sshPort}`)).toEqual(['storage-node01:22301', 'storage-node02:22302', 'storage-node03:22303', 'storage-node04:22304', 'storage-node05:22305']);
  });

  it('a suite the profile cannot serve is exit 2, one line', async () => {
    const r = await cli(['smoke', '--profile', 'storage']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toEqual(['cluster: `cluster smoke` needs the default profile: the storage profile boots only base, coronafs, lightningstor and serves unit, bench']);
    const bad = await cli(['status', '--profile', 'large']);
    expect(bad.code).toBe(2);
    expect(bad.stderrLines).toEqual(["cluster: ULTRACLOUD_PROFILE='large' is not one of: default, storage"]);
  });

  it('export-logs of a stopped cluster copies the consoles there are, writes status.json, and lists what it could not fetch and why', async () => {
    fs.mkdirSync(path.join(stateDir, 'node01'), { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'node01', 'vm.log'), 'node01 booted\n');
    fs.mkdirSync(path.join(stateDir, 'baremetal', 'bm-w01'), { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'baremetal', 'bm-w01', 'vm.log'), 'ULTRACLOUD_MARKER installer:start\n');
    const dir = path.join(tmp, 'exported');
    try {
      const r = await cli(['export-logs', dir]);
      expect(r.code, r.stderr).toBe(0);
      expect(fs.readFileSync(path.join(dir, 'node01', 'vm.log'), 'utf8')).toBe('node01 booted\n');
      expect(fs.readFileSync(path.join(dir, 'chassis', 'bm-w01', 'vm.log'), 'utf8')).toContain('installer:start');
      const status = JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { schema: number; started: boolean };
      expect(status).toMatchObject({ schema: 1, started: false });
      const missing = fs.readFileSync(path.join(dir, 'MISSING.txt'), 'utf8');
      expect(missing).toContain('node01: journal and units not fetched: the node is stopped (no SSH)');
      expect(missing).toContain(`node02/vm.log: ${path.join(stateDir, 'node02', 'vm.log')} does not exist`);
      expect(r.stdout.split('\n')[0]).toBe(`exported to ${dir}:`);
      expect(r.stdout).toContain('  node01/vm.log  (14 bytes)');
      expect(r.stderrLines.every((l) => l.startsWith('cluster: not collected: '))).toBe(true);
      // A second export into the same folder would mix two runs' evidence: refused.
      const again = await cli(['export-logs', dir]);
      expect(again.code).toBe(1);
      expect(again.stderrLines).toEqual([`cluster: ${dir} is not empty: export-logs writes into a new or empty folder`]);
    } finally {
      for (const p of [path.join(stateDir, 'node01'), path.join(stateDir, 'baremetal'), dir]) fs.rmSync(p, { recursive: true, force: true });
    }
  });

  it('help prints the usage and exits 0', async () => {
    const r = await cli(['help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: /);
    expect(r.stdout).toMatch(/^inspect:\n  status \[--json\] +per node/m);
    expect(r.stderr).toBe('');
  });

  it('--help exits 0, and no command at all prints the usage but exits 2', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: /);
    const none = await cli([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/^usage: /);
  });
});

const COMMANDS = ['build', 'start', 'status', 'ssh', 'console', 'logs', 'stop', 'clean', 'smoke', 'fresh-smoke', 'validate', 'rerun-failed', 'help'];

describe('cluster <command> --help', { timeout: 120_000 }, () => {
  it.each(COMMANDS)('%s --help prints that command\'s usage and exits 0', async (command) => {
    const r = await cli([command, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^usage: cluster ${command}( |$)`));
    expect(r.stdout.split('\n').length).toBeGreaterThan(2);
    expect(r.stderr).toBe('');
  });

  it('-h works too, after other options', async () => {
    const r = await cli(['logs', 'node01', '-h']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: cluster logs /);
  });

  it('help <command> is the same as <command> --help', async () => {
    const a = await cli(['help', 'console']);
    const b = await cli(['console', '--help']);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });

  it('help of an unknown command is exit 2, one line', async () => {
    const r = await cli(['help', 'frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
  });

  it('the command list names every command and the new surface', async () => {
    const r = await cli(['help']);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c}( |$)|also\\s[^)]*\\b${c}\\b`, 'm'));
    expect(r.stdout).toContain('console <node>');
    expect(r.stdout).toContain('start [--fresh] [--cold] [node]');
    expect(r.stdout).toContain('stop [--graceful] [node]');
  });

  it('--help after `ssh <node>` belongs to the remote command (not ours)', async () => {
    const r = await cli(['ssh', 'node9', '--help']);
    expect(r.code).toBe(2);
    expect(r.stderrLines[0]).toContain('unknown node');
  });
});

describe('cluster CLI: bad input is exit 2, one line', { timeout: 120_000 }, () => {
  it.each([
    ['build', '--bogus'],
    ['start', '--bogus'],
    ['status', '--bogus'],
    ['logs', 'node01', '--bogus'],
    ['stop', '--bogus'],
    ['clean', '--bogus'],
    ['console', 'node01', '--bogus'],
  ])('%s %s', async (...args) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('--bogus');
    expect(r.stdout).toBe('');
  });

  it.each([
    [['console'], 'needs a node name'],
    [['console', 'node9'], 'unknown node'],
    [['start', 'node9'], 'unknown node'],
    [['stop', 'node9'], 'unknown node'],
    [['start', '--fresh', 'node01'], '--fresh'],
    [['start', 'node01', 'node02'], "start: takes at most 1 argument, got 'node02' too"],
    [['logs'], 'needs a node name'],
  ])('%j', async (args, message) => {
    const r = await cli(args);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain(message);
  });

  it.each(['ULTRACLOUD_KEEP_CLUSTER', 'ULTRACLOUD_ATTACH_ONLY', 'ULTRACLOUD_VERBOSE', 'ULTRACLOUD_QUIET', 'ULTRACLOUD_COLD'])(
    'a non-boolean %s is exit 2 naming it',
    async (name) => {
      const r = await cli(['status'], { [name]: 'on' });
      expect(r.code).toBe(2);
      expect(r.stderrLines).toHaveLength(1);
      expect(r.stderrLines[0]).toContain(name);
      expect(r.stdout).toBe('');
    },
  );

  it('accepts true/yes/no spellings of booleans', async () => {
    const r = await cli(['status', '--json'], { ULTRACLOUD_KEEP_CLUSTER: 'true', ULTRACLOUD_VERBOSE: 'No', ULTRACLOUD_QUIET: 'YES' });
    // Accepted: no usage error (2); 1 only says no cluster runs here.
    expect(r.code).toBe(1);
    expect(r.stderrLines).toEqual([expect.stringContaining('no cluster is running')]);
  });
});

describe.concurrent('the bin shim (npx cluster)', { timeout: 120_000 }, () => {
  const shim = path.join(PROJECT_ROOT, 'bin', 'cluster.mjs');

  it('is package.json\'s `cluster` bin, executable, with a node shebang', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    expect(path.resolve(PROJECT_ROOT, pkg.bin.cluster)).toBe(shim);
    expect(fs.statSync(shim).mode & 0o111).not.toBe(0);
    expect(fs.readFileSync(shim, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it('runs the CLI from any folder', async () => {
    const r = await cluster(['status', '--help'], {}, { argv: [shim], cwd: os.tmpdir() });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: cluster status/);
  });

  it('runs through a symlink (as node_modules/.bin and the npx cache link it), with clean JSON on stdout', async () => {
    const link = path.join(tmp, 'dot-bin', 'cluster');
    fs.mkdirSync(path.dirname(link), { recursive: true });
    fs.symlinkSync(shim, link);
    const r = await cluster(['status', '--json'], { ULTRACLOUD_QUIET: '' }, { argv: [link], cwd: os.tmpdir() });
    expect(r.code).toBe(1); // no cluster runs in the test's state dir
    expect(JSON.parse(r.stdout).nodes).toHaveLength(6);
  });

  it('passes exit codes through', async () => {
    const r = await cluster(['frobnicate'], {}, { argv: [shim], cwd: os.tmpdir() });
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
  });
});

/**
 * Stand-ins for a cluster's processes: plain `node` processes whose command
 * line names the pid file, which is all the harness checks before it calls
 * a QEMU or the switch "running". No QEMU is started.
 */
describe('cluster CLI against stand-in processes', { timeout: 120_000 }, () => {
  let dir: string;
  const procs: ChildProcess[] = [];

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(tmp, 'fake-'));
  });
  afterEach(() => {
    for (const p of procs.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

  async function standIn(pidFile: string, argv0 = process.execPath): Promise<ChildProcess> {
    fs.mkdirSync(path.dirname(pidFile), { recursive: true });
    const child = spawn(argv0, ['-e', 'setTimeout(() => {}, 120000)', pidFile], { stdio: 'ignore' });
    procs.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    fs.writeFileSync(pidFile, `${child.pid}\n`);
    return child;
  }

  const alive = (c: ChildProcess) => c.exitCode === null && c.signalCode === null && isAlive(c.pid!);
  const env = () => ({ PHOTON_VM_DIR: dir });

  it('status of a started cluster with nodes down exits 1 and says which', async () => {
    await standIn(path.join(dir, 'vde', 'vde_switch.pid'));
    const r = await cluster(['status', '--json'], env());
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout) as { started: boolean; nodes: { node: string; state: string; vm: string }[] };
    expect(out.started).toBe(true);
    expect(out.nodes.map((n) => n.state)).toEqual(['down', 'down', 'down', 'down', 'down', 'down']);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('node01 (down)');
  });

  it('start on a running, booted cluster changes nothing', async () => {
    for (const n of ['node01', 'node02', 'node03', 'node04', 'node05', 'node06']) await standIn(path.join(dir, n, 'qemu.pid'));
    const rt = { profile: 'default', stack: 'reference', image: { hash: 'x', disk: '/nonexistent' }, accel: 'tcg', accelReason: 'test', portBase: 22200, startedAt: '2026-01-01T00:00:00.000Z', pid: 1, state: 'ready' };
    const file = path.join(dir, 'cluster.json');
    fs.writeFileSync(file, JSON.stringify(rt));
    const before = fs.statSync(file).mtimeMs;
    const r = await cluster(['start'], { ...env(), ULTRACLOUD_QUIET: '' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('nothing to do');
    expect(fs.readFileSync(file, 'utf8')).toBe(JSON.stringify(rt));
    expect(fs.statSync(file).mtimeMs).toBe(before);
    expect(procs.every(alive)).toBe(true);
    expect(fs.existsSync(`${dir}.lock`)).toBe(false);
  });

  it('stop ends the switch but not a `tail -f vm.log` that names the state dir', async () => {
    const vde = await standIn(path.join(dir, 'vde', 'vde_switch.pid'));
    fs.mkdirSync(path.join(dir, 'node01'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'node01', 'vm.log'), 'boot\n');
    const viewer = spawn('tail', ['-f', path.join(dir, 'node01', 'vm.log')], { stdio: 'ignore' });
    procs.push(viewer);
    await new Promise<void>((resolve) => viewer.once('spawn', () => resolve()));
    const r = await cluster(['stop'], env());
    expect(r.code, r.stderr).toBe(0);
    await new Promise((res) => setTimeout(res, 200));
    expect(isAlive(vde.pid!) && vde.exitCode === null && vde.signalCode === null).toBe(false);
    expect(alive(viewer)).toBe(true);
  });

  it("stop of one profile leaves the other profile's cluster running", async () => {
    const storageDir = `${dir}-storage`;
    const dflt = [await standIn(path.join(dir, 'vde', 'vde_switch.pid')), await standIn(path.join(dir, 'node01', 'qemu.pid'))];
    const storage = [await standIn(path.join(storageDir, 'vde', 'vde_switch.pid')), await standIn(path.join(storageDir, 'storage-node01', 'qemu.pid'))];
    const r = await cluster(['stop', '--profile', 'storage'], env());
    expect(r.code, r.stderr).toBe(0);
    await new Promise((res) => setTimeout(res, 200));
    expect(storage.some(alive)).toBe(false);
    expect(dflt.every(alive)).toBe(true);
    const s = await cluster(['status', '--json'], env());
    expect((JSON.parse(s.stdout) as { started: boolean }).started).toBe(true);
    const again = [await standIn(path.join(storageDir, 'vde', 'vde_switch.pid'))];
    expect((await cluster(['stop'], env())).code).toBe(0);
    await new Promise((res) => setTimeout(res, 200));
    expect(dflt.some(alive)).toBe(false);
    expect(again.every(alive)).toBe(true);
    fs.rmSync(storageDir, { recursive: true, force: true });
  });

  async function consoleServer(received: Buffer[]): Promise<net.Server> {
    const sock = path.join(dir, 'node01', 'console.sock');
    const server = net.createServer((c) => {
      c.on('error', () => undefined); // the CLI may be gone before the echo is written
      c.on('data', (d) => {
        received.push(d);
        c.write(`echo:${d.toString()}`);
      });
    });
    await new Promise<void>((resolve) => server.listen(sock, () => resolve()));
    return server;
  }

  it('console relays stdin to the node\'s console socket and what comes back to stdout', async () => {
    await standIn(path.join(dir, 'node01', 'qemu.pid'));
    const received: Buffer[] = [];
    const server = await consoleServer(received);
    try {
      const r = await cluster(['console', 'node01'], env(), { input: 'uname -a\n' });
      expect(r.code, r.stderr).toBe(0);
      expect(Buffer.concat(received).toString()).toBe('uname -a\n');
      expect(r.stdout).toContain('echo:uname -a');
      expect(r.stderr).toContain('Ctrl-]');
    } finally {
      server.close();
    }
  });

  it('console leaves at Ctrl-] and sends nothing after it', async () => {
    await standIn(path.join(dir, 'node01', 'qemu.pid'));
    const received: Buffer[] = [];
    const server = await consoleServer(received);
    try {
      const r = await cluster(['console', 'node01'], env(), { input: 'ls\n\x1dreboot\n' });
      expect(r.code, r.stderr).toBe(0);
      await new Promise((res) => setTimeout(res, 100));
      expect(Buffer.concat(received).toString()).toBe('ls\n');
      expect(r.stderr).toContain("left node01's console");
    } finally {
      server.close();
    }
  });

  it('console of a running node without a console socket (an older QEMU) says how to fix it', async () => {
    await standIn(path.join(dir, 'node01', 'qemu.pid'));
    const r = await cluster(['console', 'node01'], env());
    expect(r.code).toBe(1);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('console.sock');
    expect(r.stderrLines[0]).toContain('cluster stop node01');
  });

  it('console of a node that is not running is exit 1, one line', async () => {
    const r = await cluster(['console', 'node01'], env());
    expect(r.code).toBe(1);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('node01 is not running');
  });

  it('a lock held by another live process: exit 1, one line naming its pid', async () => {
    const holder = await standIn(path.join(dir, 'unused.pid'));
    fs.writeFileSync(`${dir}.lock`, JSON.stringify({ pid: holder.pid, purpose: 'cluster start', token: 'f00df00df00df00d', since: '2026-01-01T00:00:00Z' }));
    try {
      const r = await cluster(['stop'], env());
      expect(r.code).toBe(1);
      expect(r.stderrLines).toHaveLength(1);
      expect(r.stderrLines[0]).toContain(`pid ${holder.pid}`);
      expect(r.stderrLines[0]).toContain('cluster start');
    } finally {
      fs.rmSync(`${dir}.lock`, { force: true });
    }
  });

  it('an unexpected error is one line with the path of its details, the stack in the state dir', async () => {
    fs.mkdirSync(`${dir}.lock`); // a folder where the lock file goes: nothing the CLI expects
    try {
      const r = await cluster(['stop'], env());
      expect(r.code).toBe(1);
      expect(r.stderrLines).toHaveLength(1);
      const log = path.join(dir, 'cli-error.log');
      expect(r.stderrLines[0]).toMatch(/^cluster: .+ \(details: .+\)$/);
      expect(r.stderrLines[0]).toContain(`(details: ${log})`);
      expect(fs.readFileSync(log, 'utf8')).toMatch(/\n\s+at /);
    } finally {
      fs.rmSync(`${dir}.lock`, { recursive: true, force: true });
    }
  });
});

// Spawns the CLI (tsx): seconds on a loaded 2-core host, as the other spawning groups allow.
describe('--cold', { timeout: 120_000 }, () => {
  it('is about the whole cluster: with a node it is exit 2, one line, before anything starts', async () => {
    const r = await cluster(['start', '--cold', 'node01']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toMatch(/--cold are about the whole cluster/);
  });
});
