/**
 * `cluster rerun-failed`: what failed in the last run, read from the JUnit
 * report Vitest wrote (`reports/latest/junit.xml`, or a run folder's), and the `vitest run` arguments
 * that run exactly that again.
 *
 * How Vitest 4.1's JUnit reporter writes a run (checked against its output):
 * one <testsuite> per file, named by its path relative to the project root
 * (the classname is the same path); one <testcase> per test, named by its
 * describe blocks and its own name joined with " > " (no file name); a
 * failed test has <failure> children. What fails outside a test is a
 * failed <testcase> too: a describe block whose beforeAll/afterAll threw is
 * named by that block's own name only (not its parents'), and a file that
 * did not load, or whose file-level hook threw (the health check of the
 * cluster suites), is named by the file's path.
 *
 * Vitest matches `--testNamePattern` against a test's names joined with
 * one space (again without the file name), so " > " in the report is a
 * space in the pattern. A test the pattern leaves out is in the next report
 * as skipped, so a report of a narrowed run still names every test.
 *
 * The unit of re-running depends on the file, and which files are what is
 * the test side's (the caller's `isScenario`, fixtures/projects.ts): a test
 * of a file of independent checks re-runs alone. A sequential scenario's
 * steps build on each other's state: any failed step re-runs the whole
 * file, since a later step run alone has nothing to work on (it fails with
 * "needs step X", fixtures/scenario.ts).
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';

/** Where vitest.config.ts has the JUnit reporter write: in each run's folder (harness/run-dir.ts); the newest is reports/latest. */
export const JUNIT_REPORT = 'reports/latest/junit.xml';
/** The JUnit file's name in a run folder. */
export const JUNIT_FILE = 'junit.xml';

/** The JUnit reporter's separator between describe and test names. */
const SEP = ' > ';

export interface FailedCase {
  /** Test file, relative to the project root (the <testsuite> name). */
  file: string;
  /** The <testcase> name: describe names and the test name joined by " > ". */
  name: string;
  classname: string;
  /**
   * test: one test failed. suite: a describe block's beforeAll/afterAll
   * threw (name is that block's own name). file: the file failed outside
   * any test (it did not load, or a file-level hook threw).
   */
  kind: 'test' | 'suite' | 'file';
  /**
   * Report names of the tests whose re-run repeats this failure: the test
   * itself, the block's tests, or every test of the file. Empty for a file
   * the report knows no test of (it did not load): it re-runs whole.
   */
  rerun: string[];
  /**
   * Report names of every test of the file, passed, failed and skipped
   * (not the file's or a block's hook entries): what a scenario re-runs.
   */
  fileTests: string[];
}

interface TestCase {
  name: string;
  classname: string;
  failed: boolean;
}

/** What the parser makes of the elements read here (attributes stay strings). */
interface XmlCase {
  name?: string;
  classname?: string;
  failure?: unknown[];
  error?: unknown[];
}
interface XmlNode {
  name?: string;
  failures?: string;
  errors?: string;
  testcase?: XmlCase[];
  testsuite?: XmlNode[];
}

/** A report that cannot be read (an interrupted run leaves it cut short). */
export class ReportError extends Error {
  override name = 'ReportError';
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  // One element or many: always a list.
  isArray: (tag) => ['testsuites', 'testsuite', 'testcase', 'failure', 'error', 'skipped'].includes(tag),
});

/** Every <testsuite>, at any depth (JUnit allows nesting; Vitest writes one level). */
function suitesOf(node: XmlNode): XmlNode[] {
  return (node.testsuite ?? []).flatMap((s) => [s, ...suitesOf(s)]);
}

const count = (v: string | undefined) => Number.parseInt(v ?? '0', 10) || 0;

/** The failed cases of a JUnit report, in report order. Passed and skipped tests are not in it. */
export function parseFailures(xml: string): FailedCase[] {
  if (xml.trim() === '') throw new ReportError('the report is empty (a run cut short?)');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new ReportError(`the report is cut short or not well-formed XML (line ${valid.err.line}; an interrupted run?)`);
  const doc = parser.parse(xml) as { testsuites?: XmlNode[]; testsuite?: XmlNode[] };
  const roots: XmlNode[] | undefined = doc.testsuites ?? (doc.testsuite ? [{ testsuite: doc.testsuite }] : undefined);
  if (!roots) throw new ReportError('the report has no <testsuites> or <testsuite> element: not a JUnit report');

  const failures: FailedCase[] = [];
  for (const suite of roots.flatMap(suitesOf)) {
    const cases: TestCase[] = (suite.testcase ?? []).map((c) => ({
      name: c.name ?? '',
      classname: c.classname ?? suite.name ?? '',
      failed: (c.failure?.length ?? 0) > 0 || (c.error?.length ?? 0) > 0,
    }));
    const file = suite.name ?? cases[0]?.classname ?? '';
    // Named by the file's path (relative to its project's root when that is not the report's).
    const isFileEntry = (c: TestCase) => c.name === file || c.name === c.classname || file.endsWith(`/${c.name}`);
    /** Tests under a describe block of this (own) name: the block, top-level or nested. */
    const under = (block: string) => cases.filter((c) => !isFileEntry(c) && (c.name.startsWith(block + SEP) || c.name.includes(SEP + block + SEP)));
    const blockEntries = new Set(cases.filter((c) => c.failed && !isFileEntry(c) && under(c.name).length > 0).map((c) => c.name));
    const tests = cases.filter((c) => !isFileEntry(c) && !blockEntries.has(c.name)).map((c) => c.name);

    let found = false;
    for (const c of cases.filter((x) => x.failed)) {
      found = true;
      if (isFileEntry(c)) failures.push({ file, name: c.name, classname: c.classname, kind: 'file', rerun: tests, fileTests: tests });
      else if (blockEntries.has(c.name)) {
        // The block's own name could also be a top-level test's: run that too.
        failures.push({ file, name: c.name, classname: c.classname, kind: 'suite', rerun: [c.name, ...under(c.name).map((u) => u.name)], fileTests: tests });
      } else failures.push({ file, name: c.name, classname: c.classname, kind: 'test', rerun: [c.name], fileTests: tests });
    }
    // Counted as failed with no failed case to show for it (not what Vitest writes): the file runs whole.
    if (!found && count(suite.failures) + count(suite.errors) > 0) failures.push({ file, name: file, classname: file, kind: 'file', rerun: [], fileTests: tests });
  }
  return failures;
}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * A regex source matching the test a report name stands for. Vitest joins
 * names with a space where the report has " > "; a name that itself holds
 * " > " cannot be told apart in the report, so each " > " matches either.
 */
