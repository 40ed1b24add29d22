import { describe, expect, it } from 'vitest';
import { SCENARIO_PROJECTS, isScenario, projectOf } from '../../fixtures/projects.js';
import { type FailedCase, ReportError, namePattern, parseFailures, rerunArgs as harnessRerunArgs, withOperatorPattern } from '../../harness/rerun.js';

/** What `cluster rerun-failed` asks: the harness's plan with the test side's scenario projects. */
const rerunArgs = (failures: FailedCase[], extra: string[] = []) => harnessRerunArgs(failures, extra, isScenario);

/**
 * The shape Vitest 4.1's JUnit reporter writes (taken from a real run of
 * test files made for it, failure bodies shortened): describe.each over
 * nodes, nested blocks, names with regex metacharacters, a skipped and a
 * todo test, a file that did not load, describe blocks whose
 * beforeAll/afterAll threw (named by the block's own name), and a
 * file-level afterAll (named by the file, as the health check fails).
 */
const REPORT = String.raw`<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="33" failures="12" errors="0" time="0.026525336">
    <testsuite name="tests/unit/u.test.ts" timestamp="2026-11-30T04:38:18.841Z" hostname="vm" tests="2" failures="1" errors="0" skipped="0" time="0.004559996">
        <testcase classname="tests/unit/u.test.ts" name="u &gt; fails" time="0.003062759">
            <failure message="u" type="Error">
Error: u
 ❯ tests/unit/u.test.ts:2:49
            </failure>
        </testcase>
        <testcase classname="tests/unit/u.test.ts" name="u &gt; ok" time="0.000146046">
        </testcase>
    </testsuite>
    <testsuite name="tests/smoke/a.test.ts" timestamp="2026-11-30T04:38:18.843Z" hostname="vm" tests="17" failures="6" errors="0" skipped="2" time="0.008124784">
        <testcase classname="tests/smoke/a.test.ts" name="node01 &gt; pings" time="0.004380285">
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="node01 &gt; fails on node02 (x.y) [node01]*" time="0.004088466">
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="node01 &gt; on chainfire &gt; answers" time="0.00076731">
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="node02 &gt; pings" time="0.004054197">
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="node02 &gt; fails on node02 (x.y) [node02]*" time="0.003992516">
            <failure message="expected &apos;node02&apos; not to be &apos;node02&apos; // Object.is equality" type="AssertionError">
AssertionError: expected &apos;node02&apos; not to be &apos;node02&apos; // Object.is equality
 ❯ tests/smoke/a.test.ts:4:61
            </failure>
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="node02 &gt; on chainfire &gt; answers" time="0.000746148">
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="node03 &gt; pings" time="0.003951911">
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="node03 &gt; fails on node02 (x.y) [node03]*" time="0.000801834">
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="node03 &gt; on chainfire &gt; answers" time="0.000720367">
            <failure message="expected &apos;node03&apos; not to be &apos;node03&apos; // Object.is equality" type="AssertionError">
AssertionError: expected &apos;node03&apos; not to be &apos;node03&apos; // Object.is equality
            </failure>
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="outer.(a) &gt; inner [b]+ &gt; deep $ ^ | fails? \d {1}" time="0.000488879">
            <failure message="boom" type="Error">
Error: boom
            </failure>
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="outer.(a) &gt; inner [b]+ &gt; deep passes" time="0.000096923">
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="top level fails" time="0.000198559">
            <failure message="x" type="Error">
Error: x
            </failure>
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="top level fails 2" time="0.000071866">
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="skipped one" time="0">
            <skipped/>
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="todo one" time="0">
            <skipped/>
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="weird &gt; name" time="0.00038692">
            <failure message="gt" type="Error">
Error: gt
            </failure>
        </testcase>
        <testcase classname="tests/smoke/a.test.ts" name="quote &apos; &quot; &amp; &lt; é ✓" time="0.000229846">
            <failure message="q" type="Error">
Error: q
            </failure>
        </testcase>
    </testsuite>
    <testsuite name="tests/smoke/b.test.ts" timestamp="2026-11-30T04:36:49.086Z" hostname="vm" tests="1" failures="1" errors="0" skipped="0" time="0">
        <testcase classname="tests/smoke/b.test.ts" name="tests/smoke/b.test.ts" time="0">
            <failure message="collection boom" type="Error">
Error: collection boom
            </failure>
        </testcase>
    </testsuite>
    <testsuite name="tests/smoke/c.test.ts" timestamp="2026-11-30T04:36:49.089Z" hostname="vm" tests="6" failures="2" errors="0" skipped="2" time="0.00542769">
        <testcase classname="tests/smoke/c.test.ts" name="hooked &gt; t1" time="0">
            <skipped/>
        </testcase>
        <testcase classname="tests/smoke/c.test.ts" name="hooked &gt; t2" time="0">
            <skipped/>
        </testcase>
        <testcase classname="tests/smoke/c.test.ts" name="after &gt; t3" time="0.000803851">
        </testcase>
        <testcase classname="tests/smoke/c.test.ts" name="fine &gt; t4" time="0.000134373">
        </testcase>
        <testcase classname="tests/smoke/c.test.ts" name="hooked" time="0.00275998">
            <failure message="beforeAll boom" type="Error">
Error: beforeAll boom
            </failure>
        </testcase>
        <testcase classname="tests/smoke/c.test.ts" name="after" time="0.001568404">
            <failure message="afterAll boom" type="Error">
Error: afterAll boom
            </failure>
        </testcase>
    </testsuite>
    <testsuite name="tests/smoke/d.test.ts" timestamp="2026-11-30T04:36:49.095Z" hostname="vm" tests="2" failures="1" errors="0" skipped="0" time="0.007737519">
        <testcase classname="tests/smoke/d.test.ts" name="passes" time="0.004001468">
        </testcase>
        <testcase classname="tests/smoke/d.test.ts" name="tests/smoke/d.test.ts" time="0.007737519">
            <failure message="file afterAll boom" type="Error">
Error: file afterAll boom
            </failure>
        </testcase>
    </testsuite>
    <testsuite name="tests/smoke/e.test.ts" timestamp="2026-11-30T04:38:18.862Z" hostname="vm" tests="5" failures="1" errors="0" skipped="0" time="0.003">
        <testcase classname="tests/smoke/e.test.ts" name="node01 &gt; creditservice &gt; t5" time="0.000919107">
        </testcase>
        <testcase classname="tests/smoke/e.test.ts" name="node01 &gt; t6" time="0.00010992">
        </testcase>
        <testcase classname="tests/smoke/e.test.ts" name="node02 &gt; creditservice &gt; t5" time="0.000118382">
        </testcase>
        <testcase classname="tests/smoke/e.test.ts" name="node02 &gt; t6" time="0.000115961">
        </testcase>
        <testcase classname="tests/smoke/e.test.ts" name="creditservice" time="0.00220935">
            <failure message="nested afterAll boom" type="Error">
Error: nested afterAll boom
            </failure>
        </testcase>
    </testsuite>
</testsuites>
`;

