/**
 * A node's ready checks (Role.readyChecks) in waitReady: run after its
 * units are active, retried while they fail, and a check that never passes
 * fails the boot naming the check, its command and its last output.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readBootRecords } from '../../harness/cluster/boot-record.js';
import type { ClusterCore } from '../../harness/cluster/core.js';
import { waitReady } from '../../harness/cluster/readiness.js';
import type { ExecResult } from '../../harness/remote/ssh.js';
import type { Role, Stack } from '../../harness/stack.js';
import type { NodeSpec } from '../../harness/topology.js';

const CHECK = 'virsh -q -c qemu:///system capabilities >/dev/null';
const role = { name: 'plasmavmc', hostedOn: () => true, units: ['libvirtd.socket'], readyChecks: [{ what: 'libvirtd answers', command: CHECK }] } as unknown as Role;
const spec = { name: 'node04' } as NodeSpec;

const stateDirs: string[] = [];
afterAll(() => {
  for (const d of stateDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A core whose one node answers the boot's own commands as a ready node and the check with `check(n)` on its n-th call. */
function core(check: (n: number) => ExecResult) {
  const asked: string[] = [];
  let checks = 0;
  const ok = (stdout: string): ExecResult => ({ stdout, stderr: '', code: 0, timedOut: false });
  const node = {
    vm: { pid: () => 1, pidFile: '/nonexistent', consoleTail: () => 'console of node04' },
    consoleTail: () => 'console of node04',
    execute: async (command: string): Promise<ExecResult> => {
      asked.push(command);
      if (command === CHECK) return check(++checks);
      if (command.startsWith('systemctl is-system-running --wait; systemctl show')) return ok('running\nId=libvirtd.socket\nActiveState=active\n');
      throw new Error(`unexpected command ${command}`);
    },
  };
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ready-checks-'));
  stateDirs.push(stateDir);
  const c = { node: () => node, ssh: { waitForSsh: async () => undefined }, stack: { roles: [role] } as unknown as Stack, stateDir } as unknown as ClusterCore;
  return { c, asked, checks: () => checks };
}

describe('ready checks', () => {
  it('run after the units, and are retried until they pass', async () => {
    const { c, asked, checks } = core((n) => (n < 2 ? { stdout: '', stderr: 'error: failed to connect to the hypervisor', code: 1, timedOut: false } : { stdout: '', stderr: '', code: 0, timedOut: false }));
    await waitReady(c, spec, 30_000);
    expect(checks()).toBe(2);
    expect(asked[0]).toMatch(/^systemctl is-system-running --wait; systemctl show/);
    expect(asked.slice(1)).toEqual([CHECK, CHECK]);
    // The boot is on the state dir's timeline, its stages in order (the boot chart reads it).
    const [r, ...more] = readBootRecords((c as unknown as { stateDir: string }).stateDir);
    expect(more).toEqual([]);
    expect(r.node).toBe('node04');
    expect(r.startedAt <= r.sshAt && r.sshAt <= r.unitsAt && r.unitsAt <= r.readyAt).toBe(true);
  });

  it('a check that never passes fails the boot, naming it, its command and its last output', async () => {
    const { c } = core(() => ({ stdout: '', stderr: 'error: internal error: Failed to probe QEMU binary', code: 1, timedOut: false }));
    const err = await waitReady(c, spec, 3_000).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.message).toContain('ready check: libvirtd answers');
    expect(err?.message).toContain(`exit 0 from: ${CHECK}`);
    expect(err?.message).toContain('exit 1: error: internal error: Failed to probe QEMU binary');
  });
});
