import { afterEach, describe, expect, it, vi } from 'vitest';
import type { TestModule } from 'vitest/node';
import { type CaseLike, type ModuleLike, type ProjectSpan, SummaryReporter, next, formatSummary, suiteLine, suiteOrder, formatWall, summarize } from '../reporters/summary.js';

const tcase = (fullName: string, state: ReturnType<CaseLike['result']>['state']): CaseLike => ({ fullName, result: () => ({ state }) });
const mod = (relativeModuleId: string, tests: CaseLike[], opts: { errors?: string[]; suites?: { fullName: string; errors: string[] }[]; project?: string } = {}): ModuleLike => ({
  relativeModuleId,
  project: opts.project === undefined ? undefined : { name: opts.project },
  errors: () => (opts.errors ?? []).map((message) => ({ message, name: 'Error' })),
  children: {
    allTests: () => tests,
    allSuites: () => (opts.suites ?? []).map((s) => ({ fullName: s.fullName, errors: () => s.errors.map((message) => ({ message, name: 'Error' })) })),
  },
});

describe('summary reporter', () => {
  it('closes a green run with the counts line alone', () => {
    const s = summarize([mod('tests/unit/a.test.ts', [tcase('a > one', 'passed'), tcase('a > two', 'skipped')])], [], 'passed');
    expect(formatSummary(s)).toBe('1 passed, 0 failed, 1 skipped\n');
  });

  it('names failed tests as file > suite > test after the counts line, then the unhandled errors', () => {
    const s = summarize(
      [
        mod('tests/smoke/boot.test.ts', [tcase('node01 > is reachable over SSH', 'passed'), tcase('node03 > runs the units its stack requires', 'failed')]),
        mod('tests/smoke/gateway.test.ts', [tcase('node06 > 401 without a token', 'failed'), tcase('node06 > skipped one', 'skipped')]),
      ],
      [{ name: 'TypeError', message: 'x is not a function\n    at y (z.ts:1:1)' }],
      'failed',
    );
    expect(formatSummary(s)).toBe(
      [
        '1 passed, 2 failed, 1 skipped',
        'failed:',
        '  tests/smoke/boot.test.ts > node03 > runs the units its stack requires',
        '  tests/smoke/gateway.test.ts > node06 > 401 without a token',
        'unhandled errors: 1',
        '  TypeError: x is not a function',
        ...next(),
        '',
      ].join('\n'),
    );
  });

  it("puts a failed test's first error line under its name, cut at 300 characters, so a log's tail says what broke", () => {
    const failed = (message: string): CaseLike => ({ fullName: 'faults > linearizable', result: () => ({ state: 'failed', errors: [{ name: 'AssertionError', message }] }) });
    const s = summarize([mod('tests/faults/a.test.ts', [failed('verdict: expected \'unknown\' to be \'linearizable\'\n- Expected\n+ Received')]), mod('tests/faults/b.test.ts', [failed('x'.repeat(400))])], [], 'failed');
    const lines = formatSummary(s).split('\n');
    expect(lines.slice(1, 6)).toEqual([
      'failed:',
      '  tests/faults/a.test.ts > faults > linearizable',
      "    AssertionError: verdict: expected 'unknown' to be 'linearizable'",
      '  tests/faults/b.test.ts > faults > linearizable',
      `    AssertionError: ${'x'.repeat(299 - 'AssertionError: '.length)}…`,
    ]);
  });

  it('counts a file that failed to load and a failed hook as failures, by name (never a green-looking line)', () => {
    const s = summarize(
      [
        mod('tests/smoke/broken.test.ts', [], { errors: ['Cannot find module ../x.js\nRequire stack'] }),
        mod('tests/smoke/prismnet-ports.test.ts', [tcase('prismnet ports > a step', 'passed')], { suites: [{ fullName: 'prismnet ports', errors: ['afterAll: cleanup failed'] }] }),
      ],
      [],
      'failed',
    );
    expect(s).toMatchObject({ passed: 1, failed: 2, skipped: 0 });
    expect(formatSummary(s).split('\n')).toEqual([
      '1 passed, 2 failed, 0 skipped',
      'failed:',
      '  tests/smoke/broken.test.ts (Error: Cannot find module ../x.js)',
      '  tests/smoke/prismnet-ports.test.ts > prismnet ports (Error: afterAll: cleanup failed)',
      ...next(),
      '',
    ]);
  });

  it('says when the run was interrupted; tests that never ran count as skipped', () => {
    const s = summarize([mod('tests/smoke/replication.test.ts', [tcase('faults > x', 'passed'), tcase('faults > y', 'pending')])], [], 'interrupted');
    expect(formatSummary(s)).toBe('1 passed, 0 failed, 1 skipped\nrun interrupted: tests not run are counted as skipped\n');
  });

  it('puts the counts on a line of their own in the exact format CI reads', () => {
    const first = formatSummary(summarize([], [], 'passed')).split('\n')[0];
    expect(first).toMatch(/^\d+ passed, \d+ failed, \d+ skipped$/);
  });
});