/** A report with these files, each a list of [name, failed]. */
function report(files: Record<string, [string, 'pass' | 'fail' | 'error' | 'skip'][]>): string {
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const suites = Object.entries(files).map(([file, cases]) => {
    const body = cases.map(([name, state]) => {
      const inner = state === 'fail' ? '<failure message="x" type="Error">x</failure>' : state === 'error' ? '<error message="x"/>' : state === 'skip' ? '<skipped/>' : '';
      return `<testcase classname="${esc(file)}" name="${esc(name)}" time="0">${inner}</testcase>`;
    });
    const failures = cases.filter(([, s]) => s === 'fail').length;
    return `<testsuite name="${esc(file)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0">${body.join('')}</testsuite>`;
  });
  return `<?xml version="1.0" encoding="UTF-8" ?>\n<testsuites name="vitest tests">${suites.join('')}</testsuites>\n`;
}

/** The name Vitest matches --testNamePattern against: describe and test names joined by one space. */
const vitestName = (...names: string[]) => names.join(' ');

describe('parseFailures', () => {
  const failures = parseFailures(REPORT);
  const byFile = (file: string) => failures.filter((f) => f.file === file);

  it('finds the failed tests by file, full name and classname, in report order', () => {
    expect(byFile('tests/unit/u.test.ts')).toEqual([
      { file: 'tests/unit/u.test.ts', name: 'u > fails', classname: 'tests/unit/u.test.ts', kind: 'test', rerun: ['u > fails'], fileTests: ['u > fails', 'u > ok'] },
    ]);
    expect(byFile('tests/smoke/a.test.ts').map((f) => f.name)).toEqual([
      'node02 > fails on node02 (x.y) [node02]*',
      'node03 > on chainfire > answers',
      String.raw`outer.(a) > inner [b]+ > deep $ ^ | fails? \d {1}`,
      'top level fails',
      'weird > name',
      `quote ' " & < é ✓`,
    ]);
    expect(byFile('tests/smoke/a.test.ts').every((f) => f.kind === 'test' && f.classname === 'tests/smoke/a.test.ts')).toBe(true);
  });

  it('leaves out passed, skipped and todo tests', () => {
    const names = failures.map((f) => f.name);
    for (const n of ['u > ok', 'node01 > pings', 'node01 > fails on node02 (x.y) [node01]*', 'top level fails 2', 'skipped one', 'todo one', 'fine > t4']) {
      expect(names).not.toContain(n);
    }
  });

  it('takes a file that did not load as the whole file (no test of it is known)', () => {
    expect(byFile('tests/smoke/b.test.ts')).toEqual([
      { file: 'tests/smoke/b.test.ts', name: 'tests/smoke/b.test.ts', classname: 'tests/smoke/b.test.ts', kind: 'file', rerun: [], fileTests: [] },
    ]);
  });

  it('takes a file-level hook failure (the health check) as all the tests of that file', () => {
    expect(byFile('tests/smoke/d.test.ts')).toEqual([
      { file: 'tests/smoke/d.test.ts', name: 'tests/smoke/d.test.ts', classname: 'tests/smoke/d.test.ts', kind: 'file', rerun: ['passes'], fileTests: ['passes'] },
    ]);
  });

  it("takes a describe block's hook failure as that block's tests, top-level or nested", () => {
    expect(byFile('tests/smoke/c.test.ts').map((f) => [f.kind, f.name, f.rerun])).toEqual([
      ['suite', 'hooked', ['hooked', 'hooked > t1', 'hooked > t2']],
      ['suite', 'after', ['after', 'after > t3']],
    ]);
    expect(byFile('tests/smoke/e.test.ts').map((f) => [f.kind, f.name, f.rerun])).toEqual([
      ['suite', 'creditservice', ['creditservice', 'node01 > creditservice > t5', 'node02 > creditservice > t5']],
    ]);
  });

  it('counts <error> like <failure>', () => {
    expect(parseFailures(report({ 'tests/smoke/x.test.ts': [['a > b', 'error'], ['a > c', 'pass']] })).map((f) => f.name)).toEqual(['a > b']);
  });

  it('takes a <testsuite> counted as failed with no failed <testcase> as the whole file', () => {
    const xml = `<testsuites><testsuite name="tests/smoke/y.test.ts" tests="1" failures="0" errors="1"><testcase classname="tests/smoke/y.test.ts" name="ok"/></testsuite></testsuites>`;
    expect(parseFailures(xml)).toEqual([{ file: 'tests/smoke/y.test.ts', name: 'tests/smoke/y.test.ts', classname: 'tests/smoke/y.test.ts', kind: 'file', rerun: [], fileTests: ['ok'] }]);
  });

  it('returns nothing for a run where nothing failed', () => {
    expect(parseFailures(report({ 'tests/unit/z.test.ts': [['z > a', 'pass'], ['z > b', 'skip']] }))).toEqual([]);
    expect(parseFailures('<?xml version="1.0" encoding="UTF-8" ?>\n<testsuites name="vitest tests" tests="0" failures="0" errors="0" time="0">\n</testsuites>\n')).toEqual([]);
  });

  it('refuses an empty, cut-short or non-JUnit file', () => {
    expect(() => parseFailures('')).toThrow(ReportError);
    expect(() => parseFailures(REPORT.slice(0, 2000))).toThrow(ReportError);
    expect(() => parseFailures('<html><body/></html>')).toThrow(/not a JUnit report/);
  });
});

