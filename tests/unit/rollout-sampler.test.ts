/**
 * The rollout soak's judgements (fixtures/rollout-sampler.ts): a window of
 * health samples passes only with the samples its length implies, a failed
 * sample is unknown (never healthy), a zero is named with its time, and a
 * failed read fails the step. Then the timeline with a fake sampler, and the
 * deployer role's sampler loop run here against a local server (one sample
 * on every whole second).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  type HealthSampler,
  MAX_BLIND_MS,
  RolloutTimeline,
  SAMPLE_ALLOWANCE,
  SAMPLE_INTERVAL_MS,
  fewestHealthy,
  judgeHold,
  judgeNeverZero,
} from '../../fixtures/rollout-sampler.js';
import type { DeployerSample } from '../../stacks/contracts.js';
import { parseSamples, samplerLoop } from '../../stacks/reference/deployer/index.js';

const T0 = Date.parse('2026-12-01T10:00:00.000Z');
const WINDOW = { fromMs: T0, toMs: T0 + 30_000, intervalMs: SAMPLE_INTERVAL_MS, allowance: SAMPLE_ALLOWANCE };
const SERVICES = ['hello-web', 'ticker'];

/** A known sample: hello-web 2 replicas, ticker 1, each healthy as given, placed on `on`. */
const sample = (at: number, web = 2, ticker = 1, on = 'node05'): DeployerSample => ({
  at,
  leader: 'node01',
  services: [
    { name: 'hello-web', replicas: 2, healthy: web, placed: 2, leaving: 0, nodes: { [on]: 2 } },
    { name: 'ticker', replicas: 1, healthy: ticker, placed: 1, leaving: 0, nodes: { [on]: 1 } },
  ],
});
const failed = (at: number, error = 'no answer from the deployer'): DeployerSample => ({ at, leader: null, services: [], error });
/** One sample a second from `from` to `to` (ms after T0), inclusive of neither end beyond the window. */
const every = (from: number, to: number, f: (at: number) => DeployerSample = (at) => sample(at)) => {
  const out: DeployerSample[] = [];
  for (let t = from; t <= to; t += 1000) out.push(f(T0 + t));
  return out;
};

