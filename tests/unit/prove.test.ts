import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../harness/config.js';
import { type ProveRow, type VitestJson, judge, proveSummary, selectRows, tableProblems, vitestArgs } from '../../harness/prove.js';
import { proveTable } from '../prove-table.js';

const noop = async () => {};
const row = (over: Partial<ProveRow> = {}): ProveRow => ({
  id: 'chainfire-etcd-stopped',
  owner: 'chainfire',
  suite: 'smoke',
  file: 'tests/smoke/protocols.test.ts',
  checks: ['chainfire > on node02 > units are active'],
  fault: 'etcd.service stopped on node02',
  names: /etcd\.service/,
  apply: noop,
  restore: noop,
  ...over,
});

const report = (tests: { name: string; status: string; failure?: string }[]): VitestJson => ({
  testResults: [
    {
      name: '/x/tests/smoke/protocols.test.ts',
      status: 'failed',
      assertionResults: tests.map((t) => {
        const parts = t.name.split(' > ');
        return { ancestorTitles: parts.slice(0, -1), title: parts.at(-1)!, status: t.status, failureMessages: t.failure ? [t.failure] : [] };
      }),
    },
  ],
});

describe('judge', () => {
  it('caught: every named check failed with a message naming the fault', () => {
    const v = judge(row(), report([{ name: 'chainfire > on node02 > units are active', status: 'failed', failure: "AssertionError: chainfire on node02: inactive units: expected [ 'etcd.service' ] to deeply equal []" }]));
    expect(v.verdict).toBe('caught');
  });

  it('missed: the check passed under the fault', () => {
    const v = judge(row(), report([{ name: 'chainfire > on node02 > units are active', status: 'passed' }]));
    expect(v).toMatchObject({ verdict: 'missed', why: expect.stringContaining('passed under the fault') });
  });

  it('missed: the check failed for another reason (its message does not name the fault)', () => {
    const v = judge(row(), report([{ name: 'chainfire > on node02 > units are active', status: 'failed', failure: 'Error: ssh: connect timed out' }]));
    expect(v).toMatchObject({ verdict: 'missed', why: expect.stringContaining('not naming the fault') });
  });

  it("missed: a stack frame naming the role's file is not the message naming the fault", () => {
    const failure = 'CommandError: node06: command failed (exit 7): curl http://127.0.0.1:8085/healthz\n    at Object.run (/work/main/stacks/reference/creditservice/index.ts:50:9)';
    const v = judge(row({ names: /creditservice/ }), report([{ name: 'chainfire > on node02 > units are active', status: 'failed', failure }]));
    expect(v.verdict).toBe('missed');
    expect(judge(row({ names: /8085/ }), report([{ name: 'chainfire > on node02 > units are active', status: 'failed', failure }])).verdict).toBe('caught');
  });

  it('missed: a skipped check (a scenario stopped before it) is no catch', () => {
    const v = judge(row(), report([{ name: 'chainfire > on node02 > units are active', status: 'skipped' }]));
    expect(v.verdict).toBe('missed');
  });

  it('missed: a named check that no test matches (renamed) says so', () => {
    const v = judge(row(), report([{ name: 'chainfire > on node02 > something else', status: 'failed', failure: 'etcd.service' }]));
    expect(v).toMatchObject({ verdict: 'missed', why: expect.stringContaining('no test of that name ran') });
  });

  it('missed when one of two named checks stays green', () => {
    const r = row({ checks: ['a > b', 'a > c'] });
    const v = judge(r, report([{ name: 'a > b', status: 'failed', failure: 'etcd.service down' }, { name: 'a > c', status: 'passed' }]));
    expect(v.verdict).toBe('missed');
  });
});

describe('vitestArgs', () => {
  it('independent checks: exactly the named tests, anchored', () => {
    const args = vitestArgs(row(), '/tmp/r.json');
    expect(args.slice(0, 6)).toEqual(['tests/smoke/protocols.test.ts', '--project', 'smoke', '--reporter', 'json', '--outputFile']);
    const pattern = new RegExp(args[args.indexOf('--testNamePattern') + 1]);
    expect(pattern.test('chainfire on node02 units are active')).toBe(true);
    expect(pattern.test('chainfire on node02 units are active too')).toBe(false);
  });

  it('a scenario runs whole and stops at its first failure', () => {
    const args = vitestArgs(row({ scenario: true, suite: 'matrix', file: 'tests/matrix/gateway-flows.test.ts' }), '/tmp/r.json');
    expect(args).toContain('--bail');
    expect(args).not.toContain('--testNamePattern');
  });
});

describe('selectRows and tableProblems', () => {
  const rows = [row(), row({ id: 'b', suite: 'matrix', file: 'tests/matrix/x.test.ts', quick: true })];
  it('selects by suite, id and quick; an unknown name is an error', () => {
    expect(selectRows(rows, { suite: 'matrix' }).map((r) => r.id)).toEqual(['b']);
    expect(selectRows(rows, { quick: true }).map((r) => r.id)).toEqual(['b']);
    expect(selectRows(rows, { only: ['chainfire-etcd-stopped'] })).toHaveLength(1);
    expect(() => selectRows(rows, { only: ['nope'] })).toThrow(/no row 'nope'/);
    expect(() => selectRows(rows, { suite: 'nope' })).toThrow(/no row of suite/);
  });
  it('finds duplicate ids, rows without checks, a file of another suite, a pattern matching anything', () => {
    const bad = [row(), row(), row({ id: 'x', checks: [] }), row({ id: 'y', file: 'tests/matrix/a.test.ts' }), row({ id: 'z', names: /.*/ })];
    expect(tableProblems(bad)).toEqual([
      'chainfire-etcd-stopped: the id is used twice',
      'x: names no check',
      'y: tests/matrix/a.test.ts is not a file of the smoke suite',
      'z: its message pattern /.*/ matches any message',
    ]);
  });
});

describe('the reference table', () => {
  const table = proveTable('reference');
  it('is sound, every file exists, and it covers every role of the smoke layers', () => {
    expect(tableProblems(table)).toEqual([]);
    for (const r of table) expect(fs.existsSync(path.join(PROJECT_ROOT, r.file)), `${r.id}: ${r.file}`).toBe(true);
    const roles = fs.readdirSync(path.join(PROJECT_ROOT, 'stacks/reference'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(roles.filter((role) => !table.some((r) => r.owner === role))).toEqual([]);
  });
  it('has a quick subset for make test', () => {
    expect(table.filter((r) => r.quick).length).toBeGreaterThan(0);
  });
  it('another stack has no table yet: one clear error', () => {
    expect(() => proveTable('ultracloud')).toThrow(/written for the reference stack/);
  });
});

describe('proveSummary', () => {
  it('counts caught and missed', () => {
    const s = proveSummary([
      { row: row(), verdict: { verdict: 'caught', checks: [], why: 'x' }, seconds: 10 },
      { row: row({ id: 'b' }), verdict: { verdict: 'missed', checks: [], why: '"c" passed under the fault' }, seconds: 5 },
    ]);
    expect(s.line).toBe('prove: 2 rows, 1 caught, 1 missed in 15 s');
    expect(s.missed).toBe(1);
    expect(s.table).toContain('**missed**');
  });
});
