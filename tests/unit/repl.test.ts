/**
 * `cluster repl` driven through streams: the nodes, `cluster` and `ops` are
 * there under their names, top-level await works, `.help` lists each
 * node's verbs and each role's ops from the objects themselves, and the
 * history goes to the file asked for.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runRepl, variableName } from '../../cli/repl.js';
import type { Node } from '../../harness/remote/node.js';

class FakeNode {
  constructor(readonly name: string) {}
  async succeed(command: string): Promise<string> {
    return command === 'hostname' ? `${this.name}\n` : '';
  }
  consoleTail(): string {
    return `console of ${this.name}`;
  }
}

async function session(lines: string[], historyFile?: string, terminal = false): Promise<string> {
  const input = new PassThrough();
  const output = new PassThrough();
  let out = '';
  output.on('data', (d: Buffer) => (out += d.toString()));
  const nodes = { node01: new FakeNode('node01'), 'storage-node02': new FakeNode('storage-node02') } as unknown as Record<string, Node>;
  const ops = { flaredb: { sentinelPrimary: async (n: FakeNode) => (n.name === 'node01' ? 'node02' : undefined), timing: { convergeS: 1 } } };
  const done = runRepl({ cluster: { stateDir: '/nonexistent' }, ops, nodes }, { input, output, historyFile, terminal });
  for (const l of lines) {
    input.write(`${l}\n`);
    // Each line is answered before the next (an await resolves within the REPL's own tick).
    await new Promise((r) => setTimeout(r, 50));
  }
  input.end();
  await done;
  return out;
}

describe('cluster repl', () => {
  it('names a node as a variable (dashes to underscores)', () => {
    expect(variableName('node01')).toBe('node01');
    expect(variableName('storage-node02')).toBe('storage_node02');
  });

  it('runs the verbs with top-level await, on the nodes and the ops', async () => {
    const out = await session(["await node01.succeed('hostname')", 'await ops.flaredb.sentinelPrimary(node01)', 'storage_node02.consoleTail()', '.exit']);
    expect(out).toContain("'node01\\n'");
    expect(out).toContain("'node02'");
    expect(out).toContain("'console of storage-node02'");
  });

  it('.help lists the nodes, their verbs and each role\'s ops', async () => {
    const out = await session(['.help', '.exit']);
    expect(out).toContain('nodes: node01, storage-node02');
    expect(out).toContain('consoleTail, succeed');
    expect(out).toContain('ops.flaredb: sentinelPrimary');
  });

  it('keeps the history in the file it is given', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-repl-'));
    try {
      const file = path.join(dir, 'state', 'repl_history');
      // readline keeps a history only on a terminal (as `cluster repl` on a TTY).
      await session(["await node01.succeed('hostname')", '.exit'], file, true);
      expect(fs.readFileSync(file, 'utf8')).toContain("await node01.succeed('hostname')");
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
