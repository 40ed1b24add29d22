/**
 * A section's figures as an SVG chart, drawn by Vega-Lite (compiled to a
 * Vega view and rendered headless, no browser): one panel per measured
 * quantity, a bar per series at its median with a rule from min to max.
 */
import type { TopLevelSpec } from 'vega-lite';
import { specToSvg } from '../vega-svg.js';
import type { SectionResult } from './report.js';

export interface ChartDatum {
  metric: string;
  series: string;
  median: number;
  min: number;
  max: number;
}

/** The section's figures flattened for the chart (pure). */
export function chartData(s: SectionResult): ChartDatum[] {
  const out: ChartDatum[] = [];
  for (const t of s.tables) {
    for (const r of t.rows) {
      r.cells.forEach((f, i) => {
        if (!f) return;
        const metric = s.tables.length > 1 ? `${t.title}: ${r.label} (${r.unit})` : `${r.label} (${r.unit})`;
        out.push({ metric, series: t.columns[i], median: f.median, min: f.min, max: f.max });
      });
    }
  }
  return out;
}

/** The Vega-Lite spec of a section's chart (pure). */
export function chartSpec(title: string, data: ChartDatum[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: data },
    facet: { row: { field: 'metric', type: 'nominal', title: null, sort: [...new Set(data.map((d) => d.metric))], header: { labelAngle: 0, labelAlign: 'left', labelFontWeight: 'bold', labelLimit: 400 } } },
    spec: {
      width: 420,
      height: { step: 18 },
      layer: [
        {
          mark: { type: 'bar', tooltip: true },
          encoding: {
            y: { field: 'series', type: 'nominal', title: null, sort: null, axis: { labelLimit: 220 } },
            x: { field: 'median', type: 'quantitative', title: 'median (rule: min to max)' },
            color: { field: 'series', type: 'nominal', legend: null },
          },
        },
        {
          mark: { type: 'rule', color: 'black' },
          encoding: {
            y: { field: 'series', type: 'nominal', sort: null },
            x: { field: 'min', type: 'quantitative' },
            x2: { field: 'max' },
          },
        },
        {
          mark: { type: 'text', align: 'left', dx: 4, fontSize: 10 },
          encoding: {
            y: { field: 'series', type: 'nominal', sort: null },
            x: { field: 'max', type: 'quantitative' },
            text: { field: 'median', type: 'quantitative', format: '.3~s' },
          },
        },
      ],
    },
    resolve: { scale: { x: 'independent' } },
    config: { font: 'sans-serif', view: { stroke: null } },
  };
}

/** Renders the section's chart to an SVG document; undefined when it has no figures. */
export async function renderChart(s: SectionResult): Promise<string | undefined> {
  const data = chartData(s);
  if (data.length === 0) return undefined;
  return specToSvg(chartSpec(s.title, data));
}
