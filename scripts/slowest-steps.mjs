#!/usr/bin/env node
/**
 * Where a test run's time goes (issue 26): the slowest testcases of a JUnit
 * report as Vitest writes it (one <testsuite> per file, named by its path
 * relative to the root; <testcase name="suite > test" time="seconds">), as
 * a markdown table, then each project's summed test time and its share.
 * The project is the folder after tests/ in the file's path (tests/smoke/boot.test.ts: smoke).
 *
 * Usage: node scripts/slowest-steps.mjs [--top N] [REPORT]
 * (default reports/latest/junit.xml: the newest run's, top 20). Test time only: a project's wall
 * time (setup, boot, files run side by side) is in the summary reporter's
 * `project NAME: ...` lines at the end of the run.
 * Exits 2, with one line on stderr, on bad input: no file, not XML, no testcase.
 */
import fs from 'node:fs';
import { XMLParser, XMLValidator } from 'fast-xml-parser';

const DEFAULT_REPORT = 'reports/latest/junit.xml';
const DEFAULT_TOP = 20;

/** Bad input: the message is the whole story, printed as one line. */
class InputError extends Error {}

/** `tests/<project>/...` → project; a path outside a tests/<folder>/ gives `-`. */
export function projectOf(file) {
  const parts = file.replace(/\\/g, '/').split('/');
  const i = parts.indexOf('tests');
  return i >= 0 && i + 2 < parts.length ? parts[i + 1] : '-';
}

/** Every testcase of the report: { seconds, project, file, name, status }. Throws InputError on bad input. */
export function readCases(xml, source = 'report') {
  if (xml.trim() === '') throw new InputError(`${source} is empty (Vitest empties it when a run starts: is one still running?)`);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new InputError(`${source} is not XML (line ${valid.err.line}: ${valid.err.msg})`);
  const parser = new XMLParser({ ignoreAttributes: false, isArray: (name) => name === 'testsuite' || name === 'testcase' });
  const doc = parser.parse(xml);
  const suites = [...(doc.testsuites?.testsuite ?? []), ...(doc.testsuite ?? [])];
  const cases = [];
  for (const s of suites) {
    for (const t of s.testcase ?? []) {
      // The suite's name is the file's path; classname may be templated.
      const file = s['@_name'] ?? t['@_file'] ?? t['@_classname'] ?? '';
      const seconds = Number(t['@_time']);
      cases.push({
        seconds: Number.isFinite(seconds) ? seconds : 0,
        project: projectOf(file),
        file,
        name: t['@_name'] ?? '',
        status: t.failure !== undefined || t.error !== undefined ? 'failed' : t.skipped !== undefined ? 'skipped' : 'passed',
      });
    }
  }
  if (cases.length === 0) throw new InputError(`${source} has no <testcase> (not a Vitest JUnit report, or a run that ran no test)`);
  return cases;
}

/** Each project's summed test time, largest first, with its share of the total. */
export function projectTotals(cases) {
  const sums = new Map();
  for (const c of cases) {
    const p = sums.get(c.project) ?? { project: c.project, seconds: 0, tests: 0 };
    p.seconds += c.seconds;
    p.tests++;
    sums.set(c.project, p);
  }
  const total = cases.reduce((a, c) => a + c.seconds, 0);
  return [...sums.values()].sort((a, b) => b.seconds - a.seconds).map((p) => ({ ...p, share: total > 0 ? p.seconds / total : 0 }));
}

const cell = (s) => String(s).replace(/\s+/g, ' ').replace(/\|/g, '\\|');

export function formatReport(cases, top = DEFAULT_TOP) {
  // Slowest first; equal times keep the report's order (the run's order).
  const slowest = cases
    .map((c, i) => [c, i])
    .sort(([a, i], [b, j]) => b.seconds - a.seconds || i - j)
    .slice(0, top)
    .map(([c]) => c);
  const total = cases.reduce((a, c) => a + c.seconds, 0);
  const lines = [
    '| rank | seconds | project | file | test | status |',
    '|---:|---:|---|---|---|---|',
    ...slowest.map((c, i) => `| ${i + 1} | ${c.seconds.toFixed(1)} | ${cell(c.project)} | ${cell(c.file)} | ${cell(c.name)} | ${c.status} |`),
    '',
    ...projectTotals(cases).map((p) => `project ${p.project}: ${p.seconds.toFixed(1)} s in ${p.tests} tests, ${(p.share * 100).toFixed(1)}% of ${total.toFixed(1)} s`),
  ];
  return `${lines.join('\n')}\n`;
}

function parseArgs(argv) {
  let top = DEFAULT_TOP;
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--top' || a.startsWith('--top=')) {
      const v = a === '--top' ? argv[++i] : a.slice('--top='.length);
      if (!/^[1-9]\d*$/.test(v ?? '')) throw new InputError(`--top wants a whole number above 0, got ${v === undefined ? 'nothing' : JSON.stringify(v)}`);
      top = Number(v);
    } else if (a.startsWith('-')) throw new InputError(`unknown option ${a} (usage: slowest-steps.mjs [--top N] [REPORT])`);
    else files.push(a);
  }
  if (files.length > 1) throw new InputError(`one report at a time, got ${files.length} (usage: slowest-steps.mjs [--top N] [REPORT])`);
  return { top, file: files[0] ?? DEFAULT_REPORT };
}

function main(argv) {
  try {
    const { top, file } = parseArgs(argv);
    let xml;
    try {
      xml = fs.readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError(`cannot read ${file}: ${e.code === 'ENOENT' ? 'no such file' : e.message}`);
    }
    process.stdout.write(formatReport(readCases(xml, file), top));
    return 0;
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    process.stderr.write(`slowest-steps: ${e.message}\n`);
    return 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
