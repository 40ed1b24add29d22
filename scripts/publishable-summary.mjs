#!/usr/bin/env node
// The publishable suite's merged summary (scripts/run-publishable-kvm-suite.sh):
// per suite passed/failed/skipped from its JUnit file and its exit code, into
// <run>/summary.json and <run>/summary.md; the accel per node from
// `cluster status --json` (taken after the first suite) into metadata.json.
//   node scripts/publishable-summary.mjs <run folder> <suite>...
import fs from 'node:fs';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';

/** Counts of a vitest JUnit file: each testcase is passed, failed (failure or error) or skipped. */
export function countJunit(xml) {
  const parser = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testsuite' || name === 'testcase' });
  const doc = parser.parse(xml);
  const suites = doc.testsuites?.testsuite ?? doc.testsuite ?? [];
  const c = { passed: 0, failed: 0, skipped: 0, failedTests: [] };
  for (const s of suites) {
    for (const t of s.testcase ?? []) {
      if (t.failure !== undefined || t.error !== undefined) {
        c.failed++;
        c.failedTests.push(`${t['@_classname'] ?? ''} > ${t['@_name'] ?? ''}`.trim());
      } else if (t.skipped !== undefined) c.skipped++;
      else c.passed++;
    }
  }
  return c;
}

export function summarize(dir, suites) {
  const rows = suites.map((suite) => {
    const exitFile = path.join(dir, `${suite}.exit`);
    const [code, seconds] = fs.existsSync(exitFile) ? fs.readFileSync(exitFile, 'utf8').trim().split(/\s+/).map(Number) : [undefined, undefined];
    const junit = path.join(dir, `${suite}.junit.xml`);
    const counts = fs.existsSync(junit) ? countJunit(fs.readFileSync(junit, 'utf8')) : undefined;
    return {
      suite,
      exitCode: code ?? null,
      seconds: seconds ?? null,
      junit: counts ? path.basename(junit) : null,
      passed: counts?.passed ?? 0,
      failed: counts?.failed ?? 0,
      skipped: counts?.skipped ?? 0,
      failedTests: counts?.failedTests ?? [],
      // A suite that exited non-zero failed even when its JUnit shows no failed test (a boot or setup failure).
      ok: code === 0 && (counts?.failed ?? 0) === 0,
    };
  });
  return { finishedAt: new Date().toISOString(), ok: rows.every((r) => r.ok), suites: rows };
}

function markdown(summary, meta) {
  const lines = [
    '# Publishable KVM suite',
    '',
    `Stack \`${meta.stack}\`, git \`${meta.gitRevision}\`${meta.gitDirty === 'yes' ? ' (dirty)' : ''}, ${meta.kernel}, ${meta.cpuModel} (${meta.virtFlags.join(', ') || 'no vmx/svm'}), /dev/kvm ${meta.devKvm}; ${meta.qemu}; node ${meta.node}; nix: ${meta.nix}.`,
    `Accel per node: ${meta.accel ? Object.entries(meta.accel).map(([n, a]) => `${n} ${a}`).join(', ') : 'unknown (no status after the first suite)'}.`,
    '',
    '| suite | result | passed | failed | skipped | exit code | time |',
    '|---|---|---|---|---|---|---|',
    ...summary.suites.map((r) => `| ${r.suite} | ${r.ok ? 'pass' : 'FAIL'} | ${r.passed} | ${r.failed} | ${r.skipped} | ${r.exitCode ?? 'not run'} | ${r.seconds === null ? '-' : `${r.seconds} s`} |`),
    '',
    `Overall: ${summary.ok ? 'pass' : 'FAIL'}.`,
  ];
  const failed = summary.suites.filter((r) => r.failedTests.length > 0);
  if (failed.length > 0) {
    lines.push('', '## Failed tests', '');
    for (const r of failed) for (const t of r.failedTests) lines.push(`- ${r.suite}: ${t}`);
  }
  return `${lines.join('\n')}\n`;
}

function main([dir, ...suites]) {
  if (!dir || suites.length === 0) {
    process.stderr.write('usage: publishable-summary.mjs <run folder> <suite>...\n');
    return 2;
  }
  const metaFile = path.join(dir, 'metadata.json');
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'));
  const status = path.join(dir, `status-after-${suites[0]}.json`);
  if (fs.existsSync(status)) {
    try {
      const s = JSON.parse(fs.readFileSync(status, 'utf8'));
      meta.accel = Object.fromEntries((s.nodes ?? []).map((n) => [n.node, n.accel]));
      meta.accelReason = s.runtime?.accelReason ?? null;
    } catch {
      meta.accel = null;
    }
  }
  meta.finishedAt = new Date().toISOString();
  fs.writeFileSync(metaFile, `${JSON.stringify(meta, null, 2)}\n`);
  const summary = summarize(dir, suites);
  fs.writeFileSync(path.join(dir, 'summary.json'), `${JSON.stringify({ ...summary, metadata: 'metadata.json' }, null, 2)}\n`);
  const md = markdown(summary, meta);
  fs.writeFileSync(path.join(dir, 'summary.md'), md);
  process.stdout.write(md);
  return summary.ok ? 0 : 1;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
