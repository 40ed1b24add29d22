import { fork, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../harness/config.js';
import { HostError } from '../../harness/errors.js';
import { FileLock, UNREADABLE_GRACE_MS } from '../../harness/lock.js';

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

/** The error `take` throws (undefined when it does not throw). */
function refusal(take: () => unknown): unknown {
  try {
    take();
  } catch (e) {
    return e;
  }
  return undefined;
}

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
    const err = refusal(() => acquire(file));
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

  it('treats an unreadable lock file written moments ago as held, and leaves it alone', () => {
    const file = path.join(dir, 'lock');
    fs.writeFileSync(file, 'not json');
    const err = refusal(() => acquire(file));
    expect(err).toBeInstanceOf(HostError);
    expect((err as Error).message).toContain(file);
    expect(fs.readFileSync(file, 'utf8')).toBe('not json');
  });

  it('treats an empty lock file (created, not yet written) as held: the old race, where a competitor deleted it', () => {
    const file = path.join(dir, 'lock');
    fs.writeFileSync(file, '');
    expect(() => acquire(file)).toThrow(HostError);
    expect(fs.existsSync(file)).toBe(true);
  });

  it('takes over an unreadable lock file once it is old (debris, not a writer)', () => {
    const file = path.join(dir, 'lock');
    fs.writeFileSync(file, 'not json');
    const old = new Date(Date.now() - UNREADABLE_GRACE_MS - 5000);
    fs.utimesSync(file, old, old);
    acquire(file);
    expect(readInfo(file).pid).toBe(process.pid);
  });

  it('leaves no temp or stale files beside the lock', async () => {
    const file = path.join(dir, 'lock');
    writeLock(file, await deadPid());
    acquire(file).release();
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('release leaves alone a lock that another run has taken over meanwhile', () => {
    const file = path.join(dir, 'lock');
    const lock = acquire(file);
    writeLock(file, process.pid, 'abababababababab');
    lock.release();
    expect(readInfo(file).token).toBe('abababababababab');
  });

  it('holder() reads who holds a lock', () => {
    const file = path.join(dir, 'lock');
    expect(FileLock.holder(file)).toBeUndefined();
    acquire(file, 'cluster start');
    expect(FileLock.holder(file)).toMatchObject({ pid: process.pid, purpose: 'cluster start' });
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

/** A forked contender (helpers/lock-racer.ts) and the replies it sent, in order. */
class Racer {
  readonly child: ChildProcess;
  private readonly inbox: Record<string, unknown>[] = [];
  private waiter?: () => void;

  constructor() {
    this.child = fork(path.join(PROJECT_ROOT, 'tests/unit/helpers/lock-racer.ts'), [], {
      cwd: PROJECT_ROOT,
      execArgv: ['--import', 'tsx'],
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== TOKEN_ENV)),
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    children.push(this.child);
    this.child.on('message', (m) => {
      this.inbox.push(m as Record<string, unknown>);
      this.waiter?.();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  async next(): Promise<Record<string, unknown>> {
    while (this.inbox.length === 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`racer ${this.pid} did not answer`)), 20_000);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.inbox.shift()!;
  }

  send(msg: object): void {
    this.child.send(msg);
  }
}

describe('FileLock under contention', { timeout: 120_000 }, () => {
  let racers: Racer[] = [];

  afterEach(() => {
    for (const r of racers) r.send({ kind: 'exit' });
    racers = [];
  });

  async function rounds(n: number, before: (file: string) => Promise<void> | void) {
    racers = [new Racer(), new Racer()];
    for (const r of racers) expect(await r.next()).toMatchObject({ ready: true });
    for (let round = 0; round < n; round++) {
      const file = path.join(dir, `round-${round}`, 'lock');
      fs.mkdirSync(path.dirname(file));
      await before(file);
      const at = Date.now() + 40;
      for (const r of racers) r.send({ kind: 'try', file, at });
      const results = await Promise.all(racers.map((r) => r.next()));
      const winners = results.filter((r) => r.won);
      expect(winners, `round ${round}: ${JSON.stringify(results)}`).toHaveLength(1);
      const winner = winners[0];
      const loser = results.find((r) => !r.won)!;
      expect(loser.name, `round ${round}`).toBe('HostError');
      expect(loser.error, `round ${round}: the loser's error names the holder`).toContain(`pid ${winner.pid}`);
      expect(readInfo(file).pid).toBe(winner.pid);
      const w = racers.find((r) => r.pid === winner.pid)!;
      w.send({ kind: 'release' });
      expect(await w.next()).toMatchObject({ released: true });
      expect(fs.readdirSync(path.dirname(file)), `round ${round}: nothing left behind`).toEqual([]);
    }
  }

  it('two processes taking a free lock at once: exactly one wins each round, the other is told who holds it', async () => {
    await rounds(40, () => undefined);
  });

  it("two processes taking over a dead holder's lock at once: exactly one wins each round", async () => {
    const dead = await deadPid();
    await rounds(40, (file) => writeLock(file, dead));
  });
});
