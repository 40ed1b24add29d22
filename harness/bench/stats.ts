/**
 * The arithmetic of a benchmark report, pure: the median of N runs with
 * its spread, and ratios between two figures. Knows nothing of roles.
 */

/** N samples of one quantity, summarized: the median with min and max. */
export interface Figure {
  median: number;
  min: number;
  max: number;
  n: number;
  samples: number[];
}

/** The median (mean of the middle two for an even count), min and max; throws on no samples or a non-finite one. */
export function summarize(samples: number[]): Figure {
  if (samples.length === 0) throw new Error('summarize: no samples');
  const bad = samples.find((s) => !Number.isFinite(s));
  if (bad !== undefined) throw new Error(`summarize: sample ${bad} is not a finite number`);
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], n: sorted.length, samples: [...samples] };
}

/** a / b of the medians; undefined when either is missing or b is 0. */
export function ratio(a: Figure | undefined, b: Figure | undefined): number | undefined {
  if (!a || !b || b.median === 0) return undefined;
  return a.median / b.median;
}

/** A number for a table: 3 significant digits, no exponent, thousands as they are. */
export function fmt(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '-';
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs >= 100) return v.toFixed(0);
  if (abs >= 10) return v.toFixed(1);
  if (abs >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

/** "median (min-max)" or just the median when N is 1. */
export function fmtFigure(f: Figure | undefined): string {
  if (!f) return '-';
  return f.n > 1 ? `${fmt(f.median)} (${fmt(f.min)}-${fmt(f.max)})` : fmt(f.median);
}

/** "0.44x" for a ratio, "-" when there is none. */
export function fmtRatio(r: number | undefined): string {
  return r === undefined ? '-' : `${fmt(r)}x`;
}

/** Bytes over seconds in MiB/s. */
export function mibPerS(bytes: number, seconds: number): number {
  if (!(seconds > 0)) throw new Error(`mibPerS: a transfer of ${bytes} bytes took ${seconds} s`);
  return bytes / 1048576 / seconds;
}
