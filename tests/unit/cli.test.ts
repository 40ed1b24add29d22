import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../harness/config.js';

/**
 * The CLI as an operator runs it, against a private empty state dir and
 * image cache: only commands that never start, stop or build anything.
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

async function cluster(args: string[], env: Record<string, string> = {}) {
  const r = await execa(process.execPath, ['--import', 'tsx', 'cli/cluster.ts', ...args], {
    cwd: PROJECT_ROOT,
    env: { ...baseEnv(), PHOTON_VM_DIR: stateDir, ULTRACLOUD_IMAGE_CACHE: cacheDir, ULTRACLOUD_QUIET: '1', ...env },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: 60_000,
  });
  const stderrLines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr, stderrLines };
}

describe('cluster CLI', { timeout: 90_000 }, () => {
  it('rejects an unknown command with exit 2 and one line', async () => {
    const r = await cluster(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('unknown command');
    expect(r.stderrLines[0]).toContain('frobnicate');
    expect(r.stdout).toBe('');
  });

  it('does not take inherited object keys for commands', async () => {
    const r = await cluster(['constructor']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('unknown command');
  });

  it('rejects an unknown node for ssh with exit 2 and one line', async () => {
    const r = await cluster(['ssh', 'node9']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('unknown node');
    expect(r.stderrLines[0]).toContain('node9');
  });

  it('rejects ssh without a node name with exit 2', async () => {
    const r = await cluster(['ssh']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
  });

  it('rejects an unknown option with exit 2 and one line', async () => {
    const r = await cluster(['status', '--bogus']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('--bogus');
  });

  it('rejects a stray argument with exit 2', async () => {
    const r = await cluster(['status', 'extra']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain("unexpected argument 'extra'");
  });

  it('rejects a bad ULTRACLOUD_ACCEL with exit 2, naming the variable', async () => {
    const r = await cluster(['status'], { ULTRACLOUD_ACCEL: 'foo' });
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
    expect(r.stderrLines[0]).toContain('ULTRACLOUD_ACCEL');
    expect(r.stdout).toBe('');
  });

  it('rejects a bad logs -n with exit 2', async () => {
    const r = await cluster(['logs', 'node01', '-n', 'many']);
    expect(r.code).toBe(2);
    expect(r.stderrLines).toHaveLength(1);
  });

  it('status on an empty state dir lists node01..node06 as stopped and changes nothing', async () => {
    const r = await cluster(['status']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
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

  it('status --json reports every node stopped, with ports from ULTRACLOUD_PORT_BASE', async () => {
    const r = await cluster(['status', '--json'], { ULTRACLOUD_PORT_BASE: '30000' });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { stateDir: string; runtime: unknown; nodes: { node: string; state: string; sshPort: number }[] };
    expect(out.stateDir).toBe(stateDir);
    expect(out.runtime).toBeNull();
    expect(out.nodes.map((n) => [n.node, n.state, n.sshPort])).toEqual([
      ['node01', 'stopped', 30001],
      ['node02', 'stopped', 30002],
      ['node03', 'stopped', 30003],
      ['node04', 'stopped', 30004],
      ['node05', 'stopped', 30005],
      ['node06', 'stopped', 30006],
    ]);
  });

  it('help prints the usage and exits 0', async () => {
    const r = await cluster(['help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: /);
    expect(r.stdout).toContain('status [--json]');
    expect(r.stderr).toBe('');
  });

  it('--help exits 0, and no command at all prints the usage but exits 2', async () => {
    const help = await cluster(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: /);
    const none = await cluster([]);
    expect(none.code).toBe(2);
    expect(none.stdout).toMatch(/^usage: /);
  });
});
