/**
 * `bm-agent`: the agent of an installed bare-metal machine
 * (`ultracloud-bm-agent.service`, root). Configured by the file the
 * installer writes (`/etc/ultracloud/bm-agent.json`: {nodeId, installId,
 * token, deployers}), it repeats every CYCLE_MS: fetch the desired system
 * (trying each deployer), write its files (mode, atomic rename),
 * `daemon-reload`, restart the running units whose unit files or
 * referenced files changed, `enable --now` the units, run the checks until
 * all pass (or CHECK_DEADLINE_MS), report. Markers (`ULTRACLOUD_MARKER
 * agent:...`) go to /dev/console and stdout when they change. SIGTERM ends
 * it between steps.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { ConfigError } from '../config.js';
import { sleep } from '../lease.js';
import type { BmCheck, BmFile } from './schema.js';
import { validatePath } from './schema.js';

export const CONFIG_FILE = '/etc/ultracloud/bm-agent.json';
export const CYCLE_MS = 30_000;
export const CHECK_DEADLINE_MS = 120_000;
export const CHECK_RETRY_MS = 3000;
const HTTP_TIMEOUT_MS = 20_000;

export interface BmAgentConfig {
  nodeId: string;
  installId: string;
  token: string;
  deployers: string[];
}

export interface Desired {
  installId: string;
  system: string;
  generation: string;
  units: string[];
  files: BmFile[];
  checks: BmCheck[];
}

/** The config file's JSON; ConfigError (one line) when it is not usable. */
export function parseAgentConfig(text: string, file = CONFIG_FILE): BmAgentConfig {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new ConfigError(`${file}: not JSON (${(e as Error).message})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new ConfigError(`${file}: must be a JSON object`);
  for (const k of ['nodeId', 'installId', 'token'] as const) if (typeof o[k] !== 'string' || !o[k]) throw new ConfigError(`${file}: ${k}: must be a non-empty string`);
  if (!Array.isArray(o.deployers) || o.deployers.length === 0) throw new ConfigError(`${file}: deployers: must be a non-empty list of http://host:port URLs`);
  for (const u of o.deployers) if (typeof u !== 'string' || !/^http:\/\/[^/\s]+:\d+\/?$/.test(u)) throw new ConfigError(`${file}: deployers: not an http://host:port URL: ${JSON.stringify(u)}`);
  return { nodeId: o.nodeId as string, installId: o.installId as string, token: o.token as string, deployers: (o.deployers as string[]).map((u) => u.replace(/\/$/, '')) };
}

/** Whether a file on disk (content and permission bits, or undefined when absent) differs from the desired one. */
export function fileDiffers(existing: { content: Buffer; mode: number } | undefined, f: BmFile): boolean {
  if (!existing) return true;
  return !existing.content.equals(Buffer.from(f.content, 'utf8')) || (existing.mode & 0o7777) !== parseInt(f.mode, 8);
}

/**
 * Units to restart: those running whose `systemctl cat` text (the unit file and drop-ins, with their paths in the
 * headers, and what they reference: EnvironmentFile=, ExecStart= scripts) names a changed file. Pure.
 */
export function unitsToRestart(changed: string[], units: { unit: string; active: boolean; cat: string }[]): string[] {
  if (changed.length === 0) return [];
  return units.filter((u) => u.active && changed.some((p) => u.cat.includes(p))).map((u) => u.unit);
}

/** `systemctl is-active A B ...` prints one state per unit (its exit code says only whether one is active). */
export function allActive(output: string, units: number): boolean {
  const states = output.split('\n').map((l) => l.trim()).filter(Boolean);
  return states.length === units && states.every((s) => s === 'active');
}

export type Run = (cmd: string, args: string[], timeoutMs?: number) => Promise<{ code: number; output: string }>;

export const run: Run = (cmd, args, timeoutMs = 60_000) =>
  new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 124) : 0;
      const timedOut = !!err && (err as { killed?: boolean }).killed;
      resolve({ code: timedOut ? 124 : code, output: `${stdout}${stderr}${timedOut ? `\n(timed out after ${timeoutMs / 1000} s)` : ''}`.trim() });
    });
  });

