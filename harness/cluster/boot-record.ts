/**
 * Each node boot the harness waited for, as one JSON line in the state
 * dir's boot-timeline.jsonl: when its QEMU started (or its snapshot was
 * restored), when SSH answered, when its units were active and the system
 * running, when its ready checks passed. The boot chart (fixtures/
 * boot-chart.ts) reads it; a fresh state dir starts it empty.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface BootRecord {
  node: string;
  /** QEMU started, or the restore began (ms since the epoch). */
  startedAt: number;
  sshAt: number;
  unitsAt: number;
  readyAt: number;
}

export const BOOT_TIMELINE = 'boot-timeline.jsonl';

export function appendBootRecord(stateDir: string, r: BootRecord): void {
  fs.appendFileSync(path.join(stateDir, BOOT_TIMELINE), `${JSON.stringify(r)}\n`);
}

/** The records, oldest first; a line that is not a record is an error naming it (a half-written last line is skipped: a killed run). */
export function readBootRecords(stateDir: string): BootRecord[] {
  const file = path.join(stateDir, BOOT_TIMELINE);
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const complete = lines.slice(0, -1); // the text after the last newline is not a finished record
  return complete.filter((l) => l.trim()).map((l, i) => {
    const r = JSON.parse(l) as BootRecord;
    if (typeof r.node !== 'string' || ![r.startedAt, r.sshAt, r.unitsAt, r.readyAt].every(Number.isFinite)) throw new Error(`${file}:${i + 1}: not a boot record: ${l.slice(0, 200)}`);
    return r;
  });
}
