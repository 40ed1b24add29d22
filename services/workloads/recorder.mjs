/**
 * What every history workload shares (plain Node, no dependencies; the
 * harness copies this file beside the workload script): its JSON argument
 * checked, one monotonic clock, the event list, a seeded random source, the
 * operation budget, the limits and the stop file, how late the process ran
 * its timers, the start marker, and the history printed as one JSON line.
 */
import fs from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * The workload's config from argv[2], exiting 2 naming the first of
 * `required` it lacks; and the recorder for its run.
 */
export function startRecorder(name, required) {
  const cfg = JSON.parse(process.argv[2] ?? '{}');
  for (const k of required) {
    if (cfg[k] === undefined) {
      process.stderr.write(`${name}: missing "${k}" in the JSON argument\n`);
      process.exit(2);
    }
  }
  // How late this process' timers ran (a starved node runs them late): an
  // operation ended by its own timer may end that much past opTimeoutMs.
  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  const t0 = performance.now();
  const wallAtStart = Date.now();
  let started = 0;
  let seed = (cfg.seed ?? 1) >>> 0;
  const events = [];
  return {
    cfg,
    events,
    /** ms since the start, on the monotonic clock. */
    now: () => Math.round((performance.now() - t0) * 1000) / 1000,
    rand() {
      seed = (seed * 1664525 + 1013904223) >>> 0;
      return seed / 2 ** 32;
    },
    /** Whether another operation may start (and counts it): within the time and operation limits, no stop file yet. */
    another() {
      if (performance.now() - t0 >= cfg.timeLimitS * 1000 || started >= cfg.opLimit || (cfg.stopFile && fs.existsSync(cfg.stopFile))) return false;
      started++;
      return true;
    },
    /** Runs `cfg.clients` clients to their end, then prints the history with `extra` as one JSON line. */
    async run(client, extra = {}) {
      // Started (Node itself can take seconds to start on a busy emulated node): the harness plays its faults from now.
      if (cfg.startedFile) fs.writeFileSync(cfg.startedFile, `${wallAtStart}\n`);
      await Promise.all(Array.from({ length: cfg.clients }, (_, i) => client(i)));
      loopDelay.disable();
      const loopDelayMaxMs = Math.round(loopDelay.max / 1e6);
      process.stdout.write(`${JSON.stringify({ wallAtStart, ...extra, loopDelayMaxMs, events })}\n`);
    },
  };
}
