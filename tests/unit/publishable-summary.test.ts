/** The publishable suite's merged summary (scripts/publishable-summary.mjs): counts per suite from JUnit, exit codes, failures. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';

const modPath = '../../scripts/publishable-summary.mjs';
const { countJunit, summarize } = (await import(modPath)) as {
  countJunit(xml: string): { passed: number; failed: number; skipped: number; failedTests: string[] };
  summarize(dir: string, suites: string[]): { ok: boolean; suites: { suite: string; ok: boolean; passed: number; failed: number; skipped: number; exitCode: number | null; failedTests: string[] }[] };
};

const JUNIT = `<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="4" failures="1" errors="0" time="12.3">
  <testsuite name="tests/smoke/boot.test.ts" tests="3" failures="1" errors="0" skipped="1" time="10">
    <testcase classname="tests/smoke/boot.test.ts" name="node01 boots" time="1"></testcase>
    <testcase classname="tests/smoke/boot.test.ts" name="node02 boots" time="1">
      <failure message="expected ready" type="AssertionError">stack</failure>
    </testcase>
    <testcase classname="tests/smoke/boot.test.ts" name="nested" time="0"><skipped/></testcase>
  </testsuite>
  <testsuite name="tests/smoke/gateway.test.ts" tests="1" failures="0" errors="0" skipped="0" time="2">
    <testcase classname="tests/smoke/gateway.test.ts" name="gateway answers" time="2"></testcase>
  </testsuite>
</testsuites>`;

describe('publishable summary', () => {
  test('counts each testcase once: passed, failed, skipped', () => {
    expect(countJunit(JUNIT)).toEqual({ passed: 2, failed: 1, skipped: 1, failedTests: ['tests/smoke/boot.test.ts > node02 boots'] });
  });

  test('per suite: counts and exit code; a non-zero exit fails the suite even without a failed test; a suite not run is null', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'publishable-'));
    try {
      fs.writeFileSync(path.join(dir, 'fresh-smoke.junit.xml'), JUNIT);
      fs.writeFileSync(path.join(dir, 'fresh-smoke.exit'), '1 612\n');
      fs.writeFileSync(path.join(dir, 'fresh-demo-vm-webapp.junit.xml'), JUNIT.replace(/<failure[^]*?<\/failure>/, ''));
      fs.writeFileSync(path.join(dir, 'fresh-demo-vm-webapp.exit'), '0 300\n');
      fs.writeFileSync(path.join(dir, 'fresh-matrix.exit'), '1 20\n'); // the boot failed: no JUnit
      const s = summarize(dir, ['fresh-smoke', 'fresh-demo-vm-webapp', 'fresh-matrix']);
      expect(s.ok).toBe(false);
      expect(s.suites.map((r) => [r.suite, r.ok, r.passed, r.failed, r.skipped, r.exitCode])).toEqual([
        ['fresh-smoke', false, 2, 1, 1, 1],
        ['fresh-demo-vm-webapp', true, 3, 0, 1, 0],
        ['fresh-matrix', false, 0, 0, 0, 1],
      ]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
