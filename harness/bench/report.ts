/**
 * A benchmark report as data (header, sections, tables of figures) and its
 * Markdown rendering. Pure: the runner fills it, charts.ts draws it.
 */
import { type Figure, fmt, fmtFigure, fmtRatio, ratio } from './stats.js';

export interface ReportHeader {
  title: string;
  /** The command line that produced the report. */
  command: string;
  date: string;
  gitRevision: string;
  hostCpu: string;
  hostCores: number;
  /** Accelerator per node (kvm, tcg). */
  accel: Record<string, string>;
  qemu: string;
  hostKernel: string;
  /** Kernel per node (uname -r). */
  nodeKernels: Record<string, string>;
  /** Runs per figure (N of the median). */
  runs: number;
  mode: 'full' | 'quick';
  /** Sizes and durations the jobs used, one line each. */
  sizes: string[];
}

export interface TableRow {
  label: string;
  unit: string;
  /** One figure per column; undefined: this column has no such figure. */
  cells: (Figure | undefined)[];
  /** Upstream's lab figure for this row, as text, if it published one. */
  upstream?: string;
}

export interface Table {
  title: string;
  /** The series compared (targets, nodes, modes). */
  columns: string[];
  rows: TableRow[];
  /** Ratio columns: median of column `num` over median of column `den`, per row. */
  ratios?: { label: string; num: number; den: number }[];
}

export interface SectionResult {
  id: string;
  title: string;
  /** One paragraph: what was measured, where, with which tool. */
  what: string;
  status: 'measured' | 'failed';
  /** Why a failed section measured nothing (the error's first lines). */
  reason?: string;
  tables: Table[];
  notes: string[];
  seconds: number;
  /** File name of the section's chart (beside the report), when one was drawn. */
  chart?: string;
}

export interface Report {
  header: ReportHeader;
  intro: string[];
  sections: SectionResult[];
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderTable(t: Table): string {
  const ratios = t.ratios ?? [];
  const hasUpstream = t.rows.some((r) => r.upstream !== undefined);
  const head = ['', 'unit', ...t.columns, ...ratios.map((r) => r.label), ...(hasUpstream ? ['upstream lab'] : [])];
  const lines = [`| ${head.map(cell).join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? ' --- ' : ' ---: ')).join('|')}|`];
  for (const r of t.rows) {
    const row = [
      r.label,
      r.unit,
      ...t.columns.map((_, i) => fmtFigure(r.cells[i])),
      ...ratios.map((q) => fmtRatio(ratio(r.cells[q.num], r.cells[q.den]))),
      ...(hasUpstream ? [r.upstream ?? '-'] : []),
    ];
    lines.push(`| ${row.map(cell).join(' | ')} |`);
  }
  return [`**${t.title}**`, '', ...lines].join('\n');
}

export function renderHeader(h: ReportHeader): string {
  const accel = Object.entries(h.accel).map(([n, a]) => `${n} ${a}`).join(', ');
  const kernels = new Set(Object.values(h.nodeKernels));
  const nodeKernel = kernels.size <= 1 ? [...kernels][0] ?? '-' : Object.entries(h.nodeKernels).map(([n, k]) => `${n} ${k}`).join(', ');
  const rows: [string, string][] = [
    ['command', `\`${h.command}\``],
    ['date', h.date],
    ['git revision', h.gitRevision],
    ['host CPU', `${h.hostCpu}, ${h.hostCores} cores`],
    ['accelerator per node', accel || '-'],
    ['QEMU (host)', h.qemu],
    ['kernel', `host ${h.hostKernel}; nodes ${nodeKernel}`],
    ['runs per figure (N)', `${h.runs} (${h.mode} mode): each figure is the median of N runs, (min-max) beside it`],
    ...h.sizes.map((s): [string, string] => ['sizes', s]),
  ];
  return ['| | |', '| --- | --- |', ...rows.map(([k, v]) => `| ${cell(k)} | ${cell(v)} |`)].join('\n');
}

export function renderSection(s: SectionResult): string {
  const out = [`## ${s.title}`, '', s.what, ''];
  if (s.status === 'failed') {
    out.push(`**Not measured: this section failed after ${fmt(s.seconds)} s.** No figure below was measured in this run.`, '', '```', s.reason ?? '(no reason recorded)', '```');
    return out.join('\n');
  }
  for (const t of s.tables) out.push(renderTable(t), '');
  if (s.chart) out.push(`![${s.title}](${s.chart})`, '');
  for (const n of s.notes) out.push(`- ${n}`);
  if (s.notes.length) out.push('');
  out.push(`_Section time: ${fmt(s.seconds)} s._`);
  return out.join('\n');
}

export function renderReport(r: Report): string {
  const failed = r.sections.filter((s) => s.status === 'failed');
  const status =
    failed.length === 0
      ? `All ${r.sections.length} sections measured.`
      : `${r.sections.length - failed.length} of ${r.sections.length} sections measured; **failed: ${failed.map((s) => s.title).join(', ')}** (see each section for why).`;
  return [`# ${r.header.title}`, '', renderHeader(r.header), '', status, '', ...r.intro.flatMap((p) => [p, '']), ...r.sections.flatMap((s) => [renderSection(s), ''])].join('\n');
}
