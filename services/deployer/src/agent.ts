/**
 * The agent (one per worker): registers its node in chainfire under a
 * lease it keeps alive (its absence is how the deployer sees a failed
 * node), watches its assignments, runs each assigned instance as a
 * transient systemd unit (`uc-svc-<instance>.service`, restarted by
 * systemd when it exits, collected when it fails so no failed unit is left
 * behind), stops units no longer assigned, and runs each instance's health
 * check, reporting the result under its lease.
 *
 * Stopping the agent leaves the instances running (an agent restart must
 * not take services down); its lease then runs out, the deployer moves the
 * instances elsewhere, and the agent stops its now unassigned copies when
 * it comes back.
 */
import { execFile } from 'node:child_process';
import crypto from 'node:crypto';
import type { Config } from './config.js';
import { Etcd } from './etcd.js';
import { KeptLease, Waker, sleep } from './lease.js';
import { instanceName } from './placement.js';
import type { ServiceDef } from './schema.js';
import { K, PREFIX, readState } from './state.js';
import { sdNotify, statusArg } from './systemd.js';

/** A full re-read without a change seen (changes come through the watches at once). */
export const RESYNC_MS = 30_000;
/** A health report unchanged is written again after this long. */
export const REPORT_MS = 8000;
export const UNIT_PREFIX = 'uc-svc-';

export interface Instance {
  instance: string;
  def: ServiceDef;
  replica: number;
}

/** The environment an instance's command and health check run with. */
export function instanceEnv(i: Instance, cfg: Pick<Config, 'node' | 'addr'>): Record<string, string> {
  return {
    SERVICE: i.def.name,
    INSTANCE: i.instance,
    REPLICA: String(i.replica),
    NODE: cfg.node,
    ADDR: cfg.addr,
    STATE: `/run/${UNIT_PREFIX}${i.instance}`,
    ...(i.def.port !== undefined ? { PORT: String(i.def.port + i.replica) } : {}),
  };
}

/** What a unit runs, hashed: a changed definition restarts its instances. */
export function specHash(i: Instance): string {
  return crypto.createHash('sha256').update(JSON.stringify([i.def.command, i.def.port, i.replica])).digest('hex').slice(0, 12);
}

/** `systemd-run` arguments for an instance. */
export function unitArgs(i: Instance, cfg: Pick<Config, 'node' | 'addr'>): string[] {
  const env = instanceEnv(i, cfg);
  return [
    `--unit=${UNIT_PREFIX}${i.instance}`,
    `--description=ultracloud service ${i.instance} [${specHash(i)}]`,
    '--collect',
    '--no-block',
    '-p', 'Restart=always',
    '-p', 'RestartSec=2',
    '-p', `RuntimeDirectory=${UNIT_PREFIX}${i.instance}`,
    '-p', 'TimeoutStopSec=10',
    ...Object.entries(env).map(([k, v]) => `--setenv=${k}=${v}`),
    '/bin/sh', '-c', i.def.command,
  ];
}

/** Units listed by `systemctl list-units --all --plain --no-legend 'uc-svc-*'`: instance -> {active, hash}. */
export function parseUnits(text: string): Map<string, { active: string; hash: string }> {
  const out = new Map<string, { active: string; hash: string }>();
  for (const line of text.split('\n')) {
    const m = line.trim().match(/^(\S+)\.service\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$/);
    if (!m || !m[1].startsWith(UNIT_PREFIX)) continue;
    out.set(m[1].slice(UNIT_PREFIX.length), { active: m[3], hash: m[5].match(/\[([0-9a-f]+)\]/)?.[1] ?? '' });
  }
  return out;
}

function run(file: string, args: string[], timeoutMs: number, env?: Record<string, string>): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, env: env ? { ...process.env, ...env } : process.env, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 124) : 0;
      resolve({ code, out: `${stdout}${stderr}`.trim() });
    });
  });
}

