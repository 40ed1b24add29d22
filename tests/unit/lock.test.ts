import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostError } from '../../harness/errors.js';
import { FileLock } from '../../harness/lock.js';

const TOKEN_ENV = 'ULTRACLOUD_LOCK_TOKEN';

let dir: string;
let savedToken: string | undefined;
const locks: FileLock[] = [];
const children: ChildProcess[] = [];

function acquire(file: string, purpose = 'unit test'): FileLock {
  const lock = FileLock.acquire(file, purpose);
  locks.push(lock);
  return lock;
}

function readInfo(file: string): { pid: number; purpose: string; token: string; since: string } {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function writeLock(file: string, pid: number, token = 'f00dfeedf00dfeed'): void {
  fs.writeFileSync(file, JSON.stringify({ pid, purpose: 'someone else', token, since: '2020-01-01T00:00:00.000Z' }));
}

/** A live process that is not this one. */
async function liveOther(): Promise<number> {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.once('spawn', () => resolve());
    child.once('error', reject);
  });
  return child.pid!;
}

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  const pid = child.pid!;
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return pid;
}

beforeEach(() => {
  savedToken = process.env[TOKEN_ENV];
  delete process.env[TOKEN_ENV];
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-lock-'));
});

afterEach(() => {
  for (const l of locks.splice(0)) l.release();
  for (const c of children.splice(0)) if (c.pid && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (savedToken === undefined) delete process.env[TOKEN_ENV];
  else process.env[TOKEN_ENV] = savedToken;
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('FileLock', () => {
  it('creates the lock file (and its folder) with this pid, purpose and token', () => {
    const file = path.join(dir, 'sub', 'lock');
    acquire(file, 'cluster start');
    const info = readInfo(file);
    expect(info.pid).toBe(process.pid);
    expect(info.purpose).toBe('cluster start');
    expect(info.token).toMatch(/^[0-9a-f]{16}$/);
    expect(Number.isNaN(Date.parse(info.since))).toBe(false);
    expect(process.env[TOKEN_ENV]).toBe(info.token);
  });

  it('appends its token to ULTRACLOUD_LOCK_TOKEN for child processes', () => {
    process.env[TOKEN_ENV] = 'aaaaaaaaaaaaaaaa';
    const file = path.join(dir, 'lock');
    acquire(file);
    expect(process.env[TOKEN_ENV]).toBe(`aaaaaaaaaaaaaaaa,${readInfo(file).token}`);
  });

  it('release removes the file, and a second release is harmless', () => {
    const file = path.join(dir, 'lock');
    const lock = acquire(file);
    expect(fs.existsSync(file)).toBe(true);
    lock.release();
    expect(fs.existsSync(file)).toBe(false);
    fs.writeFileSync(file, 'someone else now');
    lock.release();
    expect(fs.readFileSync(file, 'utf8')).toBe('someone else now');
  });

  it('can be taken again after release', () => {
    const file = path.join(dir, 'lock');
    acquire(file).release();
    delete process.env[TOKEN_ENV];
    acquire(file);
    expect(readInfo(file).pid).toBe(process.pid);
  });

  it('refuses a lock held by another live process, naming its pid, and leaves it alone', async () => {
    const file = path.join(dir, 'lock');
    const pid = await liveOther();
    writeLock(file, pid);
    const before = fs.readFileSync(file, 'utf8');
    let err: unknown;
    try {
      acquire(file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HostError);
    expect((err as Error).message).toContain(`pid ${pid}`);
    expect((err as Error).message).toContain('someone else');
    expect((err as Error).message).toContain(dir);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(process.env[TOKEN_ENV]).toBeUndefined();
  });

  it('takes over a lock whose holder is dead', async () => {
    const file = path.join(dir, 'lock');
    const pid = await deadPid();
    writeLock(file, pid);
    const lock = acquire(file, 'take over');
    const info = readInfo(file);
    expect(info.pid).toBe(process.pid);
    expect(info.purpose).toBe('take over');
    expect(info.token).not.toBe('f00dfeedf00dfeed');
    lock.release();
    expect(fs.existsSync(file)).toBe(false);
  });

  it('takes over an unreadable lock file', () => {
    const file = path.join(dir, 'lock');
    fs.writeFileSync(file, 'not json');
    acquire(file);
    expect(readInfo(file).pid).toBe(process.pid);
  });

  it('lets a child of the holder (same token in env) in without owning the lock', async () => {
    const file = path.join(dir, 'lock');
    const pid = await liveOther();
    writeLock(file, pid, 'beefbeefbeefbeef');
    process.env[TOKEN_ENV] = 'cafecafecafecafe,beefbeefbeefbeef';
    const inherited = acquire(file);
    expect(readInfo(file).pid).toBe(pid);
    inherited.release();
    expect(fs.existsSync(file)).toBe(true);
    expect(readInfo(file).token).toBe('beefbeefbeefbeef');
  });

  it('is re-entrant within the process that holds it', () => {
    const file = path.join(dir, 'lock');
    const outer = acquire(file);
    const inner = acquire(file);
    inner.release();
    expect(fs.existsSync(file)).toBe(true);
    outer.release();
    expect(fs.existsSync(file)).toBe(false);
  });
});
