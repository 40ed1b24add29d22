/**
 * The deployer (one per control node): campaigns for the leader key in
 * chainfire (a create-only transaction bound to its lease); the leader
 * reconciles: reads the whole state, plans (placement.ts) and writes the
 * difference in one transaction fenced on its leader key, on every change
 * it watches and every PASS_MS. Standbys watch the leader key and campaign
 * when it goes (and every CAMPAIGN_MS). On
 * SIGTERM it revokes its lease, so a standby takes over at once; a leader
 * that dies without that is replaced when its lease runs out.
 * Every deployer, leader or not, serves the view over HTTP.
 */
import fs from 'node:fs';
import http from 'node:http';
import { deployerUrls, handleBm } from './baremetal/api.js';
import { BM_PREFIX } from './baremetal/store.js';
import type { Config } from './config.js';
import { Etcd, type Op } from './etcd.js';
import { KeptLease, Waker, sleep } from './lease.js';
import { type LeadershipEvent, leadershipLine } from './leadership-log.js';
import { assignmentKey, diff, instanceName, plan } from './placement.js';
import { K, PREFIX, assignmentValue, readState } from './state.js';
import { sdNotify, statusArg } from './systemd.js';
import { STALE_MS, buildView, summaryLine } from './view.js';

/** A leader's pass without a change to react to (changes come through its watch at once). */
export const PASS_MS = 30_000;
/** A standby campaigns at once when its watch sees the leader key go, else every CAMPAIGN_MS. */
export const CAMPAIGN_MS = 30_000;

/** The role's node list (`name addr kind`): the deployers a bare-metal machine is told about. */
export const ROLE_NODES_FILE = '/usr/lib/ultracloud/roles/deployer.nodes';