describe('judging a window of samples', () => {
  test('a full healthy window passes, with its counts', () => {
    const samples = every(500, 29_500);
    const held = judgeHold(samples, { ...WINDOW, on: ['node05'], services: SERVICES });
    expect(held.ok, held.reason).toBe(true);
    expect(held.counts).toEqual({ expected: 30, needed: 24, got: 30, known: 30, unknown: 0, bad: 0, maxBlindMs: 1000 });
    expect(judgeNeverZero(samples, { ...WINDOW, services: SERVICES }).ok).toBe(true);
  });

  test('a dead sampler (no samples) fails, saying how many it got and needed', () => {
    for (const j of [judgeHold([], { ...WINDOW, on: ['node05'] }), judgeNeverZero([], { ...WINDOW, services: SERVICES })]) {
      expect(j.ok).toBe(false);
      expect(j.reason).toContain('0 known samples, needed at least 24: 30.0 s at one per 1.0 s implies 30, less 6 (20 %) missing or unknown');
      expect(j.reason).toContain('no known sample for 30.0 s from 2026-12-01T10:00:00.000Z');
    }
    // Even a window shorter than one interval needs a sample.
    expect(judgeNeverZero([], { ...WINDOW, toMs: T0 + 500, services: SERVICES }).reason).toContain('0 known samples, needed at least 1');
    // Math.min of nothing is not a healthy count.
    expect(fewestHealthy([], SERVICES)).toEqual({ 'hello-web': null, ticker: null });
  });

  test('a window with too few samples fails, though every sample in it is healthy', () => {
    // One sample every 1.5 s: 20 in 30 s, no gap over MAX_BLIND_MS.
    const samples = Array.from({ length: 20 }, (_, i) => sample(T0 + 500 + i * 1500));
    const j = judgeHold(samples, { ...WINDOW, on: ['node05'] });
    expect(j.ok).toBe(false);
    expect(j.reason).toContain('20 known samples, needed at least 24');
    expect(j.counts).toMatchObject({ expected: 30, needed: 24, got: 20, known: 20, bad: 0 });
  });

  test('a sampler that stops near the end is caught by the blind stretch, within the allowance', () => {
    const samples = every(500, 25_500);
    const j = judgeNeverZero(samples, { ...WINDOW, services: SERVICES });
    expect(j.counts.known).toBeGreaterThanOrEqual(j.counts.needed);
    expect(j.ok).toBe(false);
    expect(j.reason).toContain(`no known sample for 4.5 s from ${new Date(T0 + 25_500).toISOString()} (at most ${(MAX_BLIND_MS / 1000).toFixed(1)} s)`);
  });

  test('unknown samples are not healthy: they count against the allowance and are reported', () => {
    // 5 failed samples, spread out: within the allowance (6), reported, and the window passes on the 25 known.
    const someFailed = every(500, 29_500, (at) => ((at - T0 - 500) % 6000 === 0 ? failed(at) : sample(at)));
    const ok = judgeHold(someFailed, { ...WINDOW, on: ['node05'] });
    expect(ok.ok, ok.reason).toBe(true);
    expect(ok.counts).toMatchObject({ got: 30, known: 25, unknown: 5 });
    expect(ok.reason).toContain('5 unknown (no answer, not counted healthy): 2026-12-01T10:00:00.500Z no answer from the deployer');
    // Every sample failed: nothing was seen healthy, so the window fails.
    const allFailed = every(500, 29_500, (at) => failed(at, 'Unexpected end of JSON input'));
    const j = judgeHold(allFailed, { ...WINDOW, on: ['node05'] });
    expect(j.ok).toBe(false);
    expect(j.reason).toContain('0 known samples, needed at least 24');
    expect(j.reason).toContain('got 30 in the window, 30 of them unknown');
    expect(j.reason).toContain('30 unknown (no answer, not counted healthy): 2026-12-01T10:00:00.500Z Unexpected end of JSON input');
    expect(fewestHealthy(allFailed, SERVICES)).toEqual({ 'hello-web': null, ticker: null });
    // A run of failed samples where a zero could hide fails "never zero" even within the allowance.
    const run = every(500, 29_500, (at) => (at >= T0 + 10_500 && at <= T0 + 14_500 ? failed(at) : sample(at)));
    const z = judgeNeverZero(run, { ...WINDOW, services: SERVICES });
    expect(z.counts).toMatchObject({ known: 25, unknown: 5 });
    expect(z.ok).toBe(false);
    expect(z.reason).toContain(`no known sample for 6.0 s from ${new Date(T0 + 9500).toISOString()}`);
  });

  test('a zero-healthy sample fails "never zero", naming its time and service', () => {
    const samples = every(500, 29_500, (at) => (at === T0 + 12_500 ? sample(at, 2, 0) : sample(at)));
    const j = judgeNeverZero(samples, { ...WINDOW, services: SERVICES });
    expect(j.ok).toBe(false);
    expect(j.reason).toContain('1 samples with a service at zero healthy: 2026-12-01T10:00:12.500Z ticker 0 healthy');
    // Judged only for the services asked about (fail-stop: those with a replica on the survivor).
    expect(judgeNeverZero(samples, { ...WINDOW, services: ['hello-web'] }).ok).toBe(true);
    // A service missing from a sample has no healthy instance.
    const absent = every(500, 29_500, (at) => (at === T0 + 3500 ? { ...sample(at), services: sample(at).services.slice(0, 1) } : sample(at)));
    expect(judgeNeverZero(absent, { ...WINDOW, services: SERVICES }).reason).toContain('2026-12-01T10:00:03.500Z ticker 0 healthy');
  });

  test('a hold fails on a sample below count, off its nodes, or without a service; samples outside the window do not count', () => {
    const dip = every(500, 29_500, (at) => (at === T0 + 7500 ? sample(at, 1) : at === T0 + 8500 ? sample(at, 2, 1, 'node04') : sample(at)));
    const j = judgeHold([sample(T0 - 5000, 0, 0), ...dip, sample(T0 + 31_000, 0, 0)], { ...WINDOW, on: ['node05'], services: SERVICES });
    expect(j.ok).toBe(false);
    expect(j.counts).toMatchObject({ got: 30, bad: 2 });
    expect(j.reason).toContain('2 samples with a service below its count or off node05: 2026-12-01T10:00:07.500Z hello-web 1/2 healthy; 2026-12-01T10:00:08.500Z hello-web on node04, ticker on node04');
    const gone = judgeHold(dip, { ...WINDOW, on: ['node05'], services: [...SERVICES, 'gone'] });
    expect(gone.counts.bad).toBe(30);
    expect(gone.reason).toContain('2026-12-01T10:00:00.500Z gone absent; ');
    expect(gone.reason).toContain('; ...');
  });
});

