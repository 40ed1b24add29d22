/**
 * A history people can look at (as Porcupine's visualisation): one row per
 * client, each operation a bar from its invoke to its end with what it did
 * and saw, unknown outcomes (info) drawn open to the end of the run, fails
 * in grey; the nemesis windows shaded with their names; on a violation, its
 * window outlined in red and the blocked operation in red. Vega-Lite,
 * rendered headless to SVG (harness/vega-svg.ts).
 */
import type { TopLevelSpec } from 'vega-lite';
import type { NemesisWindow as Window } from '../nemesis.js';
import { specToSvg } from '../vega-svg.js';
import type { HistoryEvent } from './history.js';
import type { CheckResult } from './linearizable.js';

/** A fault the nemesis held (harness/nemesis.ts), its end known, on the history's clock. */
export type NemesisWindow = Required<Window>;

export interface TimelineInput {
  title: string;
  events: HistoryEvent[];
  nemesis: NemesisWindow[];
  check?: CheckResult;
}

export interface TimelineRows {
  ops: Array<{ client: string; from: number; to: number; outcome: 'ok' | 'fail' | 'info'; label: string; blocked: boolean }>;
  nemesis: Array<{ what: string; from: number; to: number }>;
  violations: Array<{ key: string; from: number; to: number }>;
}

/** Seconds since the first event for every operation, nemesis window and violation (pure). */
export function timelineRows(input: TimelineInput): TimelineRows {
  const times = input.events.map((e) => e.time);
  const t0 = times.length ? Math.min(...times) : 0;
  const end = times.length ? Math.max(...times, ...input.nemesis.map((n) => n.to)) : 0;
  const s = (ms: number) => Math.round((Math.min(ms, end) - t0)) / 1000;
  const blocked = new Set<string>();
  for (const k of input.check?.keys ?? []) if (k.violation) blocked.add(`${k.violation.blocked.process}@${k.violation.blocked.call}`);
  const rows: TimelineRows = { ops: [], nemesis: [], violations: [] };
  const open = new Map<number, HistoryEvent>();
  const close = (inv: HistoryEvent, outcome: 'ok' | 'fail' | 'info', at: number, result: unknown) => {
    const arg = inv.value === undefined ? '' : ` ${JSON.stringify(inv.value)}`;
    const out = outcome === 'ok' ? (result === undefined ? ' ok' : ` -> ${JSON.stringify(result)}`) : ` ${outcome}`;
    rows.ops.push({ client: `client ${inv.process}`, from: s(inv.time), to: s(at), outcome, label: `${inv.key} ${inv.f}${arg}${out}`, blocked: blocked.has(`${inv.process}@${inv.time}`) });
  };
  for (const e of input.events) {
    if (e.type === 'invoke') open.set(e.process, e);
    else {
      const inv = open.get(e.process);
      if (!inv) continue; // pairOperations names such an event; the chart just leaves it out
      open.delete(e.process);
      // An unknown outcome may take effect until the end of the run: drawn open to the end.
      close(inv, e.type, e.type === 'info' ? end : e.time, e.value);
    }
  }
  for (const inv of open.values()) close(inv, 'info', end, undefined);
  for (const n of input.nemesis) rows.nemesis.push({ what: n.what, from: s(n.from), to: s(n.to) });
  for (const k of input.check?.keys ?? []) if (k.violation) rows.violations.push({ key: k.key, from: s(k.violation.window.from), to: s(k.violation.window.to) });
  return rows;
}

/** The chart's Vega-Lite spec (pure). */
export function timelineSpec(input: TimelineInput): TopLevelSpec {
  const r = timelineRows(input);
  const clients = [...new Set(r.ops.map((o) => o.client))].sort((a, b) => Number(a.split(' ')[1]) - Number(b.split(' ')[1]));
  const x = { field: 'from', type: 'quantitative' as const, title: 'seconds since the first operation' };
  const verdict = input.check ? `: ${input.check.verdict}` : '';
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `${input.title}${verdict}`,
    width: 1000,
    height: Math.max(120, clients.length * 28),
    layer: [
      { data: { values: r.nemesis }, mark: { type: 'rect', opacity: 0.15, color: 'orange' }, encoding: { x, x2: { field: 'to' }, tooltip: { field: 'what' } } },
      { data: { values: r.nemesis }, mark: { type: 'text', align: 'left', baseline: 'top', dx: 2, dy: 2, fontSize: 9, color: '#a05a00' }, encoding: { x: { field: 'from', type: 'quantitative' }, y: { value: 0 }, text: { field: 'what' } } },
      {
        data: { values: r.ops },
        mark: { type: 'bar', height: 16, cornerRadius: 2 },
        encoding: {
          x,
          x2: { field: 'to' },
          y: { field: 'client', type: 'nominal', sort: clients, title: null },
          color: { field: 'outcome', type: 'nominal', scale: { domain: ['ok', 'fail', 'info'], range: ['#4c78a8', '#bbbbbb', '#f2cf5b'] }, legend: { title: 'outcome' } },
          stroke: { condition: { test: 'datum.blocked', value: 'red' }, value: null },
          strokeWidth: { condition: { test: 'datum.blocked', value: 2.5 }, value: 0 },
          tooltip: [{ field: 'label' }, { field: 'from' }, { field: 'to' }],
        },
      },
      { data: { values: r.ops }, mark: { type: 'text', align: 'left', dx: 2, fontSize: 8 }, encoding: { x: { field: 'from', type: 'quantitative' }, y: { field: 'client', type: 'nominal', sort: clients }, text: { field: 'label' }, color: { condition: { test: "datum.outcome === 'ok'", value: 'white' }, value: 'black' } } },
      { data: { values: r.violations }, mark: { type: 'rect', fill: null, stroke: 'red', strokeWidth: 2, strokeDash: [5, 3] }, encoding: { x: { field: 'from', type: 'quantitative' }, x2: { field: 'to' }, tooltip: { field: 'key' } } },
    ],
  };
}

/** The chart as SVG text. */
export function timelineSvg(input: TimelineInput): Promise<string> {
  return specToSvg(timelineSpec(input));
}