describe('namePattern', () => {
  it('escapes regex metacharacters, so a name matches itself only', () => {
    for (const name of ['fails on node02 (x.y) [node02]*', String.raw`deep $ ^ | fails? \d {1}`, `quote ' " & < é ✓`, 'a+b', '{x}']) {
      const re = new RegExp(`^${namePattern(name)}$`);
      expect(re.test(name)).toBe(true);
      expect(re.test(name.replace(/./, 'Z'))).toBe(false);
    }
    expect(new RegExp(`^${namePattern('x.y')}$`).test('xzy')).toBe(false);
  });

  it('turns the report\'s " > " into the space Vitest joins names with, or a literal " > "', () => {
    const re = new RegExp(`^${namePattern('node02 > on chainfire > answers')}$`);
    expect(re.test(vitestName('node02', 'on chainfire', 'answers'))).toBe(true);
    expect(re.test('node02 > on chainfire > answers')).toBe(true);
    expect(re.test(vitestName('node02', 'on chainfire answers'))).toBe(true); // "on chainfire answers" is that same string
    expect(re.test(vitestName('node03', 'on chainfire', 'answers'))).toBe(false);
  });
});

describe('rerunArgs', () => {
  const failures = parseFailures(REPORT);

  /** Every test of the sample, by the name Vitest matches against. */
  const ALL = {
    'u fails': true,
    'u ok': false,
    'node01 pings': false,
    'node01 fails on node02 (x.y) [node01]*': false,
    'node01 on chainfire answers': false,
    'node02 pings': false,
    'node02 fails on node02 (x.y) [node02]*': true,
    'node02 on chainfire answers': false,
    'node03 fails on node02 (x.y) [node03]*': false,
    'node03 on chainfire answers': true,
    [String.raw`outer.(a) inner [b]+ deep $ ^ | fails? \d {1}`]: true,
    'outer.(a) inner [b]+ deep passes': false,
    'top level fails': true,
    'top level fails 2': false,
    'skipped one': false,
    'weird > name': true,
    [`quote ' " & < é ✓`]: true,
    'hooked t1': true,
    'hooked t2': true,
    'after t3': true,
    'fine t4': false,
    passes: true,
    'node01 creditservice t5': true,
    'node01 t6': false,
    'node02 creditservice t5': true,
    'node02 t6': false,
  };

  it('passes the failed files, then a pattern that admits exactly the failed tests', () => {
    const withoutB = failures.filter((f) => f.file !== 'tests/smoke/b.test.ts');
    const r = rerunArgs(withoutB);
    const files = ['tests/unit/u.test.ts', 'tests/smoke/a.test.ts', 'tests/smoke/c.test.ts', 'tests/smoke/d.test.ts', 'tests/smoke/e.test.ts'];
    expect(r.files).toEqual(files);
    expect(r.wholeFiles).toEqual([]);
    expect(r.args.slice(0, files.length)).toEqual(files);
    expect(r.args[files.length]).toBe('--testNamePattern');
    expect(r.args).toHaveLength(files.length + 2);
    const re = new RegExp(r.args[files.length + 1]); // as Vitest builds it: new RegExp(pattern), then name.match(re)
    for (const [name, runs] of Object.entries(ALL)) expect({ name, runs: re.test(name) }).toEqual({ name, runs });
  });

  it('anchors the pattern: a failed name does not admit a longer one', () => {
    const r = rerunArgs([{ file: 'tests/smoke/a.test.ts', name: 'top level fails', classname: 'tests/smoke/a.test.ts', kind: 'test', rerun: ['top level fails'], fileTests: ['top level fails', 'top level fails 2'] }]);
    const re = new RegExp(r.args[2]);
    expect(re.test('top level fails')).toBe(true);
    expect(re.test('top level fails 2')).toBe(false);
    expect(re.test('x top level fails')).toBe(false);
  });

  it('runs the failed files whole, without a pattern, when one of them did not load', () => {
    const r = rerunArgs(failures);
    expect(r.wholeFiles).toEqual(['tests/smoke/b.test.ts']);
    expect(r.args).toEqual(['tests/unit/u.test.ts', 'tests/smoke/a.test.ts', 'tests/smoke/b.test.ts', 'tests/smoke/c.test.ts', 'tests/smoke/d.test.ts', 'tests/smoke/e.test.ts']);
  });

  it('names each test once, and passes the operator\'s arguments after its own', () => {
    const f: FailedCase[] = [
      { file: 'tests/smoke/c.test.ts', name: 'x', classname: 'tests/smoke/c.test.ts', kind: 'suite', rerun: ['x', 'x > t'], fileTests: ['x > t'] },
      { file: 'tests/smoke/c.test.ts', name: 'x > t', classname: 'tests/smoke/c.test.ts', kind: 'test', rerun: ['x > t'], fileTests: ['x > t'] },
    ];
    expect(rerunArgs(f, ['--reporter', 'verbose'])).toEqual({
      args: ['tests/smoke/c.test.ts', '--testNamePattern', '^(?:x|x(?: | > )t)$', '--reporter', 'verbose'],
      files: ['tests/smoke/c.test.ts'],
      wholeFiles: [],
      scenarios: [],
    });
  });

  it('gives no arguments of its own when nothing failed', () => {
    expect(rerunArgs([])).toEqual({ args: [], files: [], wholeFiles: [], scenarios: [] });
  });
});

