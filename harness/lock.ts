/**
 * A lock file so two runs never drive one cluster (or build one image).
 * The holder's pid is inside; a lock whose holder is dead (kill -9) is
 * stale and taken over. Child processes started by the holder (the
 * `cluster smoke` command running vitest) inherit it through a token.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { HostError } from './errors.js';
import { isAlive } from './proc.js';

const TOKEN_ENV = 'ULTRACLOUD_LOCK_TOKEN';

interface LockInfo {
  pid: number;
  purpose: string;
  token: string;
  since: string;
}

export class FileLock {
  private released = false;
  private readonly onExit = () => this.release();

  private constructor(
    readonly file: string,
    private readonly owned: boolean,
  ) {
    if (owned) process.on('exit', this.onExit);
  }

  static acquire(file: string, purpose: string): FileLock {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    for (let attempt = 0; attempt < 3; attempt++) {
      const token = crypto.randomBytes(8).toString('hex');
      const info: LockInfo = { pid: process.pid, purpose, token, since: new Date().toISOString() };
      try {
        fs.writeFileSync(file, JSON.stringify(info), { flag: 'wx' });
        process.env[TOKEN_ENV] = [process.env[TOKEN_ENV], token].filter(Boolean).join(',');
        return new FileLock(file, true);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      const held = readLock(file);
      if (held && (process.env[TOKEN_ENV] ?? '').split(',').includes(held.token)) {
        return new FileLock(file, false);
      }
      if (held && held.pid !== process.pid && isAlive(held.pid)) {
        throw new HostError(
          `${path.dirname(file)} is in use by pid ${held.pid} (${held.purpose}, since ${held.since}); wait for it or stop that run`,
        );
      }
      fs.rmSync(file, { force: true }); // stale: its holder died
    }
    throw new HostError(`could not take lock ${file}`);
  }

  release(): void {
    if (this.released || !this.owned) return;
    this.released = true;
    process.off('exit', this.onExit);
    fs.rmSync(this.file, { force: true });
  }
}

function readLock(file: string): LockInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as LockInfo;
  } catch {
    return undefined;
  }
}
