/** One folder per run (harness/run-dir.ts), and how rerun-failed names an earlier one; in temp dirs, never reports/. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { keepRuns, listRuns, openRun, pruneRuns, resolveRun, runLabel, runName } from '../../harness/run-dir.js';
import { defaultLogDir } from '../../cli/export-logs.js';
import { takeRunOption } from '../../cli/suites.js';

const dirs: string[] = [];
const tmp = () => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'run-dir-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const suites = (w: string) => ['smoke', 'matrix', 'unit'].includes(w);
const AT = new Date('2026-12-06T20:34:00.123Z');

describe('a run is named by its time and what it ran', () => {
  test('the projects asked for, the suites named as filters, else "test"', () => {
    expect(runLabel(['node', 'vitest.mjs', 'run', '--project', 'smoke'], suites)).toBe('smoke');
    expect(runLabel(['node', 'vitest.mjs', 'run', '--project=unit', '--project', 'matrix'], suites)).toBe('unit+matrix');
    expect(runLabel(['node', 'vitest.mjs', 'run', 'smoke'], suites)).toBe('smoke');
    expect(runLabel(['node', 'vitest.mjs', 'run'], suites)).toBe('test');
    // A word after an option is its value, not a suite.
    expect(runLabel(['node', 'vitest.mjs', 'run', '-t', 'smoke'], suites)).toBe('test');
    expect(runLabel(['node', 'vitest.mjs', 'run', '--project', 'a/../b c'], suites)).toBe('a____b_c');
  });

  test('UTC time to the second, so names sort in time order', () => {
    expect(runName('smoke', AT)).toBe('20261206T203400Z-smoke');
  });

  test('ULTRACLOUD_KEEP_RUNS: a whole number of at least 1, else one clear line', () => {
    expect(keepRuns({})).toBe(10);
    expect(keepRuns({ ULTRACLOUD_KEEP_RUNS: '3' })).toBe(3);
    expect(() => keepRuns({ ULTRACLOUD_KEEP_RUNS: '0' })).toThrow('ULTRACLOUD_KEEP_RUNS="0": a whole number of runs to keep, at least 1');
    expect(() => keepRuns({ ULTRACLOUD_KEEP_RUNS: 'many' })).toThrow('ULTRACLOUD_KEEP_RUNS="many"');
  });
});

describe('opening a run', () => {
  test('a new folder under runs/, latest pointing at it; the same second twice gets a suffix', () => {
    const root = tmp();
    const runs = path.join(root, 'runs');
    const latest = path.join(root, 'latest');
    const a = openRun(['node', 'vitest.mjs', 'run', 'smoke'], {}, AT, runs, latest);
    expect(path.basename(a)).toBe('20261206T203400Z-smoke');
    expect(fs.realpathSync(latest)).toBe(fs.realpathSync(a));
    // A relative link: the reports folder can move (CI uploads it).
    expect(path.isAbsolute(fs.readlinkSync(latest))).toBe(false);
    const b = openRun(['node', 'vitest.mjs', 'run', 'smoke'], {}, AT, runs, latest);
    expect(path.basename(b)).toBe('20261206T203400Z-smoke-2');
    expect(fs.realpathSync(latest)).toBe(fs.realpathSync(b));
  });

  test('a caller-named folder (ULTRACLOUD_RUN_DIR) is used as is: no new run, latest untouched', () => {
    const root = tmp();
    const runs = path.join(root, 'runs');
    const latest = path.join(root, 'latest');
    const named = path.join(root, 'prove', 'runs', 'row-1');
    expect(openRun([], { ULTRACLOUD_RUN_DIR: named }, AT, runs, latest)).toBe(named);
    expect(fs.existsSync(named)).toBe(true);
    expect(fs.existsSync(runs)).toBe(false);
    expect(fs.existsSync(latest)).toBe(false);
  });

  test('a caller label (rerun-failed) names the run', () => {
    const root = tmp();
    const dir = openRun(['node', 'vitest.mjs', 'run', 'smoke'], { ULTRACLOUD_RUN_LABEL: 'rerun' }, AT, path.join(root, 'runs'), path.join(root, 'latest'));
    expect(path.basename(dir)).toBe('20261206T203400Z-rerun');
  });

  test('runs past the count are pruned, oldest first, never the current one; other folders are left alone', () => {
    const root = tmp();
    const runs = path.join(root, 'runs');
    for (const n of ['20261201T000000Z-test', '20261202T000000Z-smoke', '20261203T000000Z-test', 'notes']) fs.mkdirSync(path.join(runs, n), { recursive: true });
    const dir = openRun([], { ULTRACLOUD_KEEP_RUNS: '2' }, AT, runs, path.join(root, 'latest'));
    expect(listRuns(runs).map((r) => path.basename(r))).toEqual(['20261203T000000Z-test', path.basename(dir)]);
    expect(fs.existsSync(path.join(runs, 'notes'))).toBe(true);
    expect(pruneRuns(1, dir, runs).map((r) => path.basename(r))).toEqual(['20261203T000000Z-test']);
    expect(listRuns(runs)).toEqual([dir]);
  });
});

describe('which run a reader means', () => {
  test('latest by default; a name under runs/ or a folder when asked; a missing one is named', () => {
    const root = tmp();
    const runs = path.join(root, 'runs');
    const latest = path.join(root, 'latest');
    expect(() => resolveRun(undefined, runs, latest)).toThrow('no run yet');
    const a = openRun([], {}, AT, runs, latest);
    expect(resolveRun(undefined, runs, latest)).toBe(fs.realpathSync(a));
    expect(resolveRun(path.basename(a), runs, latest)).toBe(a);
    expect(resolveRun(a, runs, latest)).toBe(a);
    expect(() => resolveRun('20200101T000000Z-test', runs, latest)).toThrow('no run folder 20200101T000000Z-test');
  });

  test('rerun-failed takes --run out of the arguments it hands to vitest', () => {
    expect(takeRunOption(['--run', '20261206T203400Z-test', '--bail', '1'])).toEqual({ run: '20261206T203400Z-test', rest: ['--bail', '1'] });
    expect(takeRunOption(['--run=x', '-t', 'name'])).toEqual({ run: 'x', rest: ['-t', 'name'] });
    expect(takeRunOption(['--bail', '1'])).toEqual({ run: undefined, rest: ['--bail', '1'] });
    expect(() => takeRunOption(['--run'])).toThrow('--run needs a run');
  });
});

describe('export-logs writes beside the latest run', () => {
  test('logs-<time> in the run reports/latest points at; reports/logs/<time> when there was no run', () => {
    const root = tmp();
    const latest = path.join(root, 'latest');
    expect(defaultLogDir(AT, latest)).toMatch(/reports\/logs\/2026-12-06T20-34-00-123Z$/);
    const run = openRun(['node', 'vitest.mjs', 'run', 'smoke'], {}, AT, path.join(root, 'runs'), latest);
    expect(defaultLogDir(AT, latest)).toBe(path.join(fs.realpathSync(run), 'logs-2026-12-06T20-34-00-123Z'));
  });
});

describe("vitest.config.ts points every project at the run's folder", () => {
  test('the JUnit file, the HTML report and the attachments, at the root and in each project (a project does not inherit them)', async () => {
    const dir = tmp();
    const before = process.env.ULTRACLOUD_RUN_DIR;
    process.env.ULTRACLOUD_RUN_DIR = dir;
    try {
      const { default: cfg } = (await import('../../vitest.config.js')) as { default: { test: { outputFile: Record<string, string>; attachmentsDir: string; projects: { test: { name: string; attachmentsDir?: string; provide?: { runDir?: string } } }[] } } };
      expect(cfg.test.outputFile).toEqual({ junit: path.join(dir, 'junit.xml'), html: path.join(dir, 'html', 'index.html') });
      expect(cfg.test.attachmentsDir).toBe(path.join(dir, 'attachments'));
      expect(cfg.test.projects.length).toBeGreaterThan(1);
      for (const p of cfg.test.projects) {
        expect(p.test.attachmentsDir, `${p.test.name}: attachmentsDir`).toBe(path.join(dir, 'attachments'));
        expect(p.test.provide?.runDir, `${p.test.name}: the runDir it provides`).toBe(dir);
      }
    } finally {
      if (before === undefined) delete process.env.ULTRACLOUD_RUN_DIR;
      else process.env.ULTRACLOUD_RUN_DIR = before;
    }
  });
});