/**
 * A sequential scenario whose third step failed (the fourth then skipped
 * itself) beside a smoke file with one failed check: what Vitest 4.1.12's
 * JUnit reporter wrote for such files (failure bodies shortened).
 */
const SCENARIO_REPORT = String.raw`<?xml version="1.0" encoding="UTF-8" ?>
<testsuites name="vitest tests" tests="9" failures="2" errors="0" time="0.054523691">
    <testsuite name="tests/matrix/flow.test.ts" timestamp="2026-12-06T08:48:37.960Z" hostname="vm" tests="5" failures="1" errors="0" skipped="1" time="0.012240215">
        <testcase classname="tests/matrix/flow.test.ts" name="flow: a + b &gt; step one sets up" time="0.002278618">
        </testcase>
        <testcase classname="tests/matrix/flow.test.ts" name="flow: a + b &gt; step two makes x" time="0.00016928">
        </testcase>
        <testcase classname="tests/matrix/flow.test.ts" name="flow: a + b &gt; step three uses x" time="0.007497738">
            <failure message="expected 1 to be 2 // Object.is equality" type="AssertionError">
AssertionError: expected 1 to be 2 // Object.is equality
            </failure>
        </testcase>
        <testcase classname="tests/matrix/flow.test.ts" name="flow: a + b &gt; step four needs three" time="0.000387352">
            <skipped/>
        </testcase>
        <testcase classname="tests/matrix/flow.test.ts" name="flow: a + b &gt; then &gt; step five" time="0.000308493">
        </testcase>
    </testsuite>
    <testsuite name="tests/smoke/s.test.ts" timestamp="2026-12-06T08:48:37.996Z" hostname="vm" tests="4" failures="1" errors="0" skipped="0" time="0.042283476">
        <testcase classname="tests/smoke/s.test.ts" name="node01 &gt; pings" time="0.009737342">
        </testcase>
        <testcase classname="tests/smoke/s.test.ts" name="node01 &gt; answers" time="0.02419946">
            <failure message="expected 1 to be 2 // Object.is equality" type="AssertionError">
AssertionError: expected 1 to be 2 // Object.is equality
            </failure>
        </testcase>
        <testcase classname="tests/smoke/s.test.ts" name="node02 &gt; pings" time="0.000254411">
        </testcase>
        <testcase classname="tests/smoke/s.test.ts" name="node02 &gt; answers" time="0.000234353">
        </testcase>
    </testsuite>
</testsuites>
`;

