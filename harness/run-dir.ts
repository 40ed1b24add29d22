/**
 * One folder per run: reports/runs/<UTC time>-<suite or "test">/ holds the
 * run's junit.xml, Vitest's HTML report and the suites' own files
 * (timelines, markers, bench output), so no run overwrites another's
 * record; reports/latest points at the newest. Made by vitest.config.ts
 * once per `vitest run` and handed to test files with Vitest's
 * provide/inject (not the environment, so a vitest started by a test, as
 * `cluster prove` does, makes its own unless told where: ULTRACLOUD_RUN_DIR).
 */
import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from './config.js';

export const REPORTS = path.join(PROJECT_ROOT, 'reports');
export const RUNS = path.join(REPORTS, 'runs');
export const LATEST = path.join(REPORTS, 'latest');
/** Runs kept by default (ULTRACLOUD_KEEP_RUNS). */
export const KEEP_RUNS = 10;

/**
 * The run's label from vitest's arguments: the projects asked for
 * (`--project smoke`), else the suites named as filters (`vitest run
 * smoke`: a word that is a folder of tests/), else "test".
 */
export function runLabel(argv: string[], isSuite: (word: string) => boolean = (w) => fs.existsSync(path.join(PROJECT_ROOT, 'tests', w))): string {
  const projects: string[] = [];
  argv.forEach((a, i) => {
    if (a === '--project' && argv[i + 1]) projects.push(argv[i + 1]);
    else if (a.startsWith('--project=')) projects.push(a.slice('--project='.length));
  });
  const suites = argv.filter((a, i) => /^[a-z]+$/.test(a) && a !== 'run' && !argv[i - 1]?.startsWith('-') && isSuite(a));
  const words = projects.length ? projects : suites;
  const label = words.length ? [...new Set(words)].join('+') : 'test';
  return label.replace(/[^A-Za-z0-9+_-]/g, '_').slice(0, 60);
}

/** reports/runs/20261206T203400Z-smoke: a name that sorts in time order. */
export function runName(label: string, now: Date): string {
  return `${now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${label}`;
}

/** How many runs to keep: ULTRACLOUD_KEEP_RUNS, a whole number of at least 1. */
export function keepRuns(env: NodeJS.ProcessEnv): number {
  const v = env.ULTRACLOUD_KEEP_RUNS?.trim();
  if (!v) return KEEP_RUNS;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`ULTRACLOUD_KEEP_RUNS=${JSON.stringify(v)}: a whole number of runs to keep, at least 1`);
  return n;
}

/** The run folders under `runs`, oldest first. */
export function listRuns(runs = RUNS): string[] {
  if (!fs.existsSync(runs)) return [];
  return fs
    .readdirSync(runs, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^\d{8}T\d{6}Z-/.test(e.name))
    .map((e) => e.name)
    .sort()
    .map((n) => path.join(runs, n));
}

/** Removes the oldest runs past `keep`, never `current`; returns what it removed. */
export function pruneRuns(keep: number, current: string, runs = RUNS): string[] {
  const all = listRuns(runs).filter((r) => r !== current);
  const drop = all.slice(0, Math.max(0, all.length - (keep - 1)));
  for (const d of drop) fs.rmSync(d, { recursive: true, force: true });
  return drop;
}

/** Points `latest` at `dir` (a relative link, replaced atomically). */
export function markLatest(dir: string, latest = LATEST): void {
  const tmp = `${latest}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  fs.symlinkSync(path.relative(path.dirname(latest), dir), tmp);
  fs.renameSync(tmp, latest);
}

/**
 * The folder this run writes into: ULTRACLOUD_RUN_DIR when a caller names
 * one (made if missing; not marked latest, nothing pruned), else a new
 * folder under reports/runs, marked latest, older ones pruned.
 */
export function openRun(argv: string[], env: NodeJS.ProcessEnv, now = new Date(), runs = RUNS, latest = LATEST): string {
  const named = env.ULTRACLOUD_RUN_DIR?.trim();
  if (named) {
    const dir = path.resolve(named);
    fs.mkdirSync(dir, { recursive: true });
    return dir;
  }
  const keep = keepRuns(env);
  // A caller's label (`cluster rerun-failed`: "rerun"), else the projects asked for.
  const label = env.ULTRACLOUD_RUN_LABEL?.trim() ? runLabel(['--project', env.ULTRACLOUD_RUN_LABEL.trim()]) : runLabel(argv);
  fs.mkdirSync(runs, { recursive: true });
  let dir = path.join(runs, runName(label, now));
  // Two runs started in the same second (a script): the second gets a suffix.
  for (let i = 2; fs.existsSync(dir); i++) dir = path.join(runs, `${runName(label, now)}-${i}`);
  fs.mkdirSync(dir);
  markLatest(dir, latest);
  pruneRuns(keep, dir, runs);
  return dir;
}

/** The run folder a reader means: `asked` (a folder or a run's name under reports/runs), else reports/latest; throws naming what is missing. */
export function resolveRun(asked: string | undefined, runs = RUNS, latest = LATEST): string {
  if (!asked) {
    if (!fs.existsSync(latest)) throw new Error(`no run yet (${path.relative(PROJECT_ROOT, latest)} is missing): run the tests first`);
    return fs.realpathSync(latest);
  }
  for (const c of [path.resolve(asked), path.join(runs, asked)]) if (fs.existsSync(c) && fs.statSync(c).isDirectory()) return c;
  throw new Error(`no run folder ${asked} (neither a folder nor a run under ${path.relative(PROJECT_ROOT, runs)})`);
}
