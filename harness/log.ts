/**
 * Progress output for long steps (image build, boot). Lines go to stderr so
 * stdout stays clean for data (`status --json | jq`).
 */
import { loadConfig } from './config.js';

const t0 = Date.now();
let quiet: boolean | undefined;

/** Overrides ULTRACLOUD_QUIET for this process (the CLI sets it from its parsed config). */
export function setQuiet(value: boolean): void {
  quiet = value;
}

/** ULTRACLOUD_QUIET through the parsed config; a bad value is loadConfig's UsageError elsewhere, here just "not quiet". */
function isQuiet(): boolean {
  if (quiet === undefined) {
    try {
      quiet = loadConfig().quiet;
    } catch {
      quiet = false;
    }
  }
  return quiet;
}

export function elapsed(since = t0): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}

export function progress(scope: string, message: string): void {
  if (isQuiet()) return;
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${scope.padEnd(8)} ${message}\n`);
}

/**
 * Calls `report` every `everyMs` while `work` runs, so a silent multi-minute
 * step still shows it is alive (CI logs have no spinner).
 */
export async function withHeartbeat<T>(
  everyMs: number,
  report: (ms: number) => void,
  work: Promise<T>,
): Promise<T> {
  const start = Date.now();
  const timer = setInterval(() => report(Date.now() - start), everyMs);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}