describe('the timeline', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-rollout-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A sampler that "samples" every 10 ms from its start to each read, healthy unless `healthy` says otherwise. */
  const fake = (over: Partial<HealthSampler> = {}, healthy = (at: number) => at >= 0) => {
    let started = 0;
    const calls: string[] = [];
    const s: HealthSampler = {
      async start() {
        calls.push('start');
        started = Date.now();
        if (over.start) await over.start();
      },
      async samples() {
        calls.push('samples');
        if (over.samples) return over.samples();
        const out: DeployerSample[] = [];
        for (let t = started; t <= Date.now(); t += 10) out.push(sample(t, healthy(t) ? 2 : 0));
        return out;
      },
      async stop() {
        calls.push('stop');
        if (over.stop) await over.stop();
      },
    };
    return { s, calls };
  };
  const opts = { testFile: 'x.test.ts', holdS: 0.2, intervalMs: 10, maxBlindMs: 40, inFlightMs: 0 };
  const signal = new AbortController().signal;

  test('a phase with a hold: judged over the held window and the whole phase, verdicts saved', async () => {
    const file = path.join(dir, 'timeline.json');
    const t = new RolloutTimeline(file, opts);
    const { s, calls } = fake();
    await t.begin('drain node04', s);
    t.note('drain node04');
    await t.hold(0.2, signal, 'hold on node05');
    const p = await t.end();
    expect(calls).toEqual(['start', 'samples', 'stop']);
    const held = p.hold(['node05'], SERVICES);
    expect(held.ok, held.reason).toBe(true);
    expect(held.counts.expected).toBeGreaterThanOrEqual(19);
    expect(p.neverZero(SERVICES).ok).toBe(true);
    expect(p.summary(SERVICES)).toMatch(/^\d+ known and 0 unknown samples over .*fewest healthy: hello-web 2, ticker 1$/);
    const saved = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(saved).toMatchObject({ file: 'x.test.ts', holdS: 0.2, intervalMs: 10, allowance: SAMPLE_ALLOWANCE });
    expect(saved.phases[0].events.map((e: { what: string }) => e.what)).toEqual(['drain node04', 'hold on node05']);
    expect(saved.phases[0].holds).toHaveLength(1);
    expect(saved.phases[0].verdicts.map((v: { what: string; ok: boolean }) => [v.what, v.ok])).toEqual([
      ['held on node05', true],
      ['never zero healthy: hello-web,ticker', true],
    ]);
  });

  test('a sampler that returns nothing fails the hold and "never zero"', async () => {
    const t = new RolloutTimeline(path.join(dir, 't.json'), opts);
    await t.begin('dead', fake({ samples: async () => [] }).s);
    await t.hold(0.1, signal);
    const p = await t.end();
    expect(p.hold(['node05'], SERVICES).reason).toMatch(/0 known samples, needed at least \d+/);
    expect(p.neverZero(SERVICES).ok).toBe(false);
  });

  test('reading the samples failing fails the step with the error (not an empty list), and the sampler is still stopped', async () => {
    const file = path.join(dir, 't.json');
    const t = new RolloutTimeline(file, opts);
    const { s, calls } = fake({
      samples: async () => {
        throw new Error('node06: command failed (exit 1): no /run/deployer-sampler.jsonl\nmore');
      },
    });
    await t.begin('drain node04', s);
    await expect(t.end()).rejects.toThrow('drain node04: reading the samples: node06: command failed (exit 1): no /run/deployer-sampler.jsonl');
    expect(calls).toEqual(['start', 'samples', 'stop']);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).phases[0]).toMatchObject({ error: expect.stringContaining('reading the samples'), samples: [] });
    // Stopping failing fails it too.
    await t.begin('undrain', fake({ stop: async () => Promise.reject(new Error('ssh: connection reset')) }).s);
    await expect(t.end()).rejects.toThrow('undrain: stopping the sampler: ssh: connection reset');
  });

  test('the sampler failing to start fails the step; a hold outside a sampled phase is an error', async () => {
    const t = new RolloutTimeline(path.join(dir, 't.json'), opts);
    await expect(t.begin('x', fake({ start: async () => Promise.reject(new Error('systemd-run failed')) }).s)).rejects.toThrow('systemd-run failed');
    t.start('seed', 'seed hello-web x2');
    await expect(t.hold(0.01, signal)).rejects.toThrow('a hold outside a sampled phase');
    await expect(t.end()).rejects.toThrow('no sampled phase to end');
  });

  test('a zero inside the phase fails "never zero" through the timeline', async () => {
    let zeroFrom = Infinity;
    const t = new RolloutTimeline(path.join(dir, 't.json'), opts);
    await t.begin('undrain', fake({}, (at) => at < zeroFrom || at > zeroFrom + 20).s);
    zeroFrom = Date.now() + 50;
    await t.hold(0.15, signal);
    const j = (await t.end()).neverZero(['hello-web']);
    expect(j.ok).toBe(false);
    expect(j.reason).toMatch(/samples with a service at zero healthy: \S+Z hello-web 0 healthy/);
  });

  test('closeForCleanup keeps what an abandoned phase had, or why not, and never throws for it', async () => {
    const file = path.join(dir, 't.json');
    const t = new RolloutTimeline(file, opts);
    await t.begin('fail-stop node05', fake({ samples: async () => Promise.reject(new Error('node06 unreachable')) }).s);
    expect(await t.closeForCleanup()).toBe('reading the samples (cleanup): node06 unreachable');
    expect(await t.closeForCleanup()).toBeUndefined();
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).phases[0].endedAt).toBeGreaterThan(0);
  });
});

