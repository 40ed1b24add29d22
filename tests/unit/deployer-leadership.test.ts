/**
 * The deployer's leadership history end to end on this host: two real
 * deployers (the esbuild bundle the image carries) on a real one-member
 * etcd (Debian's etcd-server, which `make deps` installs), the leader frozen
 * with SIGSTOP past its lease. Each deployer's `leadership {...}` lines and
 * etcd's own watch history, read as the faults project reads them
 * (stacks/reference/deployer/leadership.ts), must check as safe with a
 * term per leader, each acting; and a leader write nobody logged (a put on
 * the status key by hand) must be found.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LeadershipHistory, checkLeadership } from '../../harness/consistency/leadership.js';
import { bundleDeployer } from '../../services/deployer/build.js';
import { b64 } from '../../services/deployer/src/etcd.js';
import { K } from '../../services/deployer/src/state.js';
import { eventsFromJournal, historyFromWatch } from '../../stacks/reference/deployer/leadership.js';
import { LocalEtcd } from './helpers/local-etcd.js';
import { freePorts, waitUntil } from './helpers/local-redis.js';


describe('deployer leadership on a real etcd', () => {
  let etcd: LocalEtcd | undefined;
  const deployers = new Map<string, { proc: ChildProcess; out: string[] }>();
  let dir: string;
  let gateway: string;
  let bundle: string;

  const post = async (p: string, body: unknown) => {
    const r = await fetch(`${gateway}/v3/${p}`, { method: 'POST', body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`POST /v3/${p}: HTTP ${r.status}`);
    return (await r.json()) as Record<string, unknown>;
  };
  const leader = async () => {
    const r = (await post('kv/range', { key: b64(K.leader) })) as { header: { revision: string }; kvs?: { value: string; create_revision: string; lease: string }[] };
    const kv = r.kvs?.[0];
    return { revision: Number(r.header.revision), term: kv ? { term: Number(kv.create_revision), holder: (JSON.parse(Buffer.from(kv.value, 'base64').toString()) as { name: string }).name, lease: kv.lease } : undefined };
  };
  const startDeployer = async (name: string) => {
    const [port] = await freePorts(1);
    const proc = spawn(process.execPath, [bundle, 'deployer'], {
      env: { PATH: process.env.PATH, DEPLOYER_ETCD: gateway, DEPLOYER_NODE: name, DEPLOYER_LISTEN: `127.0.0.1:${port}`, DEPLOYER_LEASE_TTL_S: '2' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const d = { proc, out: [] as string[] };
    proc.stdout!.on('data', (c: Buffer) => d.out.push(c.toString()));
    deployers.set(name, d);
  };
  /** The whole watch history from revision 1 up to `to` (the JSON lines the gateway streams), as the faults project reads it. */
  const watchLines = async (to: number) => {
    const ac = new AbortController();
    const r = await fetch(`${gateway}/v3/watch`, { method: 'POST', body: JSON.stringify({ create_request: { key: b64('/ultracloud/'), range_end: b64('/ultracloud0'), start_revision: '1' } }), signal: ac.signal });
    const lines: string[] = [];
    let buf = '';
    const dec = new TextDecoder();
    for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
      buf += dec.decode(chunk);
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
      const last = parts.at(-1);
      if (last && Math.max(0, ...((JSON.parse(last) as { result: { events?: { kv: { mod_revision: string } }[] } }).result.events ?? []).map((e) => Number(e.kv.mod_revision))) >= to) break;
    }
    ac.abort();
    return lines;
  };
  const history = async (from: number, mark: Awaited<ReturnType<typeof leader>>): Promise<LeadershipHistory> => {
    const end = (await post('kv/put', { key: b64('/ultracloud/faults/end'), value: b64('x') })) as { header: { revision: string } };
    const to = Number(end.header.revision);
    const { terms, writes } = historyFromWatch(await watchLines(to), { revision: from, atS: 0, term: mark.term });
    const actions: LeadershipHistory['actions'] = [];
    for (const [node, d] of deployers) {
      for (const e of eventsFromJournal(d.out.join(''))) if (e.event === 'act') actions.push({ node, term: e.term, lease: e.lease, revision: e.revision, keys: e.keys });
    }
    return { from, to, terms, writes, actions, fenced: [], unknown: [] };
  };

  beforeAll(async () => {
    etcd = await LocalEtcd.start();
    gateway = etcd.url;
    dir = etcd.dir;
    bundle = path.join(dir, 'deployer.js');
    await bundleDeployer(bundle);
  }, 90_000);

  afterAll(() => {
    for (const d of deployers.values()) {
      d.proc.kill('SIGCONT');
      d.proc.kill('SIGKILL');
    }
    etcd?.stop();
  });

  it('a leader frozen past its lease: the standby takes over and acts, the frozen one steps down on waking; the history is safe, and a write nobody logged is found', async () => {
    const mark = await leader();
    await startDeployer('alpha');
    await waitUntil('alpha leads', 30_000, async () => {
      if ((await leader()).term?.holder !== 'alpha') throw new Error('no');
    });
    await startDeployer('beta');
    const alphaTerm = (await leader()).term!;
    // alpha's first pass writes the status: an action of its term.
    await waitUntil('alpha acted', 30_000, async () => {
      if (!eventsFromJournal(deployers.get('alpha')!.out.join('')).some((e) => e.event === 'act')) throw new Error('no');
    });
    deployers.get('alpha')!.proc.kill('SIGSTOP');
    await waitUntil('beta leads after alpha\'s lease ran out', 30_000, async () => {
      if ((await leader()).term?.holder !== 'beta') throw new Error('no');
    });
    await waitUntil('beta acted', 30_000, async () => {
      if (!eventsFromJournal(deployers.get('beta')!.out.join('')).some((e) => e.event === 'act')) throw new Error('no');
    });
    // Work for whoever leads while alpha sleeps: a service no node can host changes the status (a problem to report).
    await post('kv/put', { key: b64(K.service('web')), value: b64(JSON.stringify({ command: 'true', health: { command: 'true', intervalS: 5, timeoutS: 5 }, replicas: 1, placement: { kinds: ['worker'], antiAffinity: 'preferred', maxPerNode: 1 } })) });
    await waitUntil('beta reported the problem', 30_000, async () => {
      if (eventsFromJournal(deployers.get('beta')!.out.join('')).filter((e) => e.event === 'act').length < 2) throw new Error('no');
    });
    const alphaEvents = () => eventsFromJournal(deployers.get('alpha')!.out.join(''));
    const before = alphaEvents().length;
    deployers.get('alpha')!.proc.kill('SIGCONT');
    // Whatever alpha does first on waking (step down, or, were it unfenced, write as leader), then a moment for more.
    await waitUntil('alpha did something after waking', 30_000, async () => {
      if (alphaEvents().length === before) throw new Error('no');
    });
    await new Promise((r) => setTimeout(r, 1500));

    const h = await history(mark.revision, mark);
    const c = checkLeadership(h);
    expect(c.violations, c.violations.join('; ')).toEqual([]);
    expect(alphaEvents().slice(before).filter((e) => e.event === 'step-down').map((e) => e.term)).toEqual([alphaTerm.term]);
    expect(h.terms.map((t) => t.holder)).toEqual(['alpha', 'beta']);
    expect(h.terms[0].ended, "alpha's key deleted when its lease ran out, before beta's term").toBeLessThan(h.terms[1].term);
    expect(c.perTerm.map((p) => Number(p.split(': ')[1]) > 0)).toEqual([true, true]);

    // A leader write outside the protocol (no fence, no log): the checker names it.
    await post('kv/put', { key: b64(K.status), value: b64('{"by":"rogue"}') });
    const bad = checkLeadership(await history(mark.revision, mark));
    expect(bad.violations.some((v) => v.startsWith(`a leader write no deployer logged: put ${K.status}`) && v.includes("(in beta's term"))).toBe(true);
  }, 120_000);

  it('a standby that lost the race for a handed-over key waits for its next campaign: it does not campaign again and again', async () => {
    const txns = async () => {
      const m = await (await fetch(`${gateway}/metrics`)).text();
      const n = /^grpc_server_started_total\{grpc_method="Txn",grpc_service="etcdserverpb.KV",grpc_type="unary"\} (\d+)/m.exec(m)?.[1];
      // Without the series the count would read 0 twice and the check below could not fail.
      if (n === undefined) throw new Error(`etcd's /metrics has no Txn counter (grpc_server_started_total{grpc_method="Txn"}): ${m.length} bytes read`);
      return Number(n);
    };
    await startDeployer('gamma');
    await waitUntil('gamma up', 30_000, async () => {
      if (!deployers.get('gamma')!.out.join('').includes('deployer gamma up')) throw new Error('no');
    });
    // beta stopped hands over (its lease revoked, the key gone): alpha's and gamma's watches both see it and campaign at once.
    const beta = deployers.get('beta')!.proc;
    const exited = new Promise((r) => beta.once('exit', r));
    beta.kill('SIGTERM');
    await exited;
    await waitUntil('alpha or gamma leads', 30_000, async () => {
      if (!['alpha', 'gamma'].includes((await leader()).term?.holder ?? '')) throw new Error('no');
    });
    // Seen: the loser kept the wake-up, so every later wait returned at once: campaign after campaign, as fast as etcd
    // answered (a quarter of a guest's CPU on the cluster, and chainfire's with it). Now: its next campaign is
    // CAMPAIGN_MS away, the leader's next pass PASS_MS.
    await new Promise((r) => setTimeout(r, 1000));
    const from = await txns();
    await new Promise((r) => setTimeout(r, 4000));
    expect(await txns() - from, 'etcd transactions in 4 s with a leader and a standby settled').toBeLessThanOrEqual(2);
  }, 60_000);
});