describe('summary reporter: wall time per project', () => {
  const passed = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => tcase(`${prefix} ${i}`, 'passed'));
  const MIN = 60_000;

  it('formats a wall time as minutes and zero-padded whole seconds', () => {
    expect([0, 499, 500, 59_400, 59_600, 10 * MIN + 2_000, 75 * MIN].map(formatWall)).toEqual(['0m00s', '0m00s', '0m01s', '0m59s', '1m00s', '10m02s', '75m00s']);
  });

  it('puts one line per project, in the order they started, above the counts line', () => {
    const modules = [
      mod('tests/unit/a.test.ts', passed(3, 'a'), { project: 'unit' }),
      mod('tests/smoke/boot.test.ts', [...passed(2, 'boot'), tcase('boot > x', 'skipped')], { project: 'smoke' }),
      mod('tests/smoke/gateway.test.ts', [tcase('gw > y', 'failed')], { project: 'smoke' }),
      mod('tests/unit/b.test.ts', passed(2, 'b'), { project: 'unit' }),
    ];
    const spans = new Map<string, ProjectSpan>([
      ['smoke', { start: 20_000, end: 20_000 + 10 * MIN + 2_000 }],
      ['unit', { start: 1_000, end: 5_400 }],
    ]);
    expect(formatSummary(summarize(modules, [], 'failed', spans)).split('\n')).toEqual([
      'project unit: 0m04s (5 tests)',
      'project smoke: 10m02s (4 tests)',
      '7 passed, 1 failed, 1 skipped',
      'failed:',
      '  tests/smoke/gateway.test.ts > gw > y',
      ...next(),
      '',
    ]);
  });

  it('in a run cut short: a project that started and never ended is cut short, one that never started is not run', () => {
    const modules = [mod('tests/smoke/boot.test.ts', passed(1, 'boot'), { project: 'smoke' }), mod('tests/prove/quick.test.ts', [tcase('q', 'pending')], { project: 'prove' })];
    const spans = new Map<string, ProjectSpan>([['smoke', { start: 0 }]]);
    expect(formatSummary(summarize(modules, [], 'interrupted', spans)).split('\n').slice(0, 3)).toEqual([
      'project smoke: cut short (1 tests)',
      'project prove: not run (1 tests)',
      '1 passed, 0 failed, 1 skipped',
    ]);
  });

  describe('driven through the reporter hooks', () => {
    afterEach(() => vi.restoreAllMocks());

    it('times each project from its first module starting to its last one ending; the counts come after the project lines', async () => {
      let now = 0;
      const r = new SummaryReporter(undefined, () => now);
      const unitA = mod('tests/unit/a.test.ts', passed(2, 'a'), { project: 'unit' }) as unknown as TestModule;
      const unitB = mod('tests/unit/b.test.ts', passed(1, 'b'), { project: 'unit' }) as unknown as TestModule;
      const smoke = mod('tests/smoke/boot.test.ts', passed(4, 'boot'), { project: 'smoke' }) as unknown as TestModule;
      r.onTestRunStart();
      // unit's files side by side, B ends last; then smoke's one file.
      now = 1_000;
      r.onTestModuleStart(unitA);
      now = 1_200;
      r.onTestModuleStart(unitB);
      now = 2_000;
      r.onTestModuleEnd(unitA);
      now = 3_600;
      r.onTestModuleEnd(unitB);
      now = 65_000;
      r.onTestModuleStart(smoke);
      now = 65_000 + 10 * MIN + 2_400;
      r.onTestModuleEnd(smoke);
      const out: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out.push(String(chunk));
        return true;
      });
      await r.onTestRunEnd([unitA, unitB, smoke], [], 'passed');
      vi.restoreAllMocks();
      const lines = out.join('').split('\n');
      expect(lines).toEqual(['', 'project unit: 0m03s (3 tests)', 'project smoke: 10m02s (4 tests)', '7 passed, 0 failed, 0 skipped', '']);
      // CI's line is the last line printed.
      expect(lines.filter(Boolean).at(-1)).toMatch(/^\d+ passed, \d+ failed, \d+ skipped$/);
    });

    it('starts a fresh clock for each run (watch mode)', async () => {
      let now = 0;
      const r = new SummaryReporter(undefined, () => now);
      const m = mod('tests/unit/a.test.ts', passed(1, 'a'), { project: 'unit' }) as unknown as TestModule;
      r.onTestModuleStart(m);
      now = 100 * MIN;
      r.onTestModuleEnd(m);
      r.onTestRunStart();
      now = 100 * MIN + 1_000;
      r.onTestModuleStart(m);
      now += 7_000;
      r.onTestModuleEnd(m);
      const out: string[] = [];
      vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out.push(String(chunk));
        return true;
      });
      await r.onTestRunEnd([m], [], 'passed');
      vi.restoreAllMocks();
      expect(out.join('')).toBe('\nproject unit: 0m07s (1 tests)\n1 passed, 0 failed, 0 skipped\n');
    });
  });
});

describe('where a long run stands', () => {
  it("the projects in Vitest's order (groupOrder, then first seen), once each", () => {
    const specs = [
      { name: 'smoke', groupOrder: 1 },
      { name: 'unit', groupOrder: 0 },
      { name: 'matrix', groupOrder: 2 },
      { name: 'smoke', groupOrder: 1 },
      { name: 'unit', groupOrder: 0 },
    ];
    expect(suiteOrder(specs)).toEqual(['unit', 'smoke', 'matrix']);
  });

  it('"suite N of M: name (after ...)"; nothing for a run of one suite or a project not planned', () => {
    const order = ['unit', 'smoke', 'matrix'];
    expect(suiteLine(order, 'unit')).toBe('suite 1 of 3: unit');
    expect(suiteLine(order, 'matrix')).toBe('suite 3 of 3: matrix (after unit, smoke)');
    expect(suiteLine(['smoke'], 'smoke')).toBeUndefined();
    expect(suiteLine(order, 'bench')).toBeUndefined();
  });
});
