import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SNAPSHOT_CODE, SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_CODE } from '../../harness/snapshot.js';
import { codeHash, printedDeclarations } from './helpers/code-hash.js';

const root = path.resolve(import.meta.dirname, '../..');

describe('snapshot format (SNAPSHOT_FORMAT)', () => {
  it('the capture and restore code is the code SNAPSHOT_FORMAT was set for', () => {
    const now = codeHash(root, SNAPSHOT_CODE);
    expect(
      now,
      `the code that takes or restores warm snapshots changed (SNAPSHOT_CODE in harness/snapshot.ts): old snapshots may not load the same way. ` +
        `Bump SNAPSHOT_FORMAT (now ${SNAPSHOT_FORMAT}) and set SNAPSHOT_FORMAT_CODE = '${now}' there (every cached snapshot is then refused once: one cold boot).`,
    ).toBe(SNAPSHOT_FORMAT_CODE);
  });

  it('a comment or blank line does not change the hash; a changed statement does', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-codehash-'));
    try {
      const write = (text: string) => fs.writeFileSync(path.join(dir, 'm.ts'), text);
      const spec = { 'm.ts': ['A.run', 'helper'] };
      write('export class A {\n  run(): number {\n    return helper() + 1;\n  }\n}\nfunction helper() { return 2; }\n');
      const base = codeHash(dir, spec);
      write('/** A thing. */\nexport class A {\n  // why: one more\n  run(): number {\n\n    return helper() + 1; // the sum\n  }\n}\nfunction helper() {\n  return 2;\n}\n');
      expect(codeHash(dir, spec)).toBe(base);
      write('export class A {\n  run(): number {\n    return helper() + 2;\n  }\n}\nfunction helper() { return 2; }\n');
      expect(codeHash(dir, spec)).not.toBe(base);
      expect(() => printedDeclarations(path.join(dir, 'm.ts'), ['A.gone'])).toThrow("class A has no member 'gone'");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
