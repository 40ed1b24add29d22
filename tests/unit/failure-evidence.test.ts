/**
 * What a failed cluster test attaches (fixtures/failure-evidence.ts): the
 * node its NodeError names (else every node), that node's console written
 * during the test only, its journal since the test began and its failed
 * units, and the error's expected / last seen; a node that is down gives
 * its console and says why there is no journal; a fetch that fails is
 * named, never thrown.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeError } from '../../harness/errors.js';
import type { ExecResult } from '../../harness/remote/ssh.js';
import type { Node } from '../../harness/remote/node.js';
import { type EvidenceNode, consoleMarks, failureEvidence, nodesOfFailure } from '../../fixtures/failure-evidence.js';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-evidence-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function fakeNode(answers: Record<string, ExecResult | Error>, asked: string[], failed: string[] | Error = []): Node {
  return {
    failedUnits: async () => {
      if (failed instanceof Error) throw failed;
      return failed;
    },
    execute: async (command: string): Promise<ExecResult> => {
      asked.push(command);
      const key = Object.keys(answers).find((k) => command.startsWith(k));
      const a = key ? answers[key] : { stdout: '', stderr: 'no such command', code: 127, timedOut: false };
      if (a instanceof Error) throw a;
      return a;
    },
  } as unknown as Node;
}

const ok = (stdout: string): ExecResult => ({ stdout, stderr: '', code: 0, timedOut: false });

describe('failure evidence', () => {
  it('is about the nodes the NodeErrors name (as Vitest keeps them: fields, not the class), else every node', () => {
    const all = ['node01', 'node02', 'node03'];
    expect(nodesOfFailure([new NodeError('node02', 'x')], all)).toEqual(['node02']);
    expect(nodesOfFailure([{ name: 'WaitTimeoutError', message: 'm', node: 'node03' }], all)).toEqual(['node03']);
    expect(nodesOfFailure([new Error('expected 1 to be 2')], all)).toEqual(all);
    expect(nodesOfFailure([{ node: 'host' }], all)).toEqual(all);
  });

  it("attaches the named node's console written during the test, its journal since then, its failed units and the error's expected / last seen", async () => {
    const log = path.join(dir, 'node02.log');
    fs.writeFileSync(log, 'before the test\n');
    const nodes: EvidenceNode[] = [
      { name: 'node01', logFile: path.join(dir, 'node01.log'), node: fakeNode({}, []) },
      { name: 'node02', logFile: log, node: undefined },
    ];
    const asked: string[] = [];
    nodes[1].node = fakeNode(
      {
        journalctl: ok('Dec 06 etcd[302]: lost leader\n'),
      },
      asked,
      ['etcd.service'],
    );
    const marks = consoleMarks(nodes);
    fs.appendFileSync(log, '\x1b[1mduring the test\x1b[0m\r\n');
    const started = Date.UTC(2026, 11, 6, 12, 0, 0);
    const err = new NodeError('node02', 'etcd did not answer', { expected: 'a leader', lastSeen: 'no leader' });
    const a = await failureEvidence([err], nodes, marks, started);
    expect(a.map((x) => [x.type, x.message])).toEqual([
      ['expected / last seen', 'node02: expected a leader; last seen no leader'],
      ['console', 'node02: console during the test'],
      ['journal', 'node02: journal since the test began (last 300 lines)'],
      ['failed units', 'node02: failed units: etcd.service'],
    ]);
    expect(a[1].attachment?.body).toBe('during the test\n');
    expect(a[2].attachment?.body).toContain('lost leader');
    // Plain text, said so: a string body is read as base64 otherwise (the HTML report showed garbage).
    expect([a[1].attachment?.bodyEncoding, a[2].attachment?.bodyEncoding]).toEqual(['utf-8', 'utf-8']);
    expect(asked[0]).toBe(`journalctl --no-pager -o short-iso-precise --since @${started / 1000} -n 300`);
  });

  it('a node that is down gives its console and says why there is no journal; a fetch that fails is named, not thrown', async () => {
    const nodes: EvidenceNode[] = [
      { name: 'node01', logFile: path.join(dir, 'none.log') },
      { name: 'node02', logFile: path.join(dir, 'none2.log'), node: fakeNode({ journalctl: new Error('unreachable over SSH\nmore') }, [], new Error('node02: command failed (exit 1): systemctl list-units --failed\nFailed to connect to bus')) },
    ];
    const a = await failureEvidence([new Error('expected 1 to be 2')], nodes, new Map(), Date.now());
    expect(a.map((x) => x.message)).toEqual([
      'node01: console during the test',
      'node01: not running: no journal or units',
      'node02: console during the test',
      'node02: journal since the test began (last 300 lines)',
      'node02: failed units: (not fetched: node02: command failed (exit 1): systemctl list-units --failed)',
    ]);
    expect(a[0].attachment?.body).toMatch(/^\(no console: ENOENT/);
    expect(a[3].attachment?.body).toBe('(not fetched: unreachable over SSH)');
  });
});
