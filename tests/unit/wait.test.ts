import { describe, expect, it } from 'vitest';
import { NodeError, WaitTimeoutError } from '../../harness/errors.js';
import { waitFor } from '../../harness/wait.js';

describe('waitFor', () => {
  it('returns the value once the probe is ok, treating throws as not yet', async () => {
    let n = 0;
    const v = await waitFor({ node: 'node01', what: 'third try', timeoutMs: 5000, intervalMs: 1 }, async () => {
      n++;
      if (n === 1) throw new Error('rebooting');
      return { ok: n === 3, value: n };
    });
    expect(v).toBe(3);
  });

  it('times out naming the node, what it waited for, the last thing seen and the console', async () => {
    const err = await waitFor({ node: 'node02', what: 'leader', timeoutMs: 20, intervalMs: 5, consoleTail: () => 'tail!' }, async () => ({
      ok: false,
      seen: 'leader none',
    })).catch((e: Error) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as Error).message).toMatch(/^node02: leader/);
    expect((err as Error).message).toContain('leader none');
    expect((err as Error).message).toContain('tail!');
  });

  it('gives up at once when failFast says why', async () => {
    let probes = 0;
    const err = await waitFor(
      { node: 'node03', what: 'ssh', timeoutMs: 60_000, failFast: () => 'QEMU of node03 is not running' },
      async () => {
        probes++;
        return { ok: false };
      },
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(NodeError);
    expect((err as Error).message).toContain('QEMU of node03 is not running');
    expect(probes).toBe(0);
  });
});
