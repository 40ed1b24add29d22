/**
 * A contender for lock.test.ts's race: forked with IPC, it waits for
 * `{ file, at }`, spins until the wall clock reaches `at` (so contenders
 * try at the same instant), tries FileLock.acquire once, and reports
 * `{ won, pid, error? }`. A winner holds the lock until told `release`.
 */
import { FileLock } from '../../../harness/lock.js';

type Msg = { kind: 'try'; file: string; at: number } | { kind: 'release' } | { kind: 'exit' };

let held: FileLock | undefined;

process.on('message', (msg: Msg) => {
  if (msg.kind === 'try') {
    delete process.env.ULTRACLOUD_LOCK_TOKEN;
    while (Date.now() < msg.at) {
      /* spin: start together */
    }
    try {
      held = FileLock.acquire(msg.file, `racer ${process.pid}`);
      process.send!({ won: true, pid: process.pid });
    } catch (e) {
      process.send!({ won: false, pid: process.pid, error: (e as Error).message, name: (e as Error).name });
    }
  } else if (msg.kind === 'release') {
    held?.release();
    held = undefined;
    process.send!({ released: true, pid: process.pid });
  } else {
    process.exit(0);
  }
});
process.send!({ ready: true, pid: process.pid });
