/**
 * Remote commands die with their wait: the killOnClose wrapper on a local
 * shell, then SshPool and Node against a real OpenSSH server on 127.0.0.1
 * (openssh-server, which `make deps` installs with its service off: where
 * /usr/sbin/sshd is missing these cases fail, naming the package).
 * The "remote" processes are local, so /proc shows whether any is left.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeError, WaitTimeoutError } from '../../harness/errors.js';
import { Node } from '../../harness/remote/node.js';
import { findProcesses } from '../../harness/proc.js';
import type { QemuVm } from '../../harness/vm/qemu.js';
import { SshPool, killOnClose } from '../../harness/remote/ssh.js';
import type { NodeSpec } from '../../harness/topology.js';
import { AbortedError, pause } from '../../harness/remote/wait.js';

/** A fractional sleep no other process runs: its command line finds the "remote" processes. */
const slowTag = () => `${900 + crypto.randomInt(99)}.${crypto.randomInt(1e6)}`;

function living(tag: string): number[] {
  return findProcesses(tag)
    .filter(({ pid }) => {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
      } catch {
        return false;
      }
    })
    .map((p) => p.pid);
}

/** Polls (generously) until `cond` holds; returns whether it did. */
async function eventually(cond: () => boolean, ms = 20_000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await pause(100);
  }
  return cond();
}

/** A background job, and timeout(1), which puts itself in a process group of its own. */
const slowCommand = (tag: string) => `echo started; sleep ${tag} & timeout 600 sleep ${tag}; echo never`;

describe('killOnClose on a local shell', () => {
  /** The wrapper as sshd would run it: stdin stays open until `close` (the channel closing). */
  const start = (command: string) => {
    const sh: ChildProcess = spawn('sh', ['-c', killOnClose(command)], { env: { ...process.env, SHELL: '/bin/sh' } });
    const out: Buffer[] = [];
    let err = '';
    sh.stdout!.on('data', (b: Buffer) => out.push(b));
    sh.stderr!.on('data', (b: Buffer) => (err += b));
    const done = new Promise<{ code: number | null; stdout: Buffer; stderr: string }>((resolve) =>
      sh.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: err })),
    );
    return { close: () => sh.stdin!.end(), done };
  };

  it("keeps the command's stdout bytes, stderr and exit code, and gives it an empty stdin", async () => {
    const r = await start(`printf 'a\\nb\\r\\n'; printf "it's\\n" >&2; cat; exit 7`).done;
    expect(r.stdout.toString()).toBe('a\nb\r\n');
    expect(r.stderr).toBe("it's\n");
    expect(r.code).toBe(7);
  });

  it('kills the command and everything it started when its stdin closes', async () => {
    const tag = slowTag();
    const sh = start(slowCommand(tag));
    expect(await eventually(() => living(tag).length >= 2), 'the slow command runs').toBe(true);
    sh.close();
    const { stdout } = await sh.done;
    expect(stdout.toString()).not.toContain('never');
    expect(await eventually(() => living(tag).length === 0), `left running: ${living(tag).join(' ')}`).toBe(true);
  }, 60_000);
});

const SSHD = '/usr/sbin/sshd';

