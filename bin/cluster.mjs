#!/usr/bin/env node
// `npx cluster <command>`: runs cli/main.ts with this project's own tsx,
// wherever it is invoked from (the project is found from this file's real
// path, so a symlink in node_modules/.bin or the npx cache works too).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { register } from 'tsx/esm/api';

const root = path.resolve(path.dirname(fs.realpathSync(fileURLToPath(import.meta.url))), '..');
register();
const { runProgram } = await import(pathToFileURL(path.join(root, 'cli', 'main.ts')).href);
void runProgram(process.argv.slice(2));
