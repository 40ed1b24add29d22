#!/usr/bin/env node
/**
 * No import circle among the project's TypeScript modules (issue 26), type
 * imports included: a circle means two modules that cannot be read, tested
 * or moved apart. TypeScript's own scanner (ts.preProcessFile) lists each
 * file's imports and re-exports; relative ones are resolved to files here
 * (`./x.js` is `./x.ts`), packages are left out. The strongly connected
 * parts of that graph (Tarjan) are the circles; each is printed as a path.
 *
 * (madge does the same, but installing it moves shared packages in
 * node_modules, which changes what the services' bundles hold.)
 *
 * Usage: node scripts/lint-import-circles.mjs DIR...
 * Exits 1 listing the circles, 2 on bad input, 0 with one line when none.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { filesUnder } from './source-files.mjs';

/** Every .ts file under `dir` (node_modules and dot folders left out), sorted. */
export function tsFiles(dir) {
  return filesUnder(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
}

/** The project files `file` imports or re-exports from (relative specifiers only, resolved; unresolvable ones left out). */
export function importsOf(file, text) {
  const { importedFiles } = ts.preProcessFile(text, true, true);
  const out = new Set();
  for (const { fileName: spec } of importedFiles) {
    if (!spec.startsWith('.')) continue;
    const base = path.resolve(path.dirname(file), spec);
    const stem = base.replace(/\.(m?js|ts)$/, '');
    for (const c of [`${stem}.ts`, path.join(base, 'index.ts')]) {
      if (fs.existsSync(c) && fs.statSync(c).isFile()) {
        out.add(c);
        break;
      }
    }
  }
  return [...out];
}

/** The circles of a graph (node -> its edges): each strongly connected part with more than one node, or a node that imports itself, as its members and one path through them back to the start (pure). */
export function circles(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const parts = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const part = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        part.push(w);
      } while (w !== v);
      if (part.length > 1 || (graph.get(v) ?? []).includes(v)) parts.push(part);
    }
  };
  for (const v of [...graph.keys()].sort()) if (!idx.has(v)) visit(v);
  // One readable path per part: from its first node (sorted), along edges inside the part, back to it.
  return parts.map((part) => {
    const inPart = new Set(part);
    const start = [...part].sort()[0];
    const prev = new Map([[start, undefined]]);
    const queue = [start];
    while (queue.length) {
      const v = queue.shift();
      for (const w of graph.get(v) ?? []) {
        if (w === start) {
          const p = [];
          for (let x = v; x !== undefined; x = prev.get(x)) p.unshift(x);
          return { members: [...part].sort(), path: [...p, start] };
        }
        if (inPart.has(w) && !prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    return { members: [...part].sort(), path: [start, start] };
  });
}

function main(dirs) {
  if (dirs.length === 0) {
    console.error('lint-import-circles: name the folders to check (node scripts/lint-import-circles.mjs DIR...)');
    return 2;
  }
  const missing = dirs.filter((d) => !fs.existsSync(d) || !fs.statSync(d).isDirectory());
  if (missing.length) {
    console.error(`lint-import-circles: not a folder: ${missing.join(', ')}`);
    return 2;
  }
  const root = process.cwd();
  const graph = new Map();
  for (const f of dirs.flatMap(tsFiles)) graph.set(path.resolve(f), importsOf(path.resolve(f), fs.readFileSync(f, 'utf8')));
  const found = circles(graph);
  if (found.length === 0) {
    console.log(`lint-import-circles: no import circle among ${graph.size} modules`);
    return 0;
  }
  console.error(`lint-import-circles: ${found.length} import circle${found.length > 1 ? 's' : ''} (type imports count):`);
  const rel = (f) => path.relative(root, f);
  for (const c of found) console.error(`  ${c.path.map(rel).join(' > ')}${c.members.length > c.path.length - 1 ? ` (one of the circles among ${c.members.map(rel).join(', ')})` : ''}`);
  return 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) process.exit(main(process.argv.slice(2)));
