import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { alarmLines, consoleSince, markConsole } from '../../harness/health.js';

describe('kernel alarms', () => {
  it('finds panics, oopses, BUGs, OOM kills, call traces and I/O errors, nothing else', () => {
    const text = [
      '[    1.0] virtio_net virtio0: link up',
      '[  120.1] BUG: kernel NULL pointer dereference, address: 0000000000000000',
      '[  120.2] Oops: 0002 [#1] PREEMPT SMP NOPTI',
      '[  130.0] Out of memory: Killed process 812 (etcd) total-vm:1200000kB',
      '[  131.0] Call Trace:',
      '[  140.0] blk_update_request: I/O error, dev vda, sector 1234 op 0x1:(WRITE)',
      '[  150.0] Kernel panic - not syncing: Fatal exception\r',
      '[  160.0] systemd[1]: Started ssh.service.',
      'Bugzilla says hello; oops-free log line',
    ].join('\n');
    expect(alarmLines(text)).toEqual([
      '[  120.1] BUG: kernel NULL pointer dereference, address: 0000000000000000',
      '[  120.2] Oops: 0002 [#1] PREEMPT SMP NOPTI',
      '[  130.0] Out of memory: Killed process 812 (etcd) total-vm:1200000kB',
      '[  131.0] Call Trace:',
      '[  140.0] blk_update_request: I/O error, dev vda, sector 1234 op 0x1:(WRITE)',
      '[  150.0] Kernel panic - not syncing: Fatal exception',
    ]);
  });
});

describe('console since a mark', () => {
  let dir: string;
  let log: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-health-'));
    log = path.join(dir, 'vm.log');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads only what was written after the mark', () => {
    fs.writeFileSync(log, 'old line\n');
    const mark = markConsole(log);
    fs.appendFileSync(log, 'new line\n');
    expect(consoleSince(log, mark)).toBe('new line\n');
  });

  it('follows a node booted again: rest of vm.log.prev, then the new vm.log', () => {
    fs.writeFileSync(log, 'before\n');
    const mark = markConsole(log);
    fs.appendFileSync(log, 'Kernel panic - not syncing\n');
    fs.renameSync(log, `${log}.prev`);
    fs.writeFileSync(log, 'second boot\n');
    expect(consoleSince(log, mark)).toBe('Kernel panic - not syncing\nsecond boot\n');
  });

  it('without a mark (no log when the file started) reads everything', () => {
    fs.writeFileSync(log, 'all\n');
    expect(consoleSince(log, undefined)).toBe('all\n');
    expect(consoleSince(path.join(dir, 'missing.log'), undefined)).toBe('');
  });
});
