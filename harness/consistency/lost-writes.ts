/**
 * Which acknowledged writes a register lost, judged from the value every
 * replica holds at the end (pure). Each write's value is unique, so the
 * final value names the one write that was applied last. An acknowledged
 * write W is lost when that last write had certainly been applied before W
 * was even invoked: W should have replaced it, and nothing did. (A write
 * applied concurrently with W may come last in either order: not a loss.)
 *
 * "Applied by" is a write's ok time; for a write the primary answered OK
 * but too few replicas acknowledged (info with a WAIT count), the time the
 * primary said so; for any other unknown outcome, never (it may have been
 * applied at any time after its invoke).
 */
import type { HistoryEvent } from './history.js';
import type { RegisterValue } from './register.js';

export interface WriteRecord {
  key: string;
  value: RegisterValue;
  process: number;
  call: number;
  /** When it was certainly applied on a primary (ms); Infinity when that is unknown. */
  appliedBy: number;
  /** ok: the primary applied it and enough replicas acknowledged. */
  acknowledged: boolean;
  outcome: 'ok' | 'fail' | 'info';
}

export interface LostWrite {
  write: WriteRecord;
  /** The write whose value the key holds at the end (undefined: the key is unset). */
  last?: WriteRecord;
}

export interface FinalStateCheck {
  /** Acknowledged writes the end state does not have. */
  lost: LostWrite[];
  /** Keys whose final value no write that could have been applied wrote (never written, or refused): broken, not lost. */
  impossible: Array<{ key: string; value: RegisterValue; why: string }>;
  acknowledged: number;
}

/** Every write in `events` with its outcome and when it was certainly applied. */
export function writeRecords(events: Array<HistoryEvent & { acked?: number }>): WriteRecord[] {
  const open = new Map<number, HistoryEvent>();
  const out: WriteRecord[] = [];
  for (const e of events) {
    if (e.type === 'invoke') {
      if (e.f === 'write') open.set(e.process, e);
      continue;
    }
    const inv = open.get(e.process);
    if (!inv || e.f !== 'write') continue;
    open.delete(e.process);
    const appliedBy = e.type === 'ok' || (e.type === 'info' && typeof e.acked === 'number') ? e.time : Number.POSITIVE_INFINITY;
    out.push({ key: inv.key, value: inv.value as RegisterValue, process: inv.process, call: inv.time, appliedBy, acknowledged: e.type === 'ok', outcome: e.type });
  }
  for (const inv of open.values()) out.push({ key: inv.key, value: inv.value as RegisterValue, process: inv.process, call: inv.time, appliedBy: Number.POSITIVE_INFINITY, acknowledged: false, outcome: 'info' });
  return out;
}

/** Lost acknowledged writes, given each key's value at the end (every key the history wrote must be in `finals`; null: unset). */
export function checkFinalState(events: Array<HistoryEvent & { acked?: number }>, finals: Record<string, RegisterValue>): FinalStateCheck {
  const writes = writeRecords(events);
  const result: FinalStateCheck = { lost: [], impossible: [], acknowledged: writes.filter((w) => w.acknowledged).length };
  const keys = [...new Set(writes.map((w) => w.key))];
  for (const key of keys) {
    if (!(key in finals)) throw new Error(`no final value for ${key}: read every key the history wrote`);
    const value = finals[key];
    const ofKey = writes.filter((w) => w.key === key);
    let last: WriteRecord | undefined;
    if (value !== null) {
      last = ofKey.find((w) => w.value === value);
      if (!last) {
        result.impossible.push({ key, value, why: 'no write in the history wrote it' });
        continue;
      }
      if (last.outcome === 'fail') {
        result.impossible.push({ key, value, why: `the write of it (process ${last.process} at ${Math.round(last.call)} ms) was refused` });
        continue;
      }
    }
    for (const w of ofKey) {
      if (!w.acknowledged || w === last) continue;
      if (!last || last.appliedBy < w.call) result.lost.push({ write: w, ...(last ? { last } : {}) });
    }
  }
  return result;
}
