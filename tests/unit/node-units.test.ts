/**
 * A node's unit states from one `systemctl show` (Node.unitStates): one
 * block per unit in the order asked, a unit that does not exist is
 * not-found (never active), and a reply that does not match the question
 * fails rather than lining states up with the wrong units.
 */
import { describe, expect, it } from 'vitest';
import { Node, parseUnitState } from '../../harness/remote/node.js';
import type { ExecResult, SshPool } from '../../harness/remote/ssh.js';
import type { QemuVm } from '../../harness/vm/qemu.js';
import type { NodeSpec } from '../../harness/topology.js';

/** What systemd 252 (Debian 12) prints for `systemctl show -p LoadState,ActiveState,SubState,Result ssh.service nope.service flaredb.service`. */
const SHOWN = `Result=success
LoadState=loaded
ActiveState=active
SubState=running

Result=success
LoadState=not-found
ActiveState=inactive
SubState=dead

Result=exit-code
LoadState=loaded
ActiveState=failed
SubState=failed
`;

function nodeAnswering(stdout: string, seen: string[]) {
  const pool = {
    exec: async (_node: string, command: string): Promise<ExecResult> => {
      seen.push(command);
      return { stdout, stderr: '', code: 0, timedOut: false };
    },
  } as unknown as SshPool;
  const vm = { pid: () => 1, consoleTail: () => '', pidFile: '/nonexistent' } as unknown as QemuVm;
  return new Node({ name: 'node01' } as NodeSpec, vm, pool);
}

describe('unit states in one command', () => {
  it('parses a block whatever order systemd prints its properties in', () => {
    expect(parseUnitState('SubState=running\nActiveState=active\nResult=success\nLoadState=loaded\n')).toEqual({ load: 'loaded', active: 'active', sub: 'running', result: 'success' });
  });

  it('asks once for every unit and gives each its own block, in order', async () => {
    const seen: string[] = [];
    const states = await nodeAnswering(SHOWN, seen).unitStates(['ssh.service', 'nope.service', 'flaredb.service']);
    expect(seen).toEqual(["systemctl show -p LoadState,ActiveState,SubState,Result ssh.service nope.service flaredb.service"]);
    expect(states.map((s) => `${s.load}/${s.active}/${s.sub}`)).toEqual(['loaded/active/running', 'not-found/inactive/dead', 'loaded/failed/failed']);
  });

  it('fails when the blocks do not match the units asked (never a state lined up with the wrong unit)', async () => {
    await expect(nodeAnswering(SHOWN, []).unitStates(['a.service', 'b.service'])).rejects.toThrow('systemctl show of 2 units printed 3 blocks');
  });

  it('asks nothing for no units', async () => {
    const seen: string[] = [];
    expect(await nodeAnswering(SHOWN, seen).unitStates([])).toEqual([]);
    expect(seen).toEqual([]);
  });
});
