import { describe, expect, it } from 'vitest';
import { NodeError, WaitTimeoutError } from '../../harness/errors.js';
import { AbortedError, pause, waitFor } from '../../harness/remote/wait.js';

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

describe('waitFor: deadlines, abort, fail-fast', () => {
  it('keeps its deadline when a probe hangs, and aborts the signal it gave that probe', async () => {
    let probeSignal: AbortSignal | undefined;
    const err = await waitFor({ node: 'node04', what: 'pod logs its marker', timeoutMs: 300, intervalMs: 10, consoleTail: () => 'console!' }, (sig) => {
      probeSignal = sig;
      return new Promise<never>(() => undefined); // a command that never answers
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect((err as Error).message).toMatch(/^node04: pod logs its marker: not within 0s/);
    expect((err as WaitTimeoutError).evidence).toMatchObject({ expected: 'pod logs its marker', lastSeen: 'no answer yet', consoleTail: 'console!' });
    expect(probeSignal?.aborted).toBe(true);
  });

  it('stops promptly on the caller’s abort (Vitest’s test signal) with the evidence so far', async () => {
    const test = new AbortController();
    let probes = 0;
    const wait = waitFor(
      { node: 'node02', what: 'leader elected', timeoutMs: 600_000, intervalMs: 50, signal: test.signal, consoleTail: () => 'tail!' },
      async () => {
        if (++probes === 2) test.abort(new Error('Test timed out in 5000ms.'));
        return { ok: false, seen: `probe ${probes}: no leader` };
      },
    );
    const err = await wait.catch((e: Error) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect(err).not.toBeInstanceOf(WaitTimeoutError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/^node02: leader elected: aborted after \d+s \(Test timed out in 5000ms\.\)/);
    expect(msg).toContain('expected: leader elected');
    expect(msg).toMatch(/last seen: probe [12]: no leader/);
    expect(msg).toContain('tail!');
  });

  it('does not start when the signal is already aborted', async () => {
    const c = new AbortController();
    c.abort(new Error('run cancelled'));
    let probes = 0;
    const err = await waitFor({ node: 'node01', what: 'x', timeoutMs: 60_000, signal: c.signal }, async () => {
      probes++;
      return { ok: true };
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect(probes).toBe(0);
  });

  it('ends a hanging probe on abort, and aborts the probe’s own signal (its command is killed)', async () => {
    const test = new AbortController();
    let probeSignal: AbortSignal | undefined;
    const wait = waitFor({ node: 'node05', what: 'guest pings', timeoutMs: 600_000, signal: test.signal }, (sig) => {
      probeSignal = sig;
      setTimeout(() => test.abort(new Error('cancelled')), 20);
      return new Promise<never>(() => undefined);
    });
    await expect(wait).rejects.toBeInstanceOf(AbortedError);
    expect(probeSignal?.aborted).toBe(true);
  });

  it('stops when a probe’s command was aborted through a node bound to the test’s signal', async () => {
    let probes = 0;
    const err = await waitFor({ node: 'node04', what: 'pod runs', timeoutMs: 60_000, intervalMs: 1 }, async () => {
      probes++;
      throw new AbortedError('node04', 'aborted while running: podman logs p');
    }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(AbortedError);
    expect((err as Error).message).toMatch(/^node04: pod runs: aborted .*podman logs p/);
    expect(probes).toBe(1);
  });

  it('ends at once with the probe’s `fail` error (waiting cannot help)', async () => {
    let probes = 0;
    const fail = new NodeError('node01', 'unit etcd.service is failed');
    const err = await waitFor({ node: 'node01', what: 'etcd active', timeoutMs: 60_000, intervalMs: 1 }, async () => {
      probes++;
      return probes === 1 ? { ok: false, seen: 'activating' } : { ok: false, fail };
    }).catch((e: Error) => e);
    expect(err).toBe(fail);
    expect(probes).toBe(2);
  });

  it('throws a failFast Error as is (the caller’s own evidence)', async () => {
    const qemuGone = new NodeError('node03', 'QEMU exited while waiting for SSH');
    await expect(waitFor({ node: 'node03', what: 'ssh', timeoutMs: 60_000, failFast: async () => qemuGone }, async () => ({ ok: false }))).rejects.toBe(qemuGone);
  });

  it('puts the journal into the timeout error, and counts a thrown probe (an SSH hiccup) as not yet', async () => {
    let probes = 0;
    const err = await waitFor(
      { node: 'node01', what: 'unit x active', expected: 'x.service active', timeoutMs: 200, intervalMs: 5, journal: async () => 'x.service: starting' },
      async () => {
        probes++;
        if (probes % 2) throw new Error('read ECONNRESET\nstack...');
        return { ok: false, seen: 'activating' };
      },
    ).catch((e: Error) => e);
    expect(err).toBeInstanceOf(WaitTimeoutError);
    expect(probes).toBeGreaterThan(1);
    expect((err as WaitTimeoutError).evidence).toMatchObject({ expected: 'x.service active', journal: 'x.service: starting' });
    expect(['activating', 'read ECONNRESET']).toContain((err as WaitTimeoutError).evidence.lastSeen);
  });
});

describe('pause', () => {
  it('returns early when the signal aborts', async () => {
    const c = new AbortController();
    setTimeout(() => c.abort(), 10);
    const t0 = Date.now();
    await pause(600_000, c.signal);
    expect(Date.now() - t0).toBeLessThan(60_000);
  });
});
