/** Where a run's time goes (scripts/slowest-steps.mjs): run as a command on JUnit files in a temp dir, never reports/. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/slowest-steps.mjs');

/** A JUnit report in Vitest 4.1's shape: one testsuite per file, named by its path. */
const junit = (files: Record<string, string[]>) =>
  [
    '<?xml version="1.0" encoding="UTF-8" ?>',
    '<testsuites name="vitest tests" tests="0" failures="0" errors="0" time="0">',
    ...Object.entries(files).map(
      ([file, cases]) =>
        `    <testsuite name="${file}" timestamp="2025-12-06T09:00:00.000Z" hostname="h" tests="${cases.length}" failures="0" errors="0" skipped="0" time="0">\n${cases.map((c) => `        ${c.replace('CLASS', `classname="${file}"`)}`).join('\n')}\n    </testsuite>`,
    ),
    '</testsuites>',
  ].join('\n');

const REPORT = junit({
  'tests/unit/a.test.ts': [
    '<testcase CLASS name="a &gt; parses | pipes" time="0.4">\n        </testcase>',
    '<testcase CLASS name="a &gt; later" time="0">\n            <skipped/>\n        </testcase>',
  ],
  'tests/smoke/boot.test.ts': [
    '<testcase CLASS name="node01 &gt; is reachable over SSH" time="12.34">\n        </testcase>',
    '<testcase CLASS name="node03 &gt; runs its units" time="387.66">\n            <failure message="x" type="AssertionError">stack</failure>\n        </testcase>',
  ],
  'tests/matrix/vm-hosting.test.ts': ['<testcase CLASS name="vm &gt; boots a guest" time="250">\n        </testcase>', '<testcase CLASS name="vm &gt; migrates" time="50"></testcase>'],
});

let dir: string;
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};
const run = (...args: string[]) => spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', cwd: dir });
const tableRows = (stdout: string) => stdout.split('\n').filter((l) => /^\| \d+ \|/.test(l));

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slowest-steps-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('slowest steps', () => {
  test('lists testcases slowest first: rank, seconds, project, file, test, status', () => {
    const r = run(write('junit.xml', REPORT));
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n').slice(0, 2)).toEqual(['| rank | seconds | project | file | test | status |', '|---:|---:|---|---|---|---|']);
    expect(tableRows(r.stdout)).toEqual([
      '| 1 | 387.7 | smoke | tests/smoke/boot.test.ts | node03 > runs its units | failed |',
      '| 2 | 250.0 | matrix | tests/matrix/vm-hosting.test.ts | vm > boots a guest | passed |',
      '| 3 | 50.0 | matrix | tests/matrix/vm-hosting.test.ts | vm > migrates | passed |',
      '| 4 | 12.3 | smoke | tests/smoke/boot.test.ts | node01 > is reachable over SSH | passed |',
      '| 5 | 0.4 | unit | tests/unit/a.test.ts | a > parses \\| pipes | passed |',
      '| 6 | 0.0 | unit | tests/unit/a.test.ts | a > later | skipped |',
    ]);
  });

  test('--top N keeps the N slowest; the project lines still sum every testcase', () => {
    for (const args of [['--top', '2'], ['--top=2']]) {
      const r = run(...args, write('junit.xml', REPORT));
      expect(r.status).toBe(0);
      expect(tableRows(r.stdout).map((l) => l.split(' | ').slice(0, 2).join(' | '))).toEqual(['| 1 | 387.7', '| 2 | 250.0']);
      expect(r.stdout).toContain('project unit: 0.4 s in 2 tests');
    }
  });

  test('one line per project after the table: summed test time and share, largest first', () => {
    const r = run(write('junit.xml', REPORT));
    const [, after] = r.stdout.split('\n\n');
    expect(after.trimEnd().split('\n')).toEqual([
      'project smoke: 400.0 s in 2 tests, 57.1% of 700.4 s',
      'project matrix: 300.0 s in 2 tests, 42.8% of 700.4 s',
      'project unit: 0.4 s in 2 tests, 0.1% of 700.4 s',
    ]);
  });

  test('reads reports/latest/junit.xml (the newest run) under the working directory by default, top 20', () => {
    const many = junit({ 'tests/smoke/many.test.ts': Array.from({ length: 25 }, (_, i) => `<testcase CLASS name="step ${i}" time="${i}"></testcase>`) });
    fs.mkdirSync(path.join(dir, 'reports', 'latest'), { recursive: true });
    write('reports/latest/junit.xml', many);
    const r = run();
    expect(r.status).toBe(0);
    const rows = tableRows(r.stdout);
    expect(rows).toHaveLength(20);
    expect(rows[0]).toBe('| 1 | 24.0 | smoke | tests/smoke/many.test.ts | step 24 | passed |');
    expect(r.stdout).toContain('project smoke: 300.0 s in 25 tests, 100.0% of 300.0 s');
  });

  test.each([
    ['no file', () => [path.join(dir, 'absent.xml')], /^slowest-steps: cannot read .*absent\.xml: no such file\n$/],
    ['an empty file (a run in progress)', () => [write('empty.xml', '')], /^slowest-steps: .*empty\.xml is empty \(.*\)\n$/],
    ['not XML', () => [write('json.xml', '{"tests": []}')], /^slowest-steps: .*json\.xml is not XML \(line 1: .*\)\n$/],
    ['unclosed XML', () => [write('cut.xml', REPORT.slice(0, 400))], /^slowest-steps: .*cut\.xml is not XML \(line \d+: .*\)\n$/],
    ['no testcase', () => [write('none.xml', junit({}))], /^slowest-steps: .*none\.xml has no <testcase> .*\n$/],
    ['a bad --top', () => ['--top', 'x', write('junit.xml', REPORT)], /^slowest-steps: --top wants a whole number above 0, got "x"\n$/],
    ['an unknown option', () => ['--slow'], /^slowest-steps: unknown option --slow .*\n$/],
  ])('%s: one line on stderr, exit 2, nothing on stdout', (_what, args, message) => {
    const r = run(...args());
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
  });
});
