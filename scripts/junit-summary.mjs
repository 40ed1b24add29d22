// Prints one plain closing line from a JUnit XML report: "tests: N passed, N failed, N skipped".
import fs from 'node:fs';

const file = process.argv[2] ?? 'reports/junit.xml';
if (!fs.existsSync(file)) {
  console.error(`junit-summary: ${file} not found`);
  process.exit(1);
}
const xml = fs.readFileSync(file, 'utf8');
// Sum over <testsuite> elements: vitest puts no skipped count on <testsuites>.
const sum = (name) =>
  [...xml.matchAll(new RegExp(`<testsuite\\s[^>]*\\b${name}="(\\d+)"`, 'g'))].reduce((n, m) => n + Number(m[1]), 0);
const total = sum('tests');
const failed = sum('failures') + sum('errors');
const skipped = sum('skipped');
console.log(`tests: ${total - failed - skipped} passed, ${failed} failed, ${skipped} skipped`);
