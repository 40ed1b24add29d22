/**
 * A lock file so two runs never drive one cluster (or build one image).
 *
 * Taking it is one atomic step: the holder's pid, purpose and token are
 * written whole to a private temp file, which is then hard-linked to the
 * lock's name. link() fails if the name exists, so exactly one contender
 * wins, and nobody ever sees the lock file empty or half written.
 *
 * A lock whose holder is dead (kill -9) is stale and taken over: it is
 * renamed aside (atomic), and if what was moved aside is not the stale lock
 * that was judged (another contender took over first), it is put back. A
 * lock file whose content cannot be read is treated as held, unless it is
 * older than a few seconds (nothing writes for that long; it is debris).
 *
 * Child processes started by the holder (the `cluster smoke` command running
 * vitest) inherit the lock through a token in their environment.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HostError } from './errors.js';
import { isAlive } from './proc.js';

const TOKEN_ENV = 'ULTRACLOUD_LOCK_TOKEN';
/** An unreadable lock file younger than this is someone's lock being written: held. Older: debris, taken over. */
export const UNREADABLE_GRACE_MS = 10_000;
/** How long to wait for an unreadable young lock file to become readable before calling it held. */
const UNREADABLE_WAIT_MS = 500;

export interface LockInfo {
  pid: number;
  purpose: string;
  token: string;
  since: string;
}

type Seen =
  | { kind: 'gone' }
  | { kind: 'held'; info: LockInfo; raw: string; ino: number; ageMs: number }
  | { kind: 'unreadable'; raw: string; ino: number; ageMs: number };

/** Tokens of the locks this process holds (re-entrance even when the environment was changed). */
const ownedTokens = new Set<string>();

export class FileLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(
    readonly file: string,
    private readonly owned: boolean,
    readonly token: string,
  ) {
    if (owned) process.on('exit', this.onExit);
  }

  /** The holder of `file`, if it is held by a readable lock (no judgement on liveness). */
  static holder(file: string): LockInfo | undefined {
    const seen = inspect(file);
    return seen.kind === 'held' ? seen.info : undefined;
  }

  /**
   * Takes the lock, or throws a HostError naming the holder. `subject` names
   * what is locked in that message (default: the lock file without `.lock`,
   * or its folder for a file named `lock`).
   */
  static acquire(file: string, purpose: string, subject = subjectOf(file)): FileLock {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const started = Date.now();
    for (let attempt = 0; attempt < 100; attempt++) {
      const info: LockInfo = { pid: process.pid, purpose, token: crypto.randomBytes(8).toString('hex'), since: new Date().toISOString() };
      if (publish(file, info)) {
        ownedTokens.add(info.token);
        process.env[TOKEN_ENV] = [process.env[TOKEN_ENV], info.token].filter(Boolean).join(',');
        return new FileLock(file, true, info.token);
      }
      const seen = inspect(file);
      if (seen.kind === 'gone') continue; // released between our link and our read: try again
      if (seen.kind === 'held') {
        const held = seen.info;
        if (inheritedTokens().includes(held.token) || ownedTokens.has(held.token)) return new FileLock(file, false, held.token);
        if (held.pid !== process.pid && isAlive(held.pid)) {
          throw new HostError(
            `${subject} is in use by pid ${held.pid} (${held.purpose}, since ${held.since}); wait for it or stop that run (lock ${file})`,
          );
        }
        // Its holder is dead (or it names our own pid without being ours: a reused pid): stale.
      } else if (seen.ageMs < UNREADABLE_GRACE_MS) {
        if (Date.now() - started < UNREADABLE_WAIT_MS) {
          sleepSync(20);
          continue;
        }
        throw new HostError(
          `${subject} is locked by a lock file that cannot be read (${file}, written ${(seen.ageMs / 1000).toFixed(1)}s ago); ` +
            `if no other run is going, try again in ${UNREADABLE_GRACE_MS / 1000}s`,
        );
      }
      removeIfUnchanged(file, seen);
    }
    throw new HostError(`could not take lock ${file}: it kept changing hands`);
  }

  /** Gives the lock up (once); a lock inherited from a parent process is left to its owner. */
  release(): void {
    if (this.released || !this.owned) return;
    this.released = true;
    process.off('exit', this.onExit);
    ownedTokens.delete(this.token);
    const tokens = inheritedTokens().filter((t) => t !== this.token);
    if (tokens.length > 0) process.env[TOKEN_ENV] = tokens.join(',');
    else delete process.env[TOKEN_ENV];
    // Only our own lock: if it was taken over meanwhile, the new holder's stays.
    const seen = inspect(this.file);
    if (seen.kind === 'held' && seen.info.token === this.token) fs.rmSync(this.file, { force: true });
  }
}

function inheritedTokens(): string[] {
  return (process.env[TOKEN_ENV] ?? '').split(',').filter(Boolean);
}

function subjectOf(file: string): string {
  const base = path.basename(file);
  if (base === 'lock') return path.dirname(file);
  return base.endsWith('.lock') ? file.slice(0, -'.lock'.length) : file;
}

/** Creates `file` with `info` in one atomic step; false when it exists already. */
function publish(file: string, info: LockInfo): boolean {
  const content = `${JSON.stringify(info)}\n`;
  const tmp = `${file}.${process.pid}.${info.token}.tmp`;
  try {
    fs.writeFileSync(tmp, content, { flag: 'wx', mode: 0o644 });
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    if ((e as NodeJS.ErrnoException).code === 'ENOSPC') throw new HostError(`no space left to write the lock ${file} (${path.dirname(file)} is full)`);
    throw e;
  }
  try {
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw e;
    // A filesystem without hard links: exclusive create, content in one write.
    try {
      fs.writeFileSync(file, content, { flag: 'wx', mode: 0o644 });
      return true;
    } catch (e2) {
      if ((e2 as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e2;
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** What is at `file` now: content and inode read through one descriptor, so they belong together. */
function inspect(file: string): Seen {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'gone' };
    throw e;
  }
  try {
    const st = fs.fstatSync(fd);
    const raw = fs.readFileSync(fd, 'utf8');
    const ageMs = Math.max(0, Date.now() - st.mtimeMs);
    const info = parseInfo(raw);
    return info ? { kind: 'held', info, raw, ino: st.ino, ageMs } : { kind: 'unreadable', raw, ino: st.ino, ageMs };
  } finally {
    fs.closeSync(fd);
  }
}

function parseInfo(raw: string): LockInfo | undefined {
  try {
    const v = JSON.parse(raw) as Partial<LockInfo>;
    if (!v || !Number.isInteger(v.pid) || (v.pid as number) <= 0 || typeof v.token !== 'string' || !v.token) return undefined;
    return { pid: v.pid as number, purpose: String(v.purpose ?? '?'), token: v.token, since: String(v.since ?? '?') };
  } catch {
    return undefined;
  }
}

/**
 * Removes the stale lock `seen`, and only it: rename it aside, check that
 * what moved is what was judged, and put it back if another contender's
 * fresh lock was moved instead.
 */
function removeIfUnchanged(file: string, seen: Exclude<Seen, { kind: 'gone' }>): void {
  const aside = `${file}.stale.${process.pid}.${crypto.randomBytes(4).toString('hex')}`;
  try {
    fs.renameSync(file, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    const moved = inspect(aside);
    if (moved.kind !== 'gone' && moved.ino === seen.ino && moved.raw === seen.raw) return;
    try {
      fs.linkSync(aside, file);
    } catch (e) {
      // EEXIST: a third contender took the lock while this one was aside; nothing safe to do.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  } finally {
    fs.rmSync(aside, { force: true });
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
