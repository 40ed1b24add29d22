import { describe, expect, it } from 'vitest';
import { type CaseLike, type ModuleLike, formatSummary, summarize } from '../reporters/summary.js';

const tcase = (fullName: string, state: ReturnType<CaseLike['result']>['state']): CaseLike => ({ fullName, result: () => ({ state }) });
const mod = (relativeModuleId: string, tests: CaseLike[], opts: { errors?: string[]; suites?: { fullName: string; errors: string[] }[] } = {}): ModuleLike => ({
  relativeModuleId,
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
        '',
      ].join('\n'),
    );
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