describe('rerunArgs: a scenario re-runs whole, a check alone', () => {
  const SCENARIO = 'tests/matrix/flow.test.ts';
  const SMOKE = 'tests/smoke/s.test.ts';
  const failures = parseFailures(SCENARIO_REPORT);
  const of = (file: string) => failures.filter((f) => f.file === file);
  /** Every test of the two files by the name Vitest matches, and whether a re-run of both must run it. */
  const SCENARIO_TESTS = ['flow: a + b step one sets up', 'flow: a + b step two makes x', 'flow: a + b step three uses x', 'flow: a + b step four needs three', 'flow: a + b then step five'];
  const SMOKE_TESTS = { 'node01 pings': false, 'node01 answers': true, 'node02 pings': false, 'node02 answers': false };

  it('reads the failed third step as one failed test, and every test of its file, passed and skipped', () => {
    expect(of(SCENARIO)).toEqual([
      {
        file: SCENARIO,
        name: 'flow: a + b > step three uses x',
        classname: SCENARIO,
        kind: 'test',
        rerun: ['flow: a + b > step three uses x'],
        fileTests: ['flow: a + b > step one sets up', 'flow: a + b > step two makes x', 'flow: a + b > step three uses x', 'flow: a + b > step four needs three', 'flow: a + b > then > step five'],
      },
    ]);
  });

  it('re-runs the scenario whose third step failed whole: its file, no name pattern', () => {
    expect(rerunArgs(of(SCENARIO))).toEqual({ args: [SCENARIO], files: [SCENARIO], wholeFiles: [], scenarios: [SCENARIO] });
  });

  it("passes the operator's -t through as it is when only scenarios re-run (a step it picks alone then fails: needs step X)", () => {
    expect(rerunArgs(of(SCENARIO), ['-t', 'step four']).args).toEqual([SCENARIO, '-t', 'step four']);
  });

  it('still narrows a smoke file to its one failed check', () => {
    const r = rerunArgs(of(SMOKE));
    expect(r).toMatchObject({ files: [SMOKE], wholeFiles: [], scenarios: [] });
    expect(r.args.slice(0, 2)).toEqual([SMOKE, '--testNamePattern']);
    const re = new RegExp(r.args[2]);
    for (const [name, runs] of Object.entries(SMOKE_TESTS)) expect({ name, runs: re.test(name) }).toEqual({ name, runs });
  });

  it('mixed: one run of both files whose pattern admits every step of the scenario and only the failed smoke check', () => {
    const r = rerunArgs(failures);
    expect(r).toMatchObject({ files: [SCENARIO, SMOKE], wholeFiles: [], scenarios: [SCENARIO] });
    expect(r.args.slice(0, 3)).toEqual([SCENARIO, SMOKE, '--testNamePattern']);
    expect(r.args).toHaveLength(4);
    const re = new RegExp(r.args[3]);
    for (const name of SCENARIO_TESTS) expect({ name, runs: re.test(name) }).toEqual({ name, runs: true });
    // A step added since that run sits under the same top-level block: in too.
    expect(re.test('flow: a + b step six, new')).toBe(true);
    for (const [name, runs] of Object.entries(SMOKE_TESTS)) expect({ name, runs: re.test(name) }).toEqual({ name, runs });
    // A prefix of the block's name is not the block.
    expect(re.test('flow: a + bc step one sets up')).toBe(false);
  });

  it("mixed: the operator's -t narrows the scenario too", () => {
    const r = rerunArgs(failures, ['-t', 'step (one|two)|node01']);
    const re = new RegExp(r.args[3]);
    expect([...SCENARIO_TESTS, ...Object.keys(SMOKE_TESTS)].filter((n) => re.test(n))).toEqual(['flow: a + b step one sets up', 'flow: a + b step two makes x', 'node01 answers']);
  });

  it('mixed with a scenario the report knows no test of: every failed file runs whole', () => {
    const noTests: FailedCase = { file: 'tests/demo/d.test.ts', name: 'd > hook', classname: 'tests/demo/d.test.ts', kind: 'suite', rerun: ['d > hook'], fileTests: [] };
    const r = rerunArgs([...failures, noTests]);
    expect(r).toMatchObject({ args: [SCENARIO, SMOKE, 'tests/demo/d.test.ts'], wholeFiles: ['tests/demo/d.test.ts'], scenarios: [SCENARIO, 'tests/demo/d.test.ts'] });
  });

  it('takes every file of matrix, demo, scheduling, baremetal and bench for a scenario, of unit and smoke for checks', () => {
    expect(SCENARIO_PROJECTS).toEqual(['matrix', 'demo', 'scheduling', 'baremetal', 'bench']);
    for (const file of ['tests/matrix/gateway-flows.test.ts', 'tests/demo/vm-webapp.test.ts', 'tests/scheduling/rollout.test.ts', 'tests/baremetal/iso.test.ts', 'tests/bench/storage.test.ts']) {
      expect({ file, scenario: isScenario(file) }).toEqual({ file, scenario: true });
    }
    for (const file of ['tests/unit/rerun.test.ts', 'tests/smoke/boot.test.ts', 'elsewhere/x.test.ts']) expect({ file, scenario: isScenario(file) }).toEqual({ file, scenario: false });
  });

  it('knows no project itself: the scenarios are the ones its caller names', () => {
    expect(harnessRerunArgs(of(SCENARIO), [], () => false).scenarios).toEqual([]);
    expect(harnessRerunArgs(of(SMOKE), [], (f) => f === SMOKE).scenarios).toEqual([SMOKE]);
  });
});