export function namePattern(reportName: string): string {
  return reportName.split(SEP).map(escapeRegExp).join(`(?: |${escapeRegExp(SEP)})`);
}

/**
 * A regex source admitting every test of a scenario: its top-level
 * blocks (and top-level tests) as the report names them, each with
 * anything under it. A prefix, not the list of names, so a step added
 * since that run is in too. A test of another file that happens to sit
 * under a block of the same name runs too (more, never less).
 */
function scenarioPattern(fileTests: string[]): string[] {
  const tops = [...new Set(fileTests.map((n) => n.split(SEP)[0]))];
  return tops.map((t) => `${namePattern(t)}(?:(?: |${escapeRegExp(SEP)})[\\s\\S]*)?`);
}

const NAME_PATTERN = /^(?:-t|--testNamePattern|--test-name-pattern)(?:=([\s\S]*))?$/;

/**
 * Folds the operator's own `-t`/`--testNamePattern` options (Vitest would
 * use only the first one given) into ours: a test must match theirs too.
 * Returns the other arguments, and the combined pattern.
 */
export function withOperatorPattern(pattern: string, args: string[]): { pattern: string; args: string[] } {
  const theirs: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--') {
      rest.push(...args.slice(i));
      break;
    }
    const m = NAME_PATTERN.exec(args[i]);
    if (!m) rest.push(args[i]);
    else if (m[1] !== undefined) theirs.push(m[1]);
    else if (i + 1 < args.length) theirs.push(args[++i]);
  }
  // Vitest searches a name for its pattern (unanchored): a lookahead at the start does the same.
  const ahead = theirs.map((t) => `(?=[\\s\\S]*?(?:${t}))`).join('');
  return { pattern: ahead && pattern.startsWith('^') ? `^${ahead}${pattern.slice(1)}` : `${ahead}${pattern}`, args: rest };
}

export interface RerunArgs {
  /** `vitest run` arguments: the files, an anchored --testNamePattern (unless the files run whole), then the operator's. */
  args: string[];
  files: string[];
  /** Files that failed before any test was known (did not load; a scenario with no test in the report): with one, every file runs whole. */
  wholeFiles: string[];
  /** Scenario files (isScenario) with a failure: each re-runs whole, every step in order. */
  scenarios: string[];
}

/**
 * `vitest run` arguments that run the failures again, in one run (so one
 * report, which the next `rerun-failed` reads): their files (so only those
 * load) and a pattern anchored at both ends that admits exactly the failed
 * tests' full names and every test of each failed scenario, then the
 * operator's own arguments. A file with no known test must run whole, and
 * a pattern would skip its tests: then there is no pattern of ours and the
 * failed files run whole; so do they when all of them are scenarios.
 *
 * Vitest takes one pattern for all files of a run, so a scenario is
 * admitted by its top-level names (scenarioPattern), not by its file.
 *
 * The operator's `-t` narrows the selection, a scenario's too: theirs is
 * folded into ours (withOperatorPattern), or passed as it is where we have
 * none. A step it picks without the steps it builds on fails with "needs
 * step X of this scenario" (fixtures/scenario.ts), so narrowing can make a
 * re-run red, never falsely green.
 *
 * `isScenario` says which files are sequential scenarios (the test side
 * knows: fixtures/projects.ts isScenario).
 */
export function rerunArgs(failures: FailedCase[], extra: string[], isScenario: (file: string) => boolean): RerunArgs {
  const files = [...new Set(failures.map((f) => f.file))];
  const scenarios = files.filter(isScenario);
  const wholeFiles = [
    ...new Set(failures.filter((f) => f.rerun.length === 0 || (isScenario(f.file) && f.fileTests.length === 0)).map((f) => f.file)),
  ];
  if (failures.length === 0 || wholeFiles.length > 0 || scenarios.length === files.length) return { args: [...files, ...extra], files, wholeFiles, scenarios };
  const names = [...new Set(failures.filter((f) => !isScenario(f.file)).flatMap((f) => f.rerun))];
  const whole = scenarios.flatMap((file) => scenarioPattern(failures.find((f) => f.file === file)!.fileTests));
  const merged = withOperatorPattern(`^(?:${[...names.map(namePattern), ...new Set(whole)].join('|')})$`, extra);
  return { args: [...files, '--testNamePattern', merged.pattern, ...merged.args], files, wholeFiles, scenarios };
}