export async function runAgent(cfg: Config, signal: AbortSignal, log: (m: string) => void): Promise<void> {
  const etcd = new Etcd(cfg.etcd);
  const info = JSON.stringify({ name: cfg.node, kind: cfg.kind, addr: cfg.addr });
  let desired = new Map<string, Instance>();
  const lastCheck = new Map<string, number>();
  const reported = new Map<string, { healthy: boolean; at: number }>();
  /** Instance units seen or started at the last sync (-1: not looked yet, so the first sync stops leftovers). */
  let knownUnits = -1;
  const lease = new KeptLease(etcd, cfg.leaseTtlS, log, async () => {
    await register();
    lastCheck.clear();
    reported.clear();
  });
  const register = async () => {
    await etcd.put(K.inventory(cfg.node), info);
    await etcd.put(K.alive(cfg.node), info, lease.id);
  };

  await lease.start(signal);
  for (;;) {
    try {
      await register();
      break;
    } catch (e) {
      log(`registering: ${(e as Error).message}`);
      await sleep(2000, signal);
      if (signal.aborted) return;
    }
  }
  await sdNotify('--ready', statusArg(`registered ${cfg.node} (lease ${lease.id}, TTL ${lease.ttlS}s)`));
  log(`agent ${cfg.node} registered (${cfg.kind}, ${cfg.addr}); lease ${lease.id} TTL ${lease.ttlS} s`);

  let dirty = true;
  const waker = new Waker();
  const poke = () => {
    dirty = true;
    waker.wake(200);
  };

  const sync = async () => {
    const st = await readState(etcd);
    const defs = new Map(st.services.map((s) => [s.name, s]));
    const next = new Map<string, Instance>();
    for (const a of st.assignments.filter((x) => x.node === cfg.node)) {
      const def = defs.get(a.service);
      if (def && a.replica < def.replicas) next.set(instanceName(a.service, a.replica), { instance: instanceName(a.service, a.replica), def, replica: a.replica });
    }
    desired = next;
    // Health reports of instances no longer here.
    for (const h of st.health.filter((x) => x.node === cfg.node && !next.has(x.instance))) await etcd.del(K.health(cfg.node, h.instance));
    for (const name of reported.keys()) if (!next.has(name)) reported.delete(name);
    // Nothing to run and nothing left running at the last look: no need to ask systemd (a process start, dear under TCG).
    if (next.size === 0 && knownUnits === 0) return;
    const units = parseUnits((await run('systemctl', ['list-units', '--all', '--plain', '--no-legend', `${UNIT_PREFIX}*`], 30_000)).out);
    knownUnits = units.size + next.size;
    for (const [name, i] of next) {
      const u = units.get(name);
      const hash = specHash(i);
      if (u && u.hash === hash && ['active', 'activating', 'reloading'].includes(u.active)) continue;
      if (u) await run('systemctl', ['stop', `${UNIT_PREFIX}${name}.service`], 30_000);
      const r = await run('systemd-run', unitArgs(i, cfg), 30_000);
      log(`start ${name}${u ? ` (was ${u.active}${u.hash !== hash ? ', definition changed' : ''})` : ''}: ${r.code === 0 ? 'ok' : `exit ${r.code}: ${r.out}`}`);
      lastCheck.delete(name);
      reported.delete(name);
    }
    for (const [name, u] of units) {
      if (next.has(name)) continue;
      if (u.active !== 'inactive') {
        const r = await run('systemctl', ['stop', `${UNIT_PREFIX}${name}.service`], 30_000);
        log(`stop ${name} (no longer assigned here): ${r.code === 0 ? 'ok' : `exit ${r.code}: ${r.out}`}`);
      }
    }
  };

  const checkHealth = async () => {
    const now = Date.now();
    await Promise.all(
      [...desired.values()].map(async (i) => {
        if (now - (lastCheck.get(i.instance) ?? 0) < i.def.health.intervalS * 1000) return;
        lastCheck.set(i.instance, now);
        const active = await run('systemctl', ['is-active', `${UNIT_PREFIX}${i.instance}.service`], 15_000);
        const check = active.out === 'active' ? await run('/bin/sh', ['-c', i.def.health.command], i.def.health.timeoutS * 1000, instanceEnv(i, cfg)) : undefined;
        const healthy = active.out === 'active' && check?.code === 0;
        const detail = active.out !== 'active' ? `unit ${active.out}` : healthy ? 'ok' : `check exit ${check?.code}: ${check?.out.slice(-200)}`;
        if (!desired.has(i.instance)) return;
        // Written when it changes, else refreshed every REPORT_MS (the deployer counts a report older than 20 s as unhealthy).
        const prev = reported.get(i.instance);
        if (prev && prev.healthy === healthy && Date.now() - prev.at < REPORT_MS) return;
        reported.set(i.instance, { healthy, at: Date.now() });
        await etcd.put(K.health(cfg.node, i.instance), JSON.stringify({ healthy, at: Date.now(), detail }), lease.id).catch((e: Error) => log(`health report: ${e.message}`));
      }),
    );
  };

  const watcher = new AbortController();
  signal.addEventListener('abort', () => watcher.abort(), { once: true });
  // Two watches: this node's assignments and the definitions (not the whole prefix: other agents' health reports would wake it).
  const watchLoop = async (prefix: string) => {
    let rev = 0;
    while (!watcher.signal.aborted) {
      try {
        const from = rev || (await etcd.list(prefix)).revision + 1;
        await etcd.watch(prefix, from, (evs) => {
          rev = Math.max(rev, ...evs.map((e) => e.kv.modRevision + 1));
          poke();
        }, watcher.signal);
      } catch (e) {
        log(`watch: ${(e as Error).message}`);
      }
      await sleep(2000, watcher.signal);
    }
  };
  void watchLoop(K.assignPrefix(cfg.node));
  void watchLoop(`${PREFIX}services/`);

  let lastSync = 0;
  while (!signal.aborted) {
    try {
      if (dirty || Date.now() - lastSync > RESYNC_MS) {
        dirty = false;
        await sync();
        lastSync = Date.now();
      }
      await checkHealth();
    } catch (e) {
      log(`sync failed: ${(e as Error).message}`);
      dirty = true;
    }
    // Health checks are due every second while instances run; otherwise only a change or the resync wakes it.
    await waker.wait(desired.size > 0 ? 1000 : RESYNC_MS, signal);
  }
  watcher.abort();
  // The lease is left to run out: a stopped agent is a failed node to the deployer; instances keep running.
  await lease.stop(false);
  log(`agent ${cfg.node} stopped (instances left running; lease ${lease.id} runs out in at most ${lease.ttlS} s)`);
}
