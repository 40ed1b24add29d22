/**
 * What every history workload (services/workloads/*.mjs) shares on the
 * harness side: the recorder module they import, the command that runs
 * one on a node, its output read back as a history, and the bound on an
 * operation's length. The scripts are plain Node with no dependencies, so
 * they are copied to the node as they are (Node.putFile), with
 * recorder.mjs beside them, not bundled.
 */
import path from 'node:path';
import { PROJECT_ROOT } from '../config.js';
import { shellQuote } from '../remote/node.js';
import type { HistoryEvent } from './history.js';

/** What every workload script imports (its clock, events, limits, output): copied beside the script. */
export const WORKLOAD_RECORDER = path.join(PROJECT_ROOT, 'services', 'workloads', 'recorder.mjs');

export interface WorkloadOutput {
  /** The node's wall clock when the workload began (ms): event times are ms after it. */
  wallAtStart: number;
  endpoints: string[];
  serializable: boolean | string[];
  /** The most any of the script's timers ran late (ms): how starved the node was. */
  loopDelayMaxMs: number;
  events: Array<HistoryEvent & { endpoint?: string }>;
}

/**
 * The longest an operation may take when the client's own timer ends it:
 * its limit, plus how late the node ran that timer and then the callbacks
 * that record the end (two waits on a starved event loop, each up to the
 * latest the script measured), plus a moment. Past this bound the timer did
 * not end it (a request left running, as Node 18's fetch did under
 * partitions: tens of seconds). Seen with one lateness only: 4678 ms against
 * 4617 (3000 + 1117 + 500) on a loaded host.
 */
export function operationBoundMs(opTimeoutMs: number, out: Pick<WorkloadOutput, 'loopDelayMaxMs'>): number {
  return opTimeoutMs + 2 * out.loopDelayMaxMs + 500;
}

/** The shell command that runs the script at `script` (a path on the node) with `cfg`, its JSON argument. */
export function workloadCommand(script: string, cfg: object): string {
  return `node ${shellQuote(script)} ${shellQuote(JSON.stringify(cfg))}`;
}

/** The script's stdout as a history; anything else is an error with the text's start. */
export function parseWorkloadOutput(stdout: string): WorkloadOutput {
  const line = stdout.trim().split('\n').at(-1) ?? '';
  let out: WorkloadOutput;
  try {
    out = JSON.parse(line) as WorkloadOutput;
  } catch {
    throw new Error(`the workload printed no history: ${stdout.slice(0, 300)}`);
  }
  if (!Array.isArray(out.events) || !Number.isFinite(out.wallAtStart) || !Number.isFinite(out.loopDelayMaxMs)) throw new Error(`the workload's output has no events, start time or loop delay: ${line.slice(0, 300)}`);
  return out;
}