describe('withOperatorPattern', () => {
  const ours = '^(?:node01 a|node02 a|node02 b)$';

  it("narrows ours with the operator's -t, in any of its spellings, and drops theirs from the arguments", () => {
    for (const args of [['-t', 'node02'], ['-t=node02'], ['--testNamePattern', 'node02'], ['--testNamePattern=node02'], ['--test-name-pattern', 'node02']]) {
      const r = withOperatorPattern(ours, [...args, '--reporter', 'verbose']);
      expect(r.args).toEqual(['--reporter', 'verbose']);
      const re = new RegExp(r.pattern);
      expect(['node01 a', 'node02 a', 'node02 b', 'node02 c'].filter((n) => re.test(n))).toEqual(['node02 a', 'node02 b']);
    }
  });

  it("keeps the operator's anchors and alternatives theirs", () => {
    const re = new RegExp(withOperatorPattern(ours, ['-t', '^node01|b$']).pattern);
    expect(['node01 a', 'node02 a', 'node02 b'].filter((n) => re.test(n))).toEqual(['node01 a', 'node02 b']);
  });

  it('leaves the pattern and arguments as they are without a -t, and what follows -- alone', () => {
    expect(withOperatorPattern(ours, ['--bail', '1', '--', '-t', 'x'])).toEqual({ pattern: ours, args: ['--bail', '1', '--', '-t', 'x'] });
  });
});

describe('projectOf', () => {
  it('is the folder under tests/', () => {
    expect(projectOf('tests/smoke/boot.test.ts')).toBe('smoke');
    expect(projectOf('tests/unit/lock.test.ts')).toBe('unit');
    expect(projectOf('elsewhere/x.test.ts')).toBeUndefined();
  });
});
