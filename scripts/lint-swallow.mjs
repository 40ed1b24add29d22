#!/usr/bin/env node
/**
 * make lint: no error swallowing in test bodies and the getters they assert
 * on. A check that turns "the request failed" into `[]`, `false` or nothing
 * passes on exactly the fault it should catch.
 *
 * Finds, with the TypeScript parser (so strings and comments never match):
 *   - `.catch(() => [])`, `.catch(() => false)`, `.catch(() => undefined)`,
 *     `.catch(() => null)`, `.catch(() => '')`, `.catch(() => {})` (a
 *     parameter makes no difference: `.catch((e) => [])` swallows as well);
 *   - an empty `catch {}` / `catch (e) {}` block (comments are no statement).
 *
 * In: tests/** (but tests/unit/**), bench/**, fixtures/**, stacks/** (.ts files).
 * Allowed only
 *   (a) inside a function whose name ends in `ForCleanup`, or inside an
 *       `afterAll` / `afterEach` callback: cleanup must not fail the run;
 *   (b) on a line, or below a line, with `// swallow-ok: <reason>`, where a
 *       failure is itself the measured outcome (a poller that counts a
 *       failed request as downtime).
 *
 * Usage: node scripts/lint-swallow.mjs [--root DIR] [FILE|DIR ...]
 * (default: the scope above under the repository root). Prints
 * `file:line: <pattern> swallows errors; ...` per finding, exits 1 on any.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { filesUnder } from './source-files.mjs';

const SCOPE = ['tests', 'bench', 'fixtures', 'stacks'];
const EXCLUDED = ['tests/unit'];
const CLEANUP_HOOKS = new Set(['afterAll', 'afterEach']);
const SWALLOW_OK = /\/\/\s*swallow-ok:\s*\S/;
const SWALLOW_OK_BARE = /\/\/\s*swallow-ok\b(?!:\s*\S)/;
const ADVICE =
  'make it throw an error naming what failed (a NodeError with lastSeen where there is a node), ' +
  'name a cleanup-only helper ...ForCleanup (used in afterAll/afterEach only), ' +
  'or mark a failure that is itself the measured outcome with `// swallow-ok: <reason>`';

/** The value an arrow function or function expression gives back, when it is a constant that hides the error. */
function swallowedValue(fn) {
  if (!ts.isArrowFunction(fn) && !ts.isFunctionExpression(fn)) return null;
  const body = fn.body;
  if (ts.isBlock(body)) {
    if (body.statements.length === 0) return '{}';
    if (body.statements.length === 1 && ts.isReturnStatement(body.statements[0])) {
      const e = body.statements[0].expression;
      return e === undefined ? '{ return; }' : constant(e);
    }
    return null;
  }
  return constant(body);
}

function constant(e) {
  while (ts.isParenthesizedExpression(e) || ts.isAsExpression(e) || ts.isSatisfiesExpression?.(e)) e = e.expression;
  if (ts.isArrayLiteralExpression(e) && e.elements.length === 0) return '[]';
  if (ts.isObjectLiteralExpression(e) && e.properties.length === 0) return '({})';
  if (e.kind === ts.SyntaxKind.FalseKeyword) return 'false';
  if (e.kind === ts.SyntaxKind.NullKeyword) return 'null';
  if (ts.isIdentifier(e) && e.text === 'undefined') return 'undefined';
  if (ts.isVoidExpression(e)) return 'void';
  if ((ts.isStringLiteral(e) || ts.isNoSubstitutionTemplateLiteral(e)) && e.text === '') return "''";
  return null;
}

/** The name a function node goes by: its own, or the variable, property or method it is assigned to. */
function functionName(fn) {
  if ((ts.isFunctionDeclaration(fn) || ts.isMethodDeclaration(fn) || ts.isFunctionExpression(fn) || ts.isGetAccessor(fn)) && fn.name) {
    return fn.name.getText();
  }
  const p = fn.parent;
  if (p && (ts.isVariableDeclaration(p) || ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p)) && p.initializer === fn) {
    return p.name.getText();
  }
  return undefined;
}

const isFunctionLike = (n) =>
  ts.isFunctionDeclaration(n) || ts.isMethodDeclaration(n) || ts.isFunctionExpression(n) || ts.isArrowFunction(n) || ts.isGetAccessor(n);

/** Why `node` may swallow (a), or undefined. */
function cleanupContext(node) {
  for (let n = node.parent; n; n = n.parent) {
    if (!isFunctionLike(n)) continue;
    const name = functionName(n);
    if (name?.endsWith('ForCleanup')) return name;
    const call = n.parent;
    if (call && ts.isCallExpression(call) && call.arguments.includes(n)) {
      const callee = ts.isPropertyAccessExpression(call.expression) ? call.expression.name.text : call.expression.getText();
      if (CLEANUP_HOOKS.has(callee)) return callee;
    }
  }
  return undefined;
}

export function lintSource(fileName, text) {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, fileName.endsWith('x') ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
  const lines = text.split('\n');
  const findings = [];
  const report = (node, at, pattern) => {
    const line = sf.getLineAndCharacterOfPosition(at).line;
    if (cleanupContext(node)) return;
    const here = lines[line] ?? '';
    const above = line > 0 ? lines[line - 1] : '';
    if (SWALLOW_OK.test(here) || SWALLOW_OK.test(above)) return;
    const bare = SWALLOW_OK_BARE.test(here) || SWALLOW_OK_BARE.test(above) ? ' (`// swallow-ok:` needs a reason)' : '';
    findings.push({ file: fileName, line: line + 1, pattern, message: `${pattern} swallows errors${bare}; ${ADVICE}` });
  };
  const visit = (node) => {
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression) && node.expression.name.text === 'catch' && node.arguments.length === 1) {
      const value = swallowedValue(node.arguments[0]);
      if (value !== null) report(node, node.expression.name.getStart(sf), `.catch(() => ${value})`);
    }
    if (ts.isCatchClause(node) && node.block.statements.length === 0) {
      report(node, node.getStart(sf), node.variableDeclaration ? `catch (${node.variableDeclaration.name.getText(sf)}) {}` : 'catch {}');
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return findings;
}

/** Whether `rel` (a path relative to the root, with /) is in the lint's scope. */
export function inScope(rel) {
  if (!/\.(c|m)?tsx?$/.test(rel) || rel.endsWith('.d.ts')) return false;
  if (!SCOPE.some((d) => rel.startsWith(`${d}/`))) return false;
  return !EXCLUDED.some((d) => rel.startsWith(`${d}/`));
}

export function lintTree(root, targets = SCOPE) {
  const files = [];
  for (const t of targets) {
    const abs = path.resolve(root, t);
    if (!fs.existsSync(abs)) continue;
    if (fs.statSync(abs).isDirectory()) files.push(...filesUnder(abs));
    else files.push(abs);
  }
  const findings = [];
  for (const abs of files.sort()) {
    const rel = path.relative(root, abs).split(path.sep).join('/');
    if (!inScope(rel)) continue;
    findings.push(...lintSource(rel, fs.readFileSync(abs, 'utf8')));
  }
  return findings;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const i = args.indexOf('--root');
  if (i >= 0) {
    root = path.resolve(args[i + 1]);
    args.splice(i, 2);
  }
  const findings = lintTree(root, args.length > 0 ? args : SCOPE);
  for (const f of findings) console.log(`${f.file}:${f.line}: ${f.message}`);
  if (findings.length > 0) {
    console.error(`lint-swallow: ${findings.length} finding(s)`);
    process.exit(1);
  }
  console.error('lint-swallow: no error swallowing in tests, bench, fixtures or stacks');
}
