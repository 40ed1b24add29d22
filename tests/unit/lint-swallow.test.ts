/**
 * scripts/lint-swallow.mjs (in `make lint`) on small trees in a temp dir:
 * each swallowing pattern is caught with its line, each allowance (a
 * ...ForCleanup function, an afterAll/afterEach callback, `// swallow-ok:
 * <reason>`) is honoured, look-alikes in strings and comments are not
 * findings, and the scope is tests (not tests/unit), bench, fixtures and stacks.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const SCRIPT = path.resolve(import.meta.dirname, '../../scripts/lint-swallow.mjs');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Writes `files` (path -> source) under a fresh root and runs the lint there. */
function lint(files: Record<string, string>): { code: number | null; findings: string[]; stderr: string } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-lint-swallow-'));
  dirs.push(root);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  const r = spawnSync(process.execPath, [SCRIPT, '--root', root], { encoding: 'utf8' });
  return { code: r.status, findings: r.stdout.split('\n').filter(Boolean), stderr: r.stderr };
}

/** `file:line: pattern` of each finding, without the advice. */
const short = (findings: string[]) => findings.map((f) => f.replace(/ swallows errors.*$/, ''));

// Each case starts node and loads the TypeScript compiler (about 2 s on a busy host).
describe('lint-swallow', { timeout: 60_000 }, () => {
  it('catches each pattern, with its file and line, and exits 1', () => {
    const r = lint({
      'tests/smoke/a.test.ts': [
        "it('x', async () => {", // 1
        '  await f().catch(() => []);', // 2
        '  await f().catch(() => false);', // 3
        '  await f().catch(() => undefined);', // 4
        '  await f().catch(() => {});', // 5
        '  await f().catch(() => null);', // 6
        "  await f().catch(() => '');", // 7
        '  try { g(); } catch {}', // 8
        '  try { g(); } catch (e) {}', // 9
        '  try {', // 10
        '    g();', // 11
        '  } catch {', // 12
        '    // nothing: a comment is no statement', // 13
        '  }', // 14
        '  await f().catch((_e) => ([]));', // 15
        '  await f().catch(function () { return false; });', // 16
        '  const v = await f()', // 17
        '    .catch(() => undefined);', // 18
        '});', // 19
        '',
      ].join('\n'),
    });
    expect(short(r.findings)).toEqual([
      'tests/smoke/a.test.ts:2: .catch(() => [])',
      'tests/smoke/a.test.ts:3: .catch(() => false)',
      'tests/smoke/a.test.ts:4: .catch(() => undefined)',
      'tests/smoke/a.test.ts:5: .catch(() => {})',
      'tests/smoke/a.test.ts:6: .catch(() => null)',
      "tests/smoke/a.test.ts:7: .catch(() => '')",
      'tests/smoke/a.test.ts:8: catch {}',
      'tests/smoke/a.test.ts:9: catch (e) {}',
      'tests/smoke/a.test.ts:12: catch {}',
      'tests/smoke/a.test.ts:15: .catch(() => [])',
      'tests/smoke/a.test.ts:16: .catch(() => false)',
      'tests/smoke/a.test.ts:18: .catch(() => undefined)',
    ]);
    expect(r.findings[0]).toMatch(/swallows errors; .*NodeError.*ForCleanup.*swallow-ok: <reason>/);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('12 finding(s)');
  });

  it('lets errors through that are handled, rethrown or turned into a value that says what happened', () => {
    const r = lint({
      'fixtures/ok.ts': [
        "const s = 'x.catch(() => []) and catch {}';",
        '// f().catch(() => false) in a comment',
        'export async function a() {',
        '  await f().catch((e: Error) => { throw new Error(`a: ${e.message}`); });',
        '  const j = await f().catch((e: Error) => `(journal unreadable: ${e.message})`);',
        '  try { g(); } catch (e) { log(e); }',
        '  try { g(); } finally { h(); }',
        '  return j;',
        '}',
        '',
      ].join('\n'),
    });
    expect(r.findings).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('allows swallowing in ...ForCleanup functions and in afterAll/afterEach callbacks', () => {
    const r = lint({
      'stacks/reference/role/index.ts': [
        'export async function volumesOrEmptyForCleanup(n: N) {',
        '  return n.volumes().catch(() => []);',
        '}',
        'export const ops = {',
        '  async removeForCleanup(n: N) { try { await n.rm(); } catch {} },',
        '  dropForCleanup: async (n: N) => { await n.drop().catch(() => undefined); },',
        '};',
        'const stopForCleanup = async () => { await Promise.all([1].map(async () => { await f().catch(() => null); })); };',
        'class C { async tidyForCleanup() { await f().catch(() => {}); } }',
        '',
      ].join('\n'),
      'tests/matrix/b.test.ts': [
        'afterAll(async () => {',
        '  await f().catch(() => undefined);',
        '});',
        'afterEach(async () => { try { await g(); } catch {} });',
        '',
      ].join('\n'),
    });
    expect(r.findings).toEqual([]);
    expect(r.code).toBe(0);
  });

  it('still catches them in look-alikes: other hooks, names that only contain "cleanup", a test inside a cleanup name', () => {
    const r = lint({
      'tests/matrix/c.test.ts': [
        'beforeAll(async () => { await f().catch(() => undefined); });', // 1
        'async function cleanup() { await f().catch(() => []); }', // 2
        'async function cleanupVolumes() { await f().catch(() => []); }', // 3
        "it('afterAll', async () => { await f().catch(() => false); });", // 4
        '',
      ].join('\n'),
    });
    expect(short(r.findings)).toEqual([
      'tests/matrix/c.test.ts:1: .catch(() => undefined)',
      'tests/matrix/c.test.ts:2: .catch(() => [])',
      'tests/matrix/c.test.ts:3: .catch(() => [])',
      'tests/matrix/c.test.ts:4: .catch(() => false)',
    ]);
  });

  it('honours `// swallow-ok: <reason>` on the line or the line above, and only with a reason', () => {
    const r = lint({
      'tests/scheduling/d.test.ts': [
        "it('counts downtime', async () => {", // 1
        '  const up = await get().catch(() => false); // swallow-ok: a failed request is downtime, the measured outcome', // 2
        '  // swallow-ok: a refused connection counts as down', // 3
        '  const up2 = await get().catch(() => false);', // 4
        '  // swallow-ok:', // 5
        '  const up3 = await get().catch(() => false);', // 6
        '  // swallow-ok: only the next line', // 7
        '  const a = 1;', // 8
        '  const up4 = await get().catch(() => false);', // 9
        '});', // 10
        '',
      ].join('\n'),
    });
    expect(short(r.findings)).toEqual(['tests/scheduling/d.test.ts:6: .catch(() => false)', 'tests/scheduling/d.test.ts:9: .catch(() => false)']);
    expect(r.findings[0]).toContain('(`// swallow-ok:` needs a reason)');
    expect(r.code).toBe(1);
  });

  it('looks at tests (but not tests/unit), bench, fixtures and stacks only', () => {
    const swallow = 'export const x = () => f().catch(() => []);\n';
    const r = lint({
      'tests/health.ts': swallow,
      'tests/unit/e.test.ts': swallow,
      'bench/b.ts': swallow,
      'fixtures/f.ts': swallow,
      'stacks/ultracloud/g.ts': swallow,
      'harness/h.ts': swallow,
      'cli/i.ts': swallow,
      'tests/notes.md': swallow,
    });
    expect(short(r.findings)).toEqual(['bench/b.ts:1: .catch(() => [])', 'fixtures/f.ts:1: .catch(() => [])', 'stacks/ultracloud/g.ts:1: .catch(() => [])', 'tests/health.ts:1: .catch(() => [])']);
  });
});
