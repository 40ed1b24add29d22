/**
 * The chainfire register workload against a real one-member etcd (Debian's
 * etcd-server, which `make deps` installs with its service off) on
 * 127.0.0.1: it records a history the checker reads, its outcomes are
 * classified as the script says (a refused connection is a fail, a timeout
 * of a write is info), and it stops by itself at its limits.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETCD_REGISTERS_SCRIPT, type EtcdRegistersConfig } from '../../harness/consistency/etcd-workload.js';
import { operationBoundMs, parseWorkloadOutput } from '../../harness/consistency/workload.js';
import { countEvents, longestOperationMs, pairOperations } from '../../harness/consistency/history.js';
import { checkLinearizable } from '../../harness/consistency/linearizable.js';
import { registerModel } from '../../harness/consistency/register.js';
import { LocalEtcd } from './helpers/local-etcd.js';
import { freePorts } from './helpers/local-redis.js';

const run = promisify(execFile);

async function workload(cfg: Partial<EtcdRegistersConfig> & Pick<EtcdRegistersConfig, 'endpoints'>) {
  const full: EtcdRegistersConfig = { clients: 4, keys: 2, timeLimitS: 3, opLimit: 400, opTimeoutMs: 1000, serializable: false, prefix: `/unit/${Date.now()}`, seed: 7, ...cfg };
  const t0 = Date.now();
  const { stdout } = await run(process.execPath, [ETCD_REGISTERS_SCRIPT, JSON.stringify(full)], { timeout: 60_000 });
  return { out: parseWorkloadOutput(stdout), ms: Date.now() - t0 };
}

describe('register workload on a real etcd', () => {
  let etcd: LocalEtcd | undefined;
  let dir: string;
  let endpoint: string;

  beforeAll(async () => {
    etcd = await LocalEtcd.start();
    ({ dir, endpoint } = etcd);
  }, 60_000);

  afterAll(() => etcd?.stop());

  it('records reads, writes and cas that all succeed, and the history is linearizable', async () => {
    const { out } = await workload({ endpoints: [endpoint] });
    const c = countEvents(out.events);
    expect(c.operations).toBeGreaterThan(20);
    expect(c.fail + c.info).toBe(0);
    const ops = pairOperations(out.events);
    for (const f of ['read', 'write', 'cas']) expect(ops.filter((o) => o.f === f).length, f).toBeGreaterThan(0);
    // A cas that applied and one that did not, and a read that saw a written value: the results are real.
    expect(ops.some((o) => o.f === 'cas' && o.output === true)).toBe(true);
    expect(ops.some((o) => o.f === 'cas' && o.output === false)).toBe(true);
    expect(ops.some((o) => o.f === 'read' && typeof o.output === 'number')).toBe(true);
    expect(checkLinearizable(registerModel, ops).verdict).toBe('linearizable');
  }, 60_000);

  it('stops at its operation limit', async () => {
    const { out } = await workload({ endpoints: [endpoint], opLimit: 25, timeLimitS: 30 });
    expect(countEvents(out.events).operations).toBe(25);
  }, 60_000);

  it('stops once its stop file exists, well before its time and operation limits', async () => {
    const stopFile = path.join(dir, 'stop');
    const t = setTimeout(() => fs.writeFileSync(stopFile, ''), 1500);
    try {
      const { out, ms } = await workload({ endpoints: [endpoint], timeLimitS: 45, opLimit: 100_000, stopFile });
      expect(countEvents(out.events).operations).toBeGreaterThan(0);
      expect(countEvents(out.events).operations).toBeLessThan(100_000);
      expect(ms, 'stopped by the file, not at its 45 s limit').toBeLessThan(40_000);
    } finally {
      clearTimeout(t);
    }
  }, 60_000);

  it('a member that refuses connections: every operation a fail naming ECONNREFUSED, none info', async () => {
    const [closed] = await freePorts(1);
    const { out } = await workload({ endpoints: [`127.0.0.1:${closed}`], timeLimitS: 1, clients: 2 });
    const c = countEvents(out.events);
    expect(c.operations).toBeGreaterThan(0);
    expect(c).toEqual({ operations: c.operations, ok: 0, fail: c.operations, info: 0 });
    expect(out.events.filter((e) => e.type === 'fail').every((e) => e.error?.includes('ECONNREFUSED'))).toBe(true);
  }, 60_000);

  it('a frozen member: writes that time out are info (may have happened), reads fail, and the history still checks', async () => {
    etcd?.signal('SIGSTOP');
    try {
      const { out } = await workload({ endpoints: [endpoint], timeLimitS: 2, opTimeoutMs: 500, clients: 3 });
      const c = countEvents(out.events);
      expect(c.ok).toBe(0);
      expect(c.info).toBeGreaterThan(0);
      const ends = out.events.filter((e) => e.type !== 'invoke');
      expect(ends.filter((e) => e.f === 'read').every((e) => e.type === 'fail' && e.error === 'timeout')).toBe(true);
      expect(ends.filter((e) => e.f !== 'read').every((e) => e.type === 'info' && e.error === 'timeout')).toBe(true);
      // Each ended by the client's own timer (500 ms, plus however late this host ran it), not by the server.
      expect(longestOperationMs(out.events)).toBeLessThanOrEqual(operationBoundMs(500, out));
      // An info client goes on as a new process: no process has two operations open.
      expect(() => pairOperations(out.events)).not.toThrow();
    } finally {
      etcd?.signal('SIGCONT');
    }
  }, 60_000);
});