export async function runDeployer(cfg: Config, signal: AbortSignal, log: (m: string) => void): Promise<void> {
  const etcd = new Etcd(cfg.etcd);
  let leaderRev = 0;
  let lastContact = 0;
  let lastStatus = '';
  let lastStatusAt = 0;
  const leadership = (e: LeadershipEvent) => log(leadershipLine(e));
  /** Leads no more: says so once, with why (the history's end of this term). */
  const stepDown = (why: string, leaseId = lease.id) => {
    if (leaderRev) {
      leadership({ event: 'step-down', term: leaderRev, lease: leaseId, why });
      // What `systemctl status` shows: it said "leader since ..." until the next restart.
      void sdNotify(statusArg(`standby since ${new Date().toISOString()} (${why})`));
    }
    leaderRev = 0;
  };
  const lease = new KeptLease(etcd, cfg.leaseTtlS, log, (oldId) => {
    if (leaderRev) log('lease expired: no longer leader');
    stepDown('lease expired', oldId);
  });

  let roleNodes = '';
  try {
    roleNodes = fs.readFileSync(ROLE_NODES_FILE, 'utf8');
  } catch {
    // only this deployer is named then
  }
  const bm = { etcd, deployers: () => deployerUrls(roleNodes, cfg.addr, cfg.listen.port), log };

  const server = http.createServer((req, res) => {
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(`${JSON.stringify(body)}\n`);
    };
    const url = req.url?.split('?')[0];
    // Bare-metal bootstrap (baremetal/api.ts): answered by every deployer, state in chainfire.
    if (url?.startsWith('/v1/bm/')) {
      void handleBm(bm, req, res);
      return;
    }
    if (req.method !== 'GET') return send(405, { error: 'GET only (and POST under /v1/bm/)' });
    if (url === '/healthz') {
      const ok = Date.now() - Math.max(lastContact, lease.lastRenewed) < 30_000;
      return send(ok ? 200 : 503, { ok, node: cfg.node, role: leaderRev ? 'leader' : 'standby', ...(ok ? {} : { error: 'chainfire not reached for 30 s' }) });
    }
    if (url === '/v1/status' || url === '/v1/summary') {
      readState(etcd).then(
        (st) => {
          lastContact = Date.now();
          const v = buildView(st, Date.now());
          if (url === '/v1/summary') return send(200, { at: v.at, leader: v.leader, services: v.services.map((s) => ({ name: s.name, replicas: s.replicas, healthy: s.healthy, placed: s.placed, leaving: s.leaving, nodes: s.nodes })) });
          send(200, { self: cfg.node, role: leaderRev ? 'leader' : 'standby', ...v });
        },
        (e: Error) => send(503, { error: `chainfire: ${e.message}` }),
      );
      return;
    }
    send(404, { error: 'unknown path (GET /healthz, /v1/status, /v1/summary)' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.listen.port, cfg.listen.host, () => resolve());
  });

  await lease.start(signal);
  lastContact = Date.now();
  await sdNotify('--ready', statusArg(`standby; lease ${lease.id} TTL ${lease.ttlS}s`));
  log(`deployer ${cfg.node} up: HTTP ${cfg.listen.host}:${cfg.listen.port}, chainfire ${cfg.etcd.join(',')}`);

  const waker = new Waker();
  let dirty = false;
  let movesPending = false;
  const poke = () => {
    dirty = true;
    waker.wake(300);
  };
  let watching: AbortController | undefined;

  const campaign = async () => {
    const r = await etcd.txn(
      [{ key: K.leader, target: 'CREATE', createRevision: 0 }],
      [{ put: { key: K.leader, value: JSON.stringify({ name: cfg.node, since: Date.now() }), lease: lease.id } }],
      [{ range: { key: K.leader } }],
    );
    if (r.succeeded) {
      const me = await etcd.get(K.leader);
      if (me && me.lease === lease.id) {
        leaderRev = me.createRevision;
        log(`leading (leader key revision ${leaderRev})`);
        leadership({ event: 'lead', term: leaderRev, lease: lease.id });
        await sdNotify(statusArg(`leader since ${new Date().toISOString()}`));
      }
    } else {
      const cur = r.ranges[0]?.[0];
      // Our own key from before a restart of the loop (same lease): take it back.
      if (cur && cur.lease === lease.id) {
        leaderRev = cur.createRevision;
        leadership({ event: 'lead', term: leaderRev, lease: lease.id });
      }
    }
  };

  const pass = async () => {
    const st = await readState(etcd);
    lastContact = Date.now();
    if (!st.leader || st.leader.createRevision !== leaderRev) {
      log(`leader key is ${st.leader ? `${st.leader.name}'s` : 'gone'}: standing by`);
      stepDown(`leader key is ${st.leader ? `${st.leader.name}'s (revision ${st.leader.createRevision})` : 'gone'}`);
      return;
    }
    const now = Date.now();
    const p = plan({ services: st.services, nodes: st.nodes, assignments: st.assignments, health: st.health, now, staleMs: STALE_MS });
    const d = diff(st.assignments, p.assignments);
    movesPending = p.assignments.some((a) => a.state === 'leaving');
    const ops: Op[] = [
      ...d.put.map((a) => ({ put: { key: K.assign(a.node, instanceName(a.service, a.replica)), value: assignmentValue(a) } })),
      ...d.del.map((a) => ({ del: { key: K.assign(a.node, instanceName(a.service, a.replica)) } })),
    ];
    const problems = JSON.stringify([...p.problems, ...st.invalid.map((i) => ({ service: i.key, kind: 'invalid', message: i.error }))]);
    if (problems !== lastStatus || lastStatusAt === 0) {
      ops.push({ put: { key: K.status, value: JSON.stringify({ by: cfg.node, at: now, problems: JSON.parse(problems) }) } });
      lastStatus = problems;
      lastStatusAt = now;
    }
    if (ops.length === 0) return;
    const keys = ops.map((o) => ('put' in o ? o.put.key : 'del' in o ? o.del.key : o.range.key));
    let r: Awaited<ReturnType<typeof etcd.txn>>;
    try {
      r = await etcd.txn([{ key: K.leader, target: 'CREATE', createRevision: leaderRev }], ops);
    } catch (e) {
      // No answer (a timeout, a member without quorum): the write may still commit, fenced like any other.
      leadership({ event: 'unknown', term: leaderRev, lease: lease.id, keys });
      throw e;
    }
    if (!r.succeeded) {
      log('lost the leader key during a pass: standing by');
      leadership({ event: 'fenced', term: leaderRev, lease: lease.id });
      stepDown('fenced: the leader key changed during a pass');
      return;
    }
    // Every write a leader makes, with the revision it committed at: the history a faults test checks against chainfire's.
    leadership({ event: 'act', term: leaderRev, lease: lease.id, revision: r.revision, keys });
    for (const a of d.put) log(`assign ${assignmentKey(a)} ${a.state}`);
    for (const a of d.del) log(`unassign ${assignmentKey(a)}`);
    if (d.put.length + d.del.length > 0) {
      const after = buildView({ ...st, assignments: p.assignments }, now);
      log(`pass: ${summaryLine(after)}${p.problems.length ? `; problems: ${p.problems.map((x) => x.message).join('; ')}` : ''}`);
    }
  };

  /** Watches `prefix` from `fromRev`, poking the loop for events `wanted` keeps (replacing the previous watch). */
  let watchingMode: 'standby' | 'leader' | undefined;
  const startWatch = (mode: 'standby' | 'leader', prefix: string, fromRev: number, wanted: (key: string, type: string) => boolean) => {
    watching?.abort();
    const ac = new AbortController();
    watching = ac;
    watchingMode = mode;
    void (async () => {
      let rev = fromRev;
      while (!ac.signal.aborted && !signal.aborted) {
        try {
          await etcd.watch(prefix, rev, (evs) => {
            rev = Math.max(rev, ...evs.map((e) => e.kv.modRevision + 1));
            if (evs.some((e) => wanted(e.kv.key, e.type))) poke();
          }, ac.signal);
        } catch (e) {
          log(`watch: ${(e as Error).message}`);
        }
        await sleep(2000, ac.signal);
      }
    })();
  };

  while (!signal.aborted) {
    // This turn answers every wake-up so far. (Left set in a standby, a poke made every later wait return at once:
    // a campaign after campaign, a quarter of a guest's CPU and chainfire's with it.)
    dirty = false;
    try {
      if (!leaderRev) {
        if (watchingMode !== 'standby') {
          const { revision } = await etcd.list(K.leader);
          // The leader key deleted (its deployer stopped or its lease ran out): campaign at once.
          startWatch('standby', K.leader, revision + 1, (key, type) => key === K.leader && type === 'DELETE');
        }
        await campaign();
        lastContact = Date.now();
        if (leaderRev) {
          const { revision } = await etcd.list(K.leader);
          // Health reports (every few seconds per instance) matter only while a move waits for its new copy to be healthy.
          startWatch('leader', PREFIX, revision + 1, (key) => movesPending || (!key.startsWith(`${PREFIX}health/`) && key !== K.status && !key.startsWith(BM_PREFIX)));
        }
      }
      // A new leader's first pass too, at once.
      if (leaderRev) await pass();
    } catch (e) {
      log(`pass failed: ${(e as Error).message}`);
    }
    if (signal.aborted) break;
    // Next pass: at once after a change (debounced), else after PASS_MS (leader) or CAMPAIGN_MS (standby).
    if (dirty) waker.wake(300);
    await waker.wait(leaderRev ? PASS_MS : CAMPAIGN_MS, signal);
  }
  watching?.abort();
  server.close();
  // Hand over at once: the leader key goes with the lease.
  await lease.stop(true);
  const handedOver = leaderRev !== 0;
  stepDown('stopped: lease revoked');
  log(`deployer ${cfg.node} stopped${handedOver ? ' (handed over: lease revoked)' : ''}`);
}
