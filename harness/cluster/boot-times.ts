/**
 * How long whole-cluster boots took on this host, one JSON line each in the
 * image cache's boot-times.jsonl (the cache outlives `fresh` and `clean`,
 * which empty the state dir): a cold boot, or a restore of the warm
 * snapshot, each until every node was ready. A start prints the last one of
 * its kind as its estimate, as an image build prints the last build's time.
 */
import fs from 'node:fs';
import path from 'node:path';

export type BootKind = 'cold' | 'restore';

export interface BootTime {
  kind: BootKind;
  stack: string;
  profile: string;
  seconds: number;
  /** When it finished (ISO). */
  at: string;
}

export const BOOT_TIMES = 'boot-times.jsonl';
/** Older lines are dropped when the file passes this many. */
export const KEEP_BOOT_TIMES = 50;

export function recordBootTime(cacheDir: string, t: BootTime): void {
  const file = path.join(cacheDir, BOOT_TIMES);
  fs.mkdirSync(cacheDir, { recursive: true });
  const kept = readLines(file).slice(-(KEEP_BOOT_TIMES - 1));
  fs.writeFileSync(`${file}.tmp`, [...kept, JSON.stringify(t)].map((l) => `${l}\n`).join(''));
  fs.renameSync(`${file}.tmp`, file);
}

/** The newest boot of this kind for this stack and profile; lines that are not a boot time are passed over (the file is only an estimate's source). */
export function lastBootTime(cacheDir: string, kind: BootKind, stack: string, profile: string): BootTime | undefined {
  const times = readLines(path.join(cacheDir, BOOT_TIMES))
    .map((l) => {
      try {
        return JSON.parse(l) as BootTime;
      } catch {
        return undefined; // swallow-ok: an estimate skips a torn line rather than failing a boot
      }
    })
    .filter((t): t is BootTime => t !== undefined && t.kind === kind && t.stack === stack && t.profile === profile && Number.isFinite(t.seconds));
  return times.at(-1);
}

/** The progress line's estimate: "the last cold boot here took 552 s (2026-12-06 21:14 UTC); about as long again", or that there is none yet. */
export function bootEstimate(kind: BootKind, last: BootTime | undefined): string {
  const what = kind === 'cold' ? 'cold boot' : 'restore';
  if (!last) return `no earlier ${what} recorded on this host`;
  return `the last ${what} here took ${Math.round(last.seconds)} s (${last.at.slice(0, 16).replace('T', ' ')} UTC); about as long again`;
}

function readLines(file: string): string[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}
