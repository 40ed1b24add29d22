/**
 * Health between test files, as kola checks after every test: new kernel
 * alarm lines on each node's console and in its kernel log, and failed
 * units. A file that left a node unhealthy fails with the lines found.
 */
import fs from 'node:fs';

/** Kernel lines that mean a node is not healthy, whatever the test said. */
export const KERNEL_ALARMS =
  /Kernel panic|\bBUG: |\bOops\b|Out of memory: Killed|oom-kill:|invoked oom-killer|Call Trace:|\bI\/O error\b|EXT4-fs error|You are in emergency mode|Give root password for maintenance/;

export function alarmLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r/g, '').trimEnd())
    .filter((l) => KERNEL_ALARMS.test(l));
}

/** Where a console log was read up to: the file's identity and byte offset. */
export interface ConsoleMark {
  ino: number;
  offset: number;
}

export function markConsole(file: string): ConsoleMark | undefined {
  try {
    const st = fs.statSync(file);
    return { ino: st.ino, offset: st.size };
  } catch {
    return undefined;
  }
}

/**
 * Console text written since `mark`. A node booted again in between starts
 * a new vm.log (the old one became vm.log.prev): read the rest of the old
 * one, then the new one from the start.
 */
export function consoleSince(file: string, mark: ConsoleMark | undefined): string {
  const cur = markConsole(file);
  if (!cur) return '';
  if (!mark) return readFrom(file, 0);
  if (cur.ino === mark.ino) return readFrom(file, Math.min(mark.offset, cur.offset));
  const prev = `${file}.prev`;
  const prevMark = markConsole(prev);
  const older = prevMark?.ino === mark.ino ? readFrom(prev, mark.offset) : '';
  return older + readFrom(file, 0);
}

function readFrom(file: string, offset: number): string {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size <= offset) return '';
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    return buf.toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}
