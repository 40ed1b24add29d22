/**
 * The hash of named functions, classes and methods of TypeScript files,
 * comments and layout left out (each declaration as the parser's tokens,
 * one space apart): what SNAPSHOT_FORMAT_CODE is held to.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

/** A node's tokens as the parser read them (string, regex and template text whole; comments and JSDoc left out), one space apart. */
function tokens(node: ts.Node, sf: ts.SourceFile, out: string[] = []): string[] {
  if (node.kind >= ts.SyntaxKind.FirstJSDocNode && node.kind <= ts.SyntaxKind.LastJSDocNode) return out;
  const children = node.getChildren(sf);
  if (children.length === 0) {
    const t = node.getText(sf);
    if (t) out.push(t);
  } else for (const c of children) tokens(c, sf, out);
  return out;
}

/** Each name's declaration as its tokens; throws naming what is not found. */
export function printedDeclarations(file: string, names: string[]): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const top = new Map<string, ts.Node>();
  for (const st of sf.statements) {
    if ((ts.isClassDeclaration(st) || ts.isFunctionDeclaration(st)) && st.name) top.set(st.name.text, st);
  }
  return names.map((name) => {
    const [owner, member] = name.split('.');
    const decl = top.get(owner);
    if (!decl) throw new Error(`${path.basename(file)}: no class or function '${owner}'`);
    let node: ts.Node = decl;
    if (member) {
      if (!ts.isClassDeclaration(decl)) throw new Error(`${path.basename(file)}: '${owner}' is not a class`);
      const m = decl.members.find((x) => x.name && ts.isIdentifier(x.name) && x.name.text === member);
      if (!m) throw new Error(`${path.basename(file)}: class ${owner} has no member '${member}'`);
      node = m;
    }
    return tokens(node, sf).join(' ');
  });
}

/** sha256 (16 hex digits) over the named declarations' tokens, in the order given (not their names or files: code moved whole keeps its hash). */
export function codeHash(root: string, spec: Record<string, string[]>): string {
  const h = crypto.createHash('sha256');
  for (const [file, names] of Object.entries(spec)) {
    for (const d of printedDeclarations(path.join(root, file), names)) h.update(`${d}\n`);
  }
  return h.digest('hex').slice(0, 16);
}
