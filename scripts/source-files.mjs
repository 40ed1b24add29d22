/**
 * The files under a folder, for the lint scripts (lint-swallow.mjs,
 * lint-import-circles.mjs): every plain file, node_modules and dot folders
 * left out, sorted.
 */
import fs from 'node:fs';
import path from 'node:path';

export function filesUnder(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}