describe("the deployer role's sampler loop", () => {
  test('one sample on every whole second, each a known answer, asking the next deployer when one does not answer', async () => {
    const summary = JSON.stringify({ at: 1, leader: 'node01', services: sample(0).services });
    const server = http.createServer((_req, res) => res.end(summary));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-sampler-'));
    const file = path.join(dir, 'samples.jsonl');
    // 127.0.0.2 listens on nothing: every other turn asks it first and falls back to 127.0.0.1.
    const loop = spawn('bash', ['-c', samplerLoop("'127.0.0.2 127.0.0.1'", port, file)], { detached: true, stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 4200));
    } finally {
      process.kill(-loop.pid!, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 300));
      server.close();
    }
    const samples = parseSamples(fs.readFileSync(file, 'utf8'));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(samples.filter((s) => s.error), 'failed samples').toEqual([]);
    // The first at start, then one per whole second: 4-5 in 4.2 s.
    expect(samples.length).toBeGreaterThanOrEqual(4);
    // Each turn waits for the next whole second: one sample per second, never two in one (no ms bound: a loaded host answers late, not wrongly).
    const seconds = samples.slice(1).map((s) => Math.floor(s.at / 1000));
    expect(seconds.every((x, i) => i === 0 || x > seconds[i - 1]), `the whole second of each turn: ${seconds.join(' ')}`).toBe(true);
    const gaps = samples.slice(2).map((s, i) => s.at - samples[i + 1].at);
    for (const g of gaps) expect(g, `gaps ${gaps.join(' ')}`).toBeGreaterThan(500);
  }, 15_000);
});
