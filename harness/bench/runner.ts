/**
 * Runs a benchmark's sections one after another: progress lines (which
 * section, which step, how long so far), a heartbeat while a step is
 * silent, and failure isolation: a section that throws is recorded as
 * failed with the error's first lines as its reason and no figures, and
 * the next section runs.
 */
import { progress } from '../log.js';
import type { SectionResult, Table } from './report.js';

/** What a section's body gets: a step reporter and the run's parameters. */
export interface SectionContext {
  /** Announces the next step of this section (one progress line). */
  step(what: string): void;
}

/** What a section body returns when it measured everything. */
export interface Measured {
  tables: Table[];
  notes?: string[];
}

export interface SectionDef {
  id: string;
  title: string;
  what: string;
  run(ctx: SectionContext): Promise<Measured>;
  /** Undoes what the section made (volumes, buckets, files); runs after success and failure, its own errors only logged. */
  cleanup?(): Promise<void>;
}

/** The first lines of an error, as a failed section's reason. */
export function reasonOf(e: unknown, maxLines = 12): string {
  const msg = e instanceof Error ? e.message || e.name : String(e);
  const lines = msg.split('\n');
  return lines.length > maxLines ? [...lines.slice(0, maxLines), `... (${lines.length - maxLines} more lines)`].join('\n') : msg;
}

export interface RunOptions {
  /** Progress scope (the command's name). */
  scope: string;
  heartbeatMs?: number;
  /** Called after each section (e.g. to write the report so far). */
  onSection?(s: SectionResult): Promise<void> | void;
}

export async function runSections(defs: SectionDef[], opts: RunOptions): Promise<SectionResult[]> {
  const t0 = Date.now();
  const since = (t: number) => `${((Date.now() - t) / 1000).toFixed(0)}s`;
  const results: SectionResult[] = [];
  for (const [i, def] of defs.entries()) {
    const start = Date.now();
    let current = 'starting';
    progress(opts.scope, `[${i + 1}/${defs.length}] ${def.title} (run total ${since(t0)})`);
    const ctx: SectionContext = {
      step(what) {
        current = what;
        progress(opts.scope, `  ${def.id}: ${what} (section ${since(start)}, total ${since(t0)})`);
      },
    };
    const beat = setInterval(() => progress(opts.scope, `  ${def.id}: still on: ${current} (section ${since(start)}, total ${since(t0)})`), opts.heartbeatMs ?? 30_000);
    let result: SectionResult;
    try {
      const m = await def.run(ctx);
      result = { id: def.id, title: def.title, what: def.what, status: 'measured', tables: m.tables, notes: m.notes ?? [], seconds: (Date.now() - start) / 1000 };
      progress(opts.scope, `  ${def.id}: measured in ${since(start)}`);
    } catch (e) {
      result = { id: def.id, title: def.title, what: def.what, status: 'failed', reason: reasonOf(e), tables: [], notes: [], seconds: (Date.now() - start) / 1000 };
      progress(opts.scope, `  ${def.id}: FAILED after ${since(start)} at "${current}": ${reasonOf(e, 1)}`);
    } finally {
      clearInterval(beat);
    }
    if (def.cleanup) {
      try {
        await def.cleanup();
      } catch (e) {
        progress(opts.scope, `  ${def.id}: cleanup failed: ${reasonOf(e, 3)}`);
        result.notes.push(`Cleanup after this section failed: ${reasonOf(e, 1)}`);
      }
    }
    results.push(result);
    await opts.onSection?.(result);
  }
  return results;
}