describe('SshPool and Node against a local OpenSSH server', () => {
  let unavailable: string | undefined;
  /** A missing sshd is a broken `make deps`, not a reason to pass: each case fails with it. */
  const needSshd = () => {
    if (unavailable) throw new Error(unavailable);
  };
  let dir = '';
  let sshd: ChildProcess | undefined;
  let pool: SshPool;
  let closedPort = 0;
  const consoleTail = 'console of node01: [  1.0] booted';
  const vm = { pid: () => process.pid, consoleTail: () => consoleTail, pidFile: '/nonexistent/qemu.pid' } as unknown as QemuVm;
  const node = () => new Node({ name: 'node01' } as NodeSpec, vm, pool);
  const setUnit = (load: string, active: string, sub: string, result: string, job = '') => {
    fs.writeFileSync(path.join(dir, 'unit-state'), `${load} ${active} ${sub} ${result}\n`);
    fs.writeFileSync(path.join(dir, 'unit-jobs'), job);
  };

  beforeAll(async () => {
    if (!fs.existsSync(SSHD)) {
      unavailable = `${SSHD} not installed: these cases need the openssh-server package, which \`make deps\` (scripts/install-deps.sh) installs with its service off`;
      return;
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-sshd-'));
    const user = os.userInfo().username;
    // sshd as root insists on its privilege separation dir (the package's service makes it at start).
    if (process.getuid?.() === 0) fs.mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'host')]);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', path.join(dir, 'id')]);
    fs.copyFileSync(path.join(dir, 'id.pub'), path.join(dir, 'authorized_keys'));
    // Stand-ins for systemctl and journalctl, first on the sessions' PATH: waitForUnit reads a state file.
    fs.mkdirSync(path.join(dir, 'bin'));
    fs.writeFileSync(
      path.join(dir, 'bin', 'systemctl'),
      `#!/bin/sh\ncase "$1" in\nshow) read -r l a s r < ${dir}/unit-state; printf 'LoadState=%s\\nActiveState=%s\\nSubState=%s\\nResult=%s\\n' "$l" "$a" "$s" "$r" ;;\nlist-jobs) cat ${dir}/unit-jobs ;;\nesac\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(dir, 'bin', 'journalctl'), `#!/bin/sh\necho "journal: $*"\n`, { mode: 0o755 });
    const port = await freePort();
    closedPort = await freePort();
    fs.writeFileSync(
      path.join(dir, 'sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${dir}/host`,
        `PidFile ${dir}/sshd.pid`,
        `AuthorizedKeysFile ${dir}/authorized_keys`,
        'StrictModes no',
        'UsePAM no',
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        // HOME: the login shell (bash) would source this host's ~/.bashrc, whatever that does and however slowly.
        `SetEnv PATH=${dir}/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin HOME=${dir}`,
        'LogLevel ERROR',
        '',
      ].join('\n'),
    );
    sshd = spawn(SSHD, ['-D', '-e', '-f', path.join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    sshd.stderr!.on('data', (b) => (log += b));
    const key = path.join(dir, 'id');
    pool = new SshPool(
      new Map([
        ['node01', { port, privateKeyPath: key, username: user }],
        ['node09', { port: closedPort, privateKeyPath: key, username: user }],
      ]),
    );
    try {
      await pool.waitForSsh('node01', 20_000);
    } catch (e) {
      throw new Error(`local sshd did not come up: ${(e as Error).message}\n${log}`);
    }
  }, 60_000);

  afterAll(async () => {
    await pool?.closeAll();
    sshd?.kill();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('exec: stdout exactly as sent (no pty: no CRLF, split UTF-8 joined), stderr apart, exit code, empty stdin', async () => {
    needSshd();
    // 3-byte characters across SSH packets of 32 KiB: a chunk-wise decode would break some.
    const r = await pool.exec('node01', `printf 'a\\nb\\n'; printf 'x%.0s' $(seq 1 2); printf '€%.0s' $(seq 1 20000); printf 'oops\\n' >&2; cat; exit 3`);
    expect(r.stdout).toBe(`a\nb\nxx${'€'.repeat(20000)}`);
    expect(r.stderr).toBe('oops\n');
    expect(r).toMatchObject({ code: 3, timedOut: false });
  }, 60_000);

  it('exec: commands share a pooled shell, which survives exit, exec, set -e and cd; overlapping commands each get their own', async () => {
    needSshd();
    const shellPid = async () => (await pool.exec('node01', 'echo $$')).stdout.trim();
    const first = await shellPid();
    expect(await shellPid(), 'the second command runs in the same shell').toBe(first);
    for (const [cmd, code] of [['exit 5', 5], ['exec sh -c "exit 6"', 6], ['set -e; false; echo no', 1], ['cd /; kill -9 $BASHPID', 137]] as const) {
      expect((await pool.exec('node01', cmd)).code, cmd).toBe(code);
    }
    const r = await pool.exec('node01', 'pwd; printf "%s" "${LC_ALL-unset}"');
    expect(r.stdout.split('\n')[0], 'cd stayed in its own subshell').not.toBe('/');
    expect(r.stdout.split('\n')[1], "the command has the session's locale, not the loop's C").toBe('unset');
    expect(await shellPid(), 'still the same shell').toBe(first);
    const many = await Promise.all(Array.from({ length: 6 }, (_, i) => pool.exec('node01', `sleep 0.2; echo ${i}; echo e${i} >&2`)));
    expect(many.map((m) => `${m.stdout}${m.stderr}${m.code}`)).toEqual(Array.from({ length: 6 }, (_, i) => `${i}\ne${i}\n0`));
  }, 60_000);

  it('exec: a command longer than a shell takes, and output that looks like the framing, come back as sent', async () => {
    needSshd();
    const big = `: ${'x'.repeat(40_000)}; echo big`;
    expect(await pool.exec('node01', big)).toMatchObject({ stdout: 'big\n', code: 0 });
    const r = await pool.exec('node01', `printf 'a\\0UC0:1:0\\0b\\n'; printf '\\0\\0' >&2; exit 2`);
    expect(r).toMatchObject({ stdout: 'a\0UC0:1:0\0b\n', stderr: '\0\0', code: 2 });
  }, 60_000);

  it('exec: the per-command timeout kills the remote command and all it started', async () => {
    needSshd();
    const tag = slowTag();
    const r = await pool.exec('node01', slowCommand(tag), 2000);
    expect(r).toMatchObject({ code: null, timedOut: true });
    expect(r.stdout).toBe('started\n');
    expect(await eventually(() => living(tag).length === 0), `left running: ${living(tag).join(' ')}`).toBe(true);
  }, 60_000);

  it('exec: an abort kills the remote command and all it started, and says what it interrupted', async () => {
    needSshd();
    const tag = slowTag();
    const test = new AbortController();
    const running = pool.exec('node01', slowCommand(tag), 600_000, test.signal);
    expect(await eventually(() => living(tag).length >= 2), 'the slow command runs').toBe(true);
    test.abort(new Error('Test timed out in 5000ms.'));
    const err = await running.catch((e: Error) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as Error).message).toContain(`aborted while running: ${slowCommand(tag)}`);
    expect((err as Error).message).toContain('Test timed out in 5000ms.');
    expect(await eventually(() => living(tag).length === 0), `left running: ${living(tag).join(' ')}`).toBe(true);
  }, 60_000);

  it('a wait that outlives its deadline fails with the harness evidence, and leaves no remote process', async () => {
    needSshd();
    const tag = slowTag();
    const tries = path.join(dir, `tries-${tag}`);
    // First try: a quick "not yet"; then a try that would run for 15 minutes.
    const cmd = `n=$(cat ${tries} 2>/dev/null || echo 0); echo $((n + 1)) > ${tries}; if [ "$n" -gt 0 ]; then ${slowCommand(tag)}; fi; echo "try $n: no leader"; exit 1`;
    const err = await node()
      .waitUntilSucceeds(cmd, 4000, 200)
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    const ev = (err as WaitTimeoutError).evidence;
    expect(ev.expected).toBe(`'${cmd}' exits 0`);
    expect(ev.lastSeen).toBe('exit 1: try 0: no leader');
    expect(ev.consoleTail).toBe(consoleTail);
    expect((err as Error).message).toMatch(/^node01: .* exits 0: not within 4s/);
    expect(Number(fs.readFileSync(tries, 'utf8'))).toBeGreaterThanOrEqual(2);
    expect(await eventually(() => living(tag).length === 0), `left running: ${living(tag).join(' ')}`).toBe(true);
  }, 60_000);

  it("Vitest's abort stops a wait promptly with the harness evidence, and leaves no remote process", async () => {
    needSshd();
    const tag = slowTag();
    const test = new AbortController();
    const wait = node().withSignal(test.signal).waitUntilSucceeds(slowCommand(tag), 600_000);
    expect(await eventually(() => living(tag).length >= 2), 'the slow command runs').toBe(true);
    test.abort(new Error('Test timed out in 5000ms.'));
    const err = await wait.catch((e: Error) => e);
    expect(err).toBeInstanceOf(AbortedError);
    const ev = (err as AbortedError).evidence;
    expect(ev.expected).toBe(`'${slowCommand(tag)}' exits 0`);
    expect(ev.lastSeen).toBe('no answer yet');
    expect(ev.consoleTail).toBe(consoleTail);
    expect((err as Error).message).toContain('Test timed out in 5000ms.');
    expect(await eventually(() => living(tag).length === 0), `left running: ${living(tag).join(' ')}`).toBe(true);
  }, 60_000);

  it('waitForUnit returns once the unit is active', async () => {
    needSshd();
    setUnit('loaded', 'activating', 'start', 'success', '42 etcd.service start running\n');
    const n = node();
    const wait = n.waitForUnit('etcd.service', 60_000);
    await pause(1500);
    setUnit('loaded', 'active', 'running', 'success');
    await wait;
  }, 60_000);

  it('waitForUnit fails at once, with the journal, when the unit fails, is not found, or sits inactive with no job', async () => {
    needSshd();
    for (const st of [
      ['loaded', 'failed', 'failed', 'exit-code'],
      ['not-found', 'inactive', 'dead', 'success'],
      ['loaded', 'inactive', 'dead', 'success'],
    ] as const) {
      setUnit(st[0], st[1], st[2], st[3]);
      const err = await node()
        .waitForUnit('etcd.service', 600_000)
        .catch((e: Error) => e);
      expect(err, st.join(' ')).toBeInstanceOf(NodeError);
      expect(err, st.join(' ')).not.toBeInstanceOf(WaitTimeoutError);
      expect((err as NodeError).summary).toBe(`unit etcd.service is ${st[1]} (${st[2]}, load ${st[0]}, result ${st[3]})`);
      expect((err as NodeError).evidence.journal).toContain('journal: -b --no-pager -o short-monotonic -n 30 -u etcd.service');
      expect((err as NodeError).evidence.consoleTail).toBe(consoleTail);
    }
  }, 60_000);

  it('waitForUnit runs out with a WaitTimeoutError carrying the last state, the journal and the console', async () => {
    needSshd();
    setUnit('loaded', 'activating', 'start', 'success', '42 etcd.service start running\n');
    const err = await node()
      .waitForUnit('etcd.service', 3000)
      .catch((e: Error) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    const ev = (err as WaitTimeoutError).evidence;
    expect(ev.expected).toBe('etcd.service active');
    expect(ev.lastSeen).toContain('"active":"activating"');
    expect(ev.journal).toContain('-u etcd.service');
    expect(ev.consoleTail).toBe(consoleTail);
  }, 60_000);

  it('waitForSsh counts refused connections as not yet, then fails with the expected login; a fail-fast error ends it as is', async () => {
    needSshd();
    const err = await pool.waitForSsh('node09', 3000, undefined, () => consoleTail).catch((e: Error) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as WaitTimeoutError).evidence).toMatchObject({ expected: `root login with the cluster key on 127.0.0.1:${closedPort}`, consoleTail });
    expect((err as WaitTimeoutError).evidence.lastSeen).toMatch(/ECONNREFUSED/);
    const qemuGone = new NodeError('node09', 'QEMU exited while waiting for SSH');
    await expect(pool.waitForSsh('node09', 600_000, () => qemuGone)).rejects.toBe(qemuGone);
  }, 60_000);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
