/**
 * What every history workload shares (plain Node, no dependencies; the
 * harness copies this file beside the workload script): its JSON argument
 * checked, one monotonic clock, the event list, a seeded random source, the
 * operation budget, the limits and the stop file, how late the process ran
 * its timers, the start marker, the history printed as one JSON line, and
 * an HTTP request bounded by its own timer.
 */
import fs from 'node:fs';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';

/**
 * One HTTP request with node:http on a connection of its own (no pool: a
 * request stuck on a partitioned server never holds up another), destroyed
 * by our own timer after `timeoutMs` (a TimeoutError). Node 18's fetch
 * ignored its abort signal under partitions (seen: a request ending ok 22 s
 * past a 5 s limit, and one with 503 after 45 s). Resolves with the status,
 * headers and body text whatever the status.
 */
export function httpRequest(url, { method = 'GET', headers = {}, body, timeoutMs }) {
  return new Promise((resolve, reject) => {
    let timedOut = false;
    const req = http.request(url, { method, agent: false, headers: { ...headers, ...(body !== undefined ? { 'content-length': Buffer.byteLength(body) } : {}) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
      });
    });
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy();
    }, timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(timedOut ? Object.assign(new Error('timeout'), { name: 'TimeoutError' }) : e);
    });
    req.end(body);
  });
}

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
