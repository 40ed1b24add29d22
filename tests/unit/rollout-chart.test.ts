/**
 * The rollout timeline chart (fixtures/rollout-chart.ts): samples, phases
 * and holds on one axis in seconds since the rollout began; a failed sample
 * is drawn as unknown (never as healthy); the SVG names the services and
 * the phases.
 */
import { describe, expect, it } from 'vitest';
import { chartRows, timelineSvg, type TimelineDoc } from '../../fixtures/rollout-chart.js';

const T0 = 1_796_560_971_553;
const svc = (healthy: number) => [{ name: 'hello-web', replicas: 2, healthy, placed: 2, leaving: 0, nodes: { node05: healthy } }];
const doc: TimelineDoc = {
  file: 'tests/scheduling/rollout.test.ts',
  holdS: 30,
  phases: [
    { name: 'seed', startedAt: T0, endedAt: T0 + 20_000, holds: [], samples: [] },
    {
      name: 'drain node04',
      startedAt: T0 + 21_000,
      endedAt: T0 + 80_000,
      holds: [{ fromMs: T0 + 40_000, toMs: T0 + 70_000 }],
      samples: [
        { at: T0 + 22_000, leader: 'node02', services: svc(2) },
        { at: T0 + 23_000, leader: null, services: [], error: 'curl: (7) Failed to connect' },
        { at: T0 + 24_000, leader: 'node02', services: svc(1) },
      ],
    },
  ],
};

describe('rollout timeline chart', () => {
  it('puts samples, phases and holds in seconds since the first phase; a failed sample is unknown, not healthy', () => {
    const r = chartRows(doc);
    expect(r.phases).toEqual([
      { phase: 'seed', from: 0, to: 20 },
      { phase: 'drain node04', from: 21, to: 80 },
    ]);
    expect(r.holds).toEqual([{ from: 40, to: 70, phase: 'drain node04' }]);
    expect(r.healthy).toEqual([
      { t: 22, service: 'hello-web', healthy: 2, phase: 'drain node04' },
      { t: 24, service: 'hello-web', healthy: 1, phase: 'drain node04' },
    ]);
    expect(r.unknown).toEqual([{ t: 23, phase: 'drain node04', error: 'curl: (7) Failed to connect' }]);
  });

  it('renders to an SVG naming the services and the phases', async () => {
    const svg = await timelineSvg(doc);
    expect(svg).toMatch(/^<svg/);
    for (const word of ['hello-web', 'drain node04', 'seed', 'healthy replicas']) expect(svg).toContain(word);
  });
});