function request(method: 'GET' | 'POST', url: string, token: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const u = new URL(url);
  const data = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method,
        timeout: HTTP_TIMEOUT_MS,
        headers: { authorization: `Bearer ${token}`, ...(data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {}) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
          } catch {
            resolve({ status: res.statusCode ?? 0, json: { error: text.slice(0, 200) } });
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${HTTP_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

/** Asks each deployer in turn; the first 2xx answer wins. Throws with every deployer's answer. */
async function ask(cfg: BmAgentConfig, method: 'GET' | 'POST', p: string, body?: unknown): Promise<unknown> {
  const errors: string[] = [];
  for (const d of cfg.deployers) {
    try {
      const r = await request(method, d + p, cfg.token, body);
      if (r.status >= 200 && r.status < 300) return r.json;
      errors.push(`${d}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
    } catch (e) {
      errors.push(`${d}: ${(e as Error).message}`);
    }
  }
  throw new Error(`${method} ${p}: ${errors.join('; ')}`);
}

/** Checks a desired system from a deployer before anything is applied. */
export function parseDesired(raw: unknown): Desired {
  const o = raw as Desired;
  if (typeof o !== 'object' || o === null || typeof o.generation !== 'string' || typeof o.system !== 'string' || !Array.isArray(o.units) || !Array.isArray(o.files) || !Array.isArray(o.checks)) {
    throw new Error(`desired: not a desired system: ${JSON.stringify(raw).slice(0, 200)}`);
  }
  for (const f of o.files) {
    validatePath('desired.files[].path', f.path);
    if (typeof f.content !== 'string' || !/^0?[0-7]{3,4}$/.test(f.mode)) throw new Error(`desired: bad file ${f.path}`);
  }
  return o;
}

/** Writes a file atomically (a temp file in its folder, then rename); makes the folder. */
export function writeFileAtomic(f: BmFile): void {
  fs.mkdirSync(path.dirname(f.path), { recursive: true, mode: 0o755 });
  const tmp = `${f.path}.uc-tmp-${process.pid}`;
  fs.writeFileSync(tmp, f.content, { mode: parseInt(f.mode, 8) });
  fs.chmodSync(tmp, parseInt(f.mode, 8));
  fs.renameSync(tmp, f.path);
}

function stat(p: string): { content: Buffer; mode: number } | undefined {
  try {
    return { content: fs.readFileSync(p), mode: fs.statSync(p).mode };
  } catch {
    return undefined;
  }
}

export interface CheckResult {
  name: string;
  ok: boolean;
  output: string;
}

export async function runCheck(c: BmCheck, exec: Run = run): Promise<CheckResult> {
  const timeoutMs = (c.timeoutS ?? 20) * 1000;
  const r = 'unit' in c ? await exec('systemctl', ['is-active', c.unit], timeoutMs) : await exec('/bin/sh', ['-c', c.exec], timeoutMs);
  return { name: c.name, ok: r.code === 0, output: r.output.slice(-1000) };
}

export function marker(text: string, log: (m: string) => void): void {
  const line = `ULTRACLOUD_MARKER ${text}`;
  log(line);
  try {
    fs.appendFileSync('/dev/console', `${line}\n`);
  } catch {
    // no console (a test): stdout has it
  }
}

export async function runBmAgent(cfgFile: string, signal: AbortSignal, log: (m: string) => void): Promise<void> {
  let text: string;
  try {
    text = fs.readFileSync(cfgFile, 'utf8');
  } catch (e) {
    throw new ConfigError(`${cfgFile}: ${(e as Error).message}`);
  }
  const cfg = parseAgentConfig(text, cfgFile);
  marker(`agent:start ${cfg.nodeId} ${cfg.installId}`, log);
  let lastMarker = '';
  let appliedGen = '';
  const once = (m: string) => {
    if (m !== lastMarker) marker(m, log);
    lastMarker = m;
  };
  while (!signal.aborted) {
    let wait = CYCLE_MS;
    try {
      const d = parseDesired(await ask(cfg, 'GET', `/v1/bm/nodes/${cfg.nodeId}/desired`));
      // Files, then the units that use changed ones.
      const changed: string[] = [];
      for (const f of d.files) {
        if (fileDiffers(stat(f.path), f)) {
          writeFileAtomic(f);
          changed.push(f.path);
        }
      }
      if (changed.length) {
        log(`wrote ${changed.join(', ')}`);
        await run('systemctl', ['daemon-reload']);
        const units = [];
        for (const unit of d.units) {
          const active = (await run('systemctl', ['is-active', '--quiet', unit])).code === 0;
          units.push({ unit, active, cat: active ? (await run('systemctl', ['cat', unit])).output : '' });
        }
        const restart = unitsToRestart(changed, units);
        if (restart.length) {
          log(`restarting ${restart.join(', ')} (their files changed)`);
          const r = await run('systemctl', ['restart', ...restart], 300_000);
          if (r.code !== 0) log(`systemctl restart: ${r.output}`);
        }
      }
      // enable --now when something changed or a unit is not running (a systemctl call is seconds on TCG: not every cycle).
      const stale = changed.length > 0 || d.generation !== appliedGen || (d.units.length > 0 && !allActive((await run('systemctl', ['is-active', ...d.units])).output, d.units.length));
      if (d.units.length && stale) {
        const r = await run('systemctl', ['enable', '--now', ...d.units], 300_000);
        if (r.code !== 0) log(`systemctl enable --now ${d.units.join(' ')}: ${r.output}`);
      }
      if (changed.length || d.generation !== appliedGen) {
        marker(`agent:applied ${d.system} ${d.generation}`, log);
        appliedGen = d.generation;
        lastMarker = '';
      }
      // Checks until all pass or the deadline.
      const deadline = Date.now() + CHECK_DEADLINE_MS;
      let results: CheckResult[] = [];
      for (;;) {
        results = [];
        for (const c of d.checks) results.push(await runCheck(c));
        const bad = results.filter((r) => !r.ok);
        if (bad.length === 0) break;
        once(`agent:unhealthy ${bad.map((b) => b.name).join(',')}`);
        if (Date.now() > deadline || signal.aborted) break;
        await sleep(CHECK_RETRY_MS, signal);
      }
      const healthy = results.every((r) => r.ok);
      const ans = (await ask(cfg, 'POST', `/v1/bm/nodes/${cfg.nodeId}/report`, { installId: cfg.installId, generation: d.generation, healthy, checks: results })) as { state?: string };
      if (healthy) once(`agent:healthy ${d.system} ${d.generation}`);
      else log(`unhealthy: ${results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.output.split('\n').pop()}`).join('; ')}`);
      log(`reported ${healthy ? 'healthy' : 'unhealthy'} ${d.system} ${d.generation}: deployer says ${ans?.state ?? '?'}`);
    } catch (e) {
      log(`cycle failed: ${(e as Error).message}`);
      wait = 5000;
    }
    await sleep(wait, signal);
  }
  log('bm-agent stopped');
}
