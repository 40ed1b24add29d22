/**
 * The import-circle check in `make lint` (scripts/lint-import-circles.mjs):
 * circles found in a graph, none where there are none, and imports read
 * from TypeScript text, type-only imports and re-exports included.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script, no declarations
import { circles, importsOf } from '../../scripts/lint-import-circles.mjs';

const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));

describe('import circles', () => {
  it('finds a circle through three modules, with its members and a path back to the start', () => {
    const found = circles(graph({ a: ['b'], b: ['c'], c: ['a'], d: ['a'] }));
    expect(found).toEqual([{ members: ['a', 'b', 'c'], path: ['a', 'b', 'c', 'a'] }]);
  });

  it('finds two separate circles and a module that imports itself; a graph without one has none', () => {
    const found = circles(graph({ a: ['b'], b: ['a'], c: ['d'], d: ['c', 'e'], e: ['e'] }));
    const paths = found.map((c: { path: string[] }) => c.path);
    expect(paths).toHaveLength(3);
    expect(paths).toEqual(expect.arrayContaining([['a', 'b', 'a'], ['c', 'd', 'c'], ['e', 'e']]));
    expect(circles(graph({ a: ['b', 'c'], b: ['c'], c: [] }))).toEqual([]);
  });

  it('reads imports, type imports and re-exports from the text and resolves .js to the .ts beside it; packages are left out', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'circles-'));
    try {
      for (const f of ['a.ts', 'b.ts', 'c.ts', 'sub/index.ts']) {
        fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        fs.writeFileSync(path.join(dir, f), '');
      }
      const text = "import type { B } from './b.js';\nexport { c } from './c.js';\nimport x from './sub';\nimport fs from 'node:fs';\nimport { y } from 'vitest';\n";
      expect(importsOf(path.join(dir, 'a.ts'), text).map((f: string) => path.relative(dir, f)).sort()).toEqual(['b.ts', 'c.ts', path.join('sub', 'index.ts')]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
