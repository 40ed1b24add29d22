/**
 * Host side: evaluates the Nix service definitions with Debian's
 * `nix-instantiate --eval --strict --json` (package nix-bin; pure Nix, no
 * nixpkgs, no daemon) and validates the JSON (src/schema.ts). Nix keeps
 * its state and store in a temp folder removed afterwards, and runs in
 * read-only mode, so an evaluation writes nothing anywhere else.
 *
 *   npx tsx services/deployer/nix.ts stacks/reference/deployer/services.nix   # prints the validated JSON
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServiceDef, validateServices } from './src/schema.js';

export class NixEvalError extends Error {
  override name = 'NixEvalError';
}

/** The JSON a Nix file (or, with `expr`, an expression) evaluates to. */
export async function evalNix(source: { file: string } | { expr: string }): Promise<unknown> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'deployer-nix-'));
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: tmp,
    NIX_STATE_DIR: path.join(tmp, 'state'),
    NIX_STORE_DIR: path.join(tmp, 'store'),
    NIX_LOG_DIR: path.join(tmp, 'log'),
    NIX_CONF_DIR: path.join(tmp, 'conf'),
  };
  const args = ['--option', 'build-users-group', '', '--readonly-mode', '--eval', '--strict', '--json', ...('file' in source ? [source.file] : ['--expr', source.expr])];
  try {
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile('nix-instantiate', args, { env, timeout: 60_000, maxBuffer: 16 << 20 }, (err, out, stderr) => {
        if (!err) return resolve(out);
        const e = err as NodeJS.ErrnoException;
        if (e.code === 'ENOENT') return reject(new NixEvalError('nix-instantiate not found: install Debian package nix-bin (scripts/install-deps.sh does)'));
        const what = 'file' in source ? source.file : 'expression';
        reject(new NixEvalError(`nix-instantiate ${what}: ${stderr.trim().split('\n').filter((l) => !/^warning:/.test(l)).join('\n') || e.message}`));
      });
    });
    return JSON.parse(stdout);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** The validated definitions of a services.nix (DefinitionError names service and field). */
export async function loadServices(file: string): Promise<ServiceDef[]> {
  return validateServices(await evalNix({ file }));
}

const invokedDirectly = process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (invokedDirectly) {
  loadServices(process.argv[2] ?? 'stacks/reference/deployer/services.nix').then(
    (defs) => process.stdout.write(`${JSON.stringify(Object.fromEntries(defs.map(({ name, ...d }) => [name, d])), null, 2)}\n`),
    (e: Error) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(e.name === 'DefinitionError' ? 2 : 1);
    },
  );
}
