/** The bare-metal markers chart (fixtures/baremetal-chart.ts). */
import { describe, expect, test } from 'vitest';
import { markerPoints, markersSvg } from '../../fixtures/baremetal-chart.js';

const T = 1_796_581_083_000;
const m = (step: string, s: number, failed = false) => ({ step, detail: '', failed, at: T + s * 1000 });

describe('bare-metal markers as a chart', () => {
  test('seconds since each chassis was powered on; a failure marked; a chassis never powered on has no points', () => {
    expect(
      markerPoints([
        { chassis: 'bm-cp01', startedAt: T, markers: [m('installer:start', 314.2), m('agent:healthy', 592.2)] },
        { chassis: 'bm-refused', startedAt: T + 10_000, markers: [m('phone-home:refused', 97.5, true)] },
        { chassis: 'bm-spare', markers: [m('installer:start', 5)] },
      ]),
    ).toEqual([
      { chassis: 'bm-cp01', step: 'installer:start', seconds: 314.2, outcome: 'ok' },
      { chassis: 'bm-cp01', step: 'agent:healthy', seconds: 592.2, outcome: 'ok' },
      { chassis: 'bm-refused', step: 'phone-home:refused', seconds: 87.5, outcome: 'failed' },
    ]);
  });

  test('renders to SVG naming the chassis and the steps', async () => {
    const svg = await markersSvg([{ chassis: 'bm-w01', startedAt: T, markers: [m('install:done', 300), m('agent:healthy', 590)] }]);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const t of ['bm-w01', 'install:done', 'agent:healthy']) expect(svg).toContain(t);
  });
});
