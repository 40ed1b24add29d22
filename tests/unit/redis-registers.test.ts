/**
 * The flaredb register workload (services/workloads/redis-registers.mjs)
 * against real Redis and Sentinel on 127.0.0.1 (tests/unit/helpers/
 * local-flaredb.ts: a primary, two replicas, three Sentinels, failover in
 * about a second): it follows Sentinel through a failover and loses no
 * acknowledged write; a write no replica acknowledged is info with WAIT's
 * count; and when the primary is killed and back, empty, before Sentinel
 * notices, the end-state check finds the acknowledged writes it lost.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parseWorkloadOutput } from '../../harness/consistency/workload.js';
import { pairOperations } from '../../harness/consistency/history.js';
import { checkFinalState } from '../../harness/consistency/lost-writes.js';
import { REDIS_REGISTERS_SCRIPT, type RedisRegistersConfig } from '../../harness/consistency/redis-workload.js';
import { LocalFlaredb, MASTER, PASSWORD } from './helpers/local-flaredb.js';
import { findBinary, freePorts, missingPackageError, once, sleep } from './helpers/local-redis.js';

const run = promisify(execFile);
const bins = { server: findBinary('redis-server'), sentinel: findBinary('redis-sentinel') };
const KEYS = 3;

describe('flaredb register workload on real Redis and Sentinel', () => {
  let set: LocalFlaredb | undefined;
  afterEach(() => set?.stop());

  async function start(): Promise<{ set: LocalFlaredb; cfg: RedisRegistersConfig }> {
    if (bins.server === null || bins.sentinel === null) throw missingPackageError('redis-server and redis-sentinel');
    const ports = await freePorts(6);
    set = new LocalFlaredb({ server: bins.server, sentinel: bins.sentinel }, ports.slice(0, 3), ports.slice(3));
    await set.start();
    const passwordFile = path.join(set.dir, 'password');
    fs.writeFileSync(passwordFile, `${PASSWORD}\n`);
    const cfg: RedisRegistersConfig = { sentinels: set.sentinelPorts.map((p) => `127.0.0.1:${p}`), master: MASTER, passwordFile, clients: 4, keys: KEYS, timeLimitS: 8, opLimit: 20_000, opTimeoutMs: 1500, replicas: 1, waitMs: 300, thinkMs: 20, prefix: `unit-${Date.now()}`, seed: 11 };
    return { set, cfg };
  }

  /** Runs the workload while `during` plays; its output. */
  async function workload(cfg: RedisRegistersConfig, during: () => Promise<void>) {
    const [{ stdout }] = await Promise.all([run(process.execPath, [REDIS_REGISTERS_SCRIPT, JSON.stringify(cfg)], { timeout: 60_000 }), during()]);
    return parseWorkloadOutput(stdout);
  }

  /** Every key's value on the primary Sentinel names now. */
  async function finals(s: LocalFlaredb, cfg: RedisRegistersConfig) {
    const primary = await s.primary();
    const out: Record<string, number | null> = {};
    for (let k = 0; k < cfg.keys; k++) {
      const v = await once(primary, PASSWORD, 'get', `${cfg.prefix}:r${k}`);
      out[`r${k}`] = v === null ? null : Number(v);
    }
    return out;
  }

  it('follows Sentinel through a failover: acknowledged writes carry WAIT counts, none is lost', { timeout: 120_000 }, async () => {
    const { set: s, cfg } = await start();
    const first = await s.primary();
    // The clients stop 2 s after a Sentinel names another primary.
    const stopFile = path.join(s.dir, 'stop');
    const out = await workload({ ...cfg, timeLimitS: 40, stopFile }, async () => {
      await sleep(2500);
      await s.signal(first, 'SIGKILL');
      while ((await s.primary()) === first) await sleep(200);
      await sleep(2000);
      fs.writeFileSync(stopFile, '');
    });
    const ops = pairOperations(out.events);
    const ends = out.events.filter((e) => e.type !== 'invoke') as Array<(typeof out.events)[number] & { acked?: number; primary?: string }>;
    expect(ends.filter((e) => e.f === 'write' && e.type === 'ok').every((e) => (e.acked ?? 0) >= 1)).toBe(true);
    // Before and after the failover: acknowledged writes on the first primary and on the promoted one.
    const primaries = new Set(ends.filter((e) => e.type === 'ok').map((e) => e.primary));
    expect(primaries.size, `primaries the clients used: ${[...primaries].join(', ')}`).toBe(2);
    expect(ops.filter((o) => o.f === 'read' && o.status === 'ok').length).toBeGreaterThan(0);
    const final = checkFinalState(out.events, await finals(s, cfg));
    expect(final.acknowledged).toBeGreaterThan(10);
    expect(final.impossible).toEqual([]);
    expect(final.lost).toEqual([]);
  });

  it('a write no replica acknowledged is info with WAIT counting 0', { timeout: 120_000 }, async () => {
    const { set: s, cfg } = await start();
    const primary = await s.primary();
    const replicas = s.redisPorts.filter((p) => p !== primary);
    const out = await workload({ ...cfg, timeLimitS: 3 }, async () => {
      for (const p of replicas) await s.signal(p, 'SIGSTOP');
      await sleep(3500);
      for (const p of replicas) s.procs.get(p)!.kill('SIGCONT');
    });
    const writes = out.events.filter((e) => e.f === 'write' && e.type !== 'invoke') as Array<(typeof out.events)[number] & { acked?: number }>;
    expect(writes.length).toBeGreaterThan(0);
    for (const w of writes) expect(w).toMatchObject({ type: 'info', acked: 0, error: expect.stringMatching(/WAIT counted 0 of 1 replicas in 300 ms/) });
  });

  it('a primary killed and back empty before Sentinel notices: the end-state check finds the acknowledged writes lost', { timeout: 120_000 }, async () => {
    const { set: s, cfg } = await start();
    const primary = await s.primary();
    // The clients stop at the restart: later writes would replace what the end state shows was lost.
    const stopFile = path.join(s.dir, 'stop');
    const out = await workload({ ...cfg, keys: 8, timeLimitS: 30, stopFile }, async () => {
      await sleep(3000);
      // No persistence here: it comes back empty, still the primary, and the replicas resync from it.
      await s.signal(primary, 'SIGKILL');
      s.startRedis(primary);
      fs.writeFileSync(stopFile, '');
    });
    expect(await s.primary(), 'Sentinel did not fail over: the restart beat it').toBe(primary);
    for (const p of s.redisPorts.filter((x) => x !== primary)) await s.waitReplica(p, primary);
    const final = checkFinalState(out.events, await finals(s, { ...cfg, keys: 8 }));
    expect(final.impossible).toEqual([]);
    expect(final.lost.length).toBeGreaterThan(0);
    expect(final.lost.every((l) => l.write.acknowledged && l.write.call < 3500)).toBe(true);
  });
});

