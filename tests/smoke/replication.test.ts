/**
 * Replicated state on the control plane, then fault recovery. The fault
 * tests leave the cluster healthy for the next layer.
 */
import crypto from 'node:crypto';
import { type JSONWebKeySet, createLocalJWKSet, jwtVerify } from 'jose';
import { describe } from 'vitest';
import { TestCluster, clusterInfo, test } from '../../fixtures/cluster.js';
import { budget } from '../../harness/budget.js';
import { loadConfig } from '../../harness/config.js';
import { waitFor } from '../../harness/wait.js';

const CONTROL = ['node01', 'node02', 'node03'];
/** Role deadlines, for each test's timeout (budget) at collection time. */
const { chainfire: CF, flaredb: FDB, iam: IAM, flashdns: DNS } = new TestCluster(clusterInfo).ops;
/** `systemctl start` deadlines inside chainfire.start and flaredb.start (stacks/reference/*; not in their timing yet). */
const START_S = { chainfire: 600, flaredb: 300 };
const unique = (p: string) => `${p}-${crypto.randomBytes(4).toString('hex')}`;

/**
 * What a Redis node that came back is: a replica (link up) of the primary
 * Sentinel on `watcher` names, that primary being the only one of the three.
 * A node that returns as a second primary (an accepted split brain) is not ok.
 */
async function flaredbRejoin(cluster: TestCluster, name: string, watcher: string) {
  const { flaredb } = cluster.ops;
  const sentinelPrimary = await flaredb.sentinelPrimary(cluster.node(watcher));
  const replicaOf = await flaredb.replicaOf(cluster.node(name));
  const primaries: string[] = [];
  for (const n of CONTROL) if (await flaredb.isPrimary(cluster.node(n))) primaries.push(n);
  const ok = !!sentinelPrimary && replicaOf?.primary === sentinelPrimary && replicaOf.linked && primaries.length === 1 && primaries[0] === sentinelPrimary;
  const seen = `${name}: ${replicaOf ? `replica of ${replicaOf.primary} (link ${replicaOf.linked ? 'up' : 'down'})` : 'a primary'}; Sentinel on ${watcher}: primary ${sentinelPrimary}; primaries: ${primaries.join(', ') || 'none'}`;
  return { ok, seen, sentinelPrimary, replicaOf, primaries };
}

/** Services whose state lives in flaredb: each must ride through a failover, not only flaredb itself. */
const FLAREDB_CLIENTS = ['creditservice'] as const;

/**
 * Each flaredb client on every node hosting it serves again: its health
 * (which pings Redis through Sentinel) and a real ledger read with a token.
 */
async function flaredbClientsServe(cluster: TestCluster, signal: AbortSignal | undefined, timeoutS: number) {
  const { creditservice, iam } = cluster.ops;
  const token = await iam.tokenFor(cluster.node('node01'), 'bob');
  for (const role of FLAREDB_CLIENTS) {
    for (const name of cluster.nodeNames.filter((n) => cluster.roles(n).includes(role))) {
      await waitFor({ node: name, what: `${role} serves from flaredb again (healthz and a balance read)`, timeoutMs: timeoutS * 1000, intervalMs: 1000, signal }, async () => {
        const health = await creditservice.get(cluster.node(name), '/healthz');
        const balance = health.status === 200 ? await creditservice.get(cluster.node(name), '/v1/balance', token) : undefined;
        return { ok: balance?.status === 200, seen: `healthz ${health.status} ${health.body.trim()}; balance ${balance ? `${balance.status} ${balance.body.trim()}` : 'not asked'}` };
      });
    }
  }
}

describe('chainfire', () => {
  test('three started members and one leader that a quorum of them agrees on', async ({ cluster, expect }) => {
    const { chainfire } = cluster.ops;
    const nodes = CONTROL.map((n) => cluster.node(n));
    const members = await chainfire.members(nodes[0]);
    expect(members.filter((m) => m.started).map((m) => m.name).sort()).toEqual(CONTROL);
    // Throws, with what each member said, unless a quorum answered and all name the same leader.
    const leader = await chainfire.leader(nodes);
    expect(CONTROL, `members agree on one leader (saw ${leader})`).toContain(leader);
  });

  test('a key written through node01 is read linearizably through node02 and node03', async ({ cluster, expect }) => {
    const { chainfire } = cluster.ops;
    const key = unique('/smoke/chainfire');
    const value = unique('v');
    await chainfire.put(cluster.node('node01'), key, value);
    for (const n of ['node02', 'node03']) expect(await chainfire.get(cluster.node(n), key), `read on ${n}`).toBe(value);
  });
});

describe('flaredb', () => {
  test('a key written on the primary converges on both replicas', { timeout: budget(FDB.timing.convergeS, FDB.timing.convergeS) }, async ({ cluster, expect, signal }) => {
    const { flaredb } = cluster.ops;
    const primary = await flaredb.sentinelPrimary(cluster.node('node01'));
    expect(CONTROL).toContain(primary);
    const key = unique('smoke:converge');
    await flaredb.set(cluster.node(primary!), key, 'v1');
    for (const n of CONTROL.filter((x) => x !== primary)) {
      await waitFor({ node: n, what: `replica has ${key}`, timeoutMs: flaredb.timing.convergeS * 1000, signal, intervalMs: 500 }, async () => {
        const v = await flaredb.get(cluster.node(n), key);
        return { ok: v === 'v1', seen: `value ${v}` };
      });
    }
  });

  test('a write acknowledged with WAIT is on every live replica', async ({ cluster, expect }) => {
    const { flaredb } = cluster.ops;
    const primary = (await flaredb.sentinelPrimary(cluster.node('node01')))!;
    const key = unique('smoke:wait');
    const acked = await flaredb.setAndWait(cluster.node(primary), key, 'acked', 2);
    expect(acked, 'replicas that acknowledged').toBe(2);
    for (const n of CONTROL.filter((x) => x !== primary)) expect(await flaredb.get(cluster.node(n), key), `on ${n}`).toBe('acked');
  });
});

describe('iam', () => {
  test('an entry added through node02 appears on node01 and node03', { timeout: budget(IAM.timing.replicateS, IAM.timing.replicateS) }, async ({ cluster, signal }) => {
    const { iam } = cluster.ops;
    const uid = unique('smoke');
    await iam.addPerson(cluster.node('node02'), uid);
    for (const n of ['node01', 'node03']) {
      await waitFor({ node: n, what: `directory has ${uid}`, timeoutMs: iam.timing.replicateS * 1000, signal, intervalMs: 1000 }, async () => ({
        ok: await iam.hasPerson(cluster.node(n), uid),
      }));
    }
  });

  test('a token issued by node01 validates against the JWKS served by node03', async ({ cluster, expect }) => {
    const { iam } = cluster.ops;
    const { token, user } = await iam.issueToken(cluster.node('node01'));
    const issuer = (await iam.discovery(cluster.node('node01'))).issuer;
    const keys = createLocalJWKSet((await iam.jwks(cluster.node('node03'))) as JSONWebKeySet);
    const { payload } = await jwtVerify(token, keys, { issuer });
    expect(payload.preferred_username ?? payload.username ?? payload.sub, 'token subject').toBeTruthy();
    expect(JSON.stringify(payload)).toContain(user);
    // A token with one bit changed must not validate.
    const [h, p, sig] = token.split('.');
    const forged = `${h}.${p}.${sig.slice(0, -4)}${sig.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    await expect(jwtVerify(forged, keys, { issuer })).rejects.toThrow();
  });
});

describe('flashdns', () => {
  test('a record created through the API on the primary resolves on the secondaries over UDP', { timeout: budget(DNS.timing.transferS, DNS.timing.transferS) }, async ({ cluster, expect, signal }) => {
    const { flashdns } = cluster.ops;
    const name = unique('smoke');
    const fqdn = await flashdns.createRecord(cluster.node(flashdns.primaryNode), name, 'A', '10.100.0.99');
    for (const n of CONTROL.filter((x) => x !== flashdns.primaryNode)) {
      const node = cluster.node(n);
      const ip = node.spec.clusterIp;
      const answer = await waitFor({ node: n, what: `${fqdn} A resolves`, timeoutMs: flashdns.timing.transferS * 1000, signal }, async () => {
        const a = await flashdns.query(node, ip, fqdn, 'A', 'udp');
        return { ok: a.includes('10.100.0.99'), value: a, seen: a.join(',') || '(no answer)' };
      });
      expect(answer).toContain('10.100.0.99');
    }
  });
});

describe('faults', () => {
  test('stopping the chainfire leader: a new leader, no acknowledged write lost, the old member rejoins', { timeout: budget(CF.timing.newLeaderS, START_S.chainfire, CF.timing.rejoinS) }, async ({ cluster, expect, signal }) => {
    const { chainfire } = cluster.ops;
    const nodes = CONTROL.map((n) => cluster.node(n));
    const keys: [string, string][] = [];
    for (let i = 0; i < 5; i++) {
      const kv: [string, string] = [unique('/smoke/fault'), unique('v')];
      await chainfire.put(nodes[i % 3], ...kv);
      keys.push(kv);
    }
    const old = await chainfire.leader(nodes);
    expect(CONTROL).toContain(old);
    await chainfire.stop(cluster.node(old));
    const rest = nodes.filter((n) => n.name !== old);
    const leader = await waitFor({ node: old, what: 'a new chainfire leader among the others', timeoutMs: chainfire.timing.newLeaderS * 1000, signal }, async () => {
      // Both remaining members must answer and agree (a quorum of the three).
      const l = await chainfire.leader(rest);
      return { ok: l !== old, value: l, seen: `leader ${l}` };
    });
    expect(leader).not.toBe(old);
    for (const [k, v] of keys) expect(await chainfire.get(rest[0], k), `${k} after failover`).toBe(v);
    await chainfire.start(cluster.node(old));
    await waitFor({ node: old, what: 'the old leader healthy again', timeoutMs: chainfire.timing.rejoinS * 1000, signal }, async () => ({
      ok: await chainfire.healthy(cluster.node(old)),
    }));
    for (const [k, v] of keys) expect(await chainfire.get(cluster.node(old), k), `${k} on the rejoined member`).toBe(v);
  });

  test(`stopping the flaredb primary: Sentinel promotes a replica, writes resume, no WAIT-acknowledged write lost, the old primary returns as a replica, flaredb's clients (${FLAREDB_CLIENTS.join(', ')}) serve again`, { timeout: budget(FDB.timing.failoverS, START_S.flaredb, FDB.timing.rejoinS, FDB.timing.failoverS) }, async ({ cluster, expect, signal }) => {
    const { flaredb } = cluster.ops;
    const old = (await flaredb.sentinelPrimary(cluster.node('node01')))!;
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) {
      const key = unique('smoke:acked');
      if ((await flaredb.setAndWait(cluster.node(old), key, 'kept', 2)) === 2) acked.push(key);
    }
    expect(acked).toHaveLength(5);
    await flaredb.stop(cluster.node(old));
    const watcher = cluster.node(CONTROL.find((n) => n !== old)!);
    const promoted = await waitFor({ node: old, what: 'Sentinel promotes a replica', timeoutMs: flaredb.timing.failoverS * 1000, signal }, async () => {
      const p = await flaredb.sentinelPrimary(watcher);
      const primary = p && p !== old ? await flaredb.isPrimary(cluster.node(p)) : undefined;
      return { ok: primary === true, value: p, seen: `sentinel says ${p} (${primary ? 'a primary' : primary === false ? 'not a primary' : 'the old one'})` };
    });
    await flaredb.set(cluster.node(promoted), unique('smoke:after'), 'written');
    for (const key of acked) expect(await flaredb.get(cluster.node(promoted), key), `${key} on the new primary`).toBe('kept');
    await flaredb.start(cluster.node(old));
    const back = await waitFor({ node: old, what: "the old primary a linked replica of Sentinel's primary, the only primary", timeoutMs: flaredb.timing.rejoinS * 1000, signal }, async () => {
      const r = await flaredbRejoin(cluster, old, watcher.name);
      return { ok: r.ok, value: r, seen: r.seen };
    });
    expect(back.replicaOf, `${old} after it came back`).toEqual({ primary: back.sentinelPrimary, linked: true });
    expect(back.primaries, 'primaries among the three').toEqual([back.sentinelPrimary]);
    await flaredbClientsServe(cluster, signal, flaredb.timing.failoverS);
  });

  // Deadlines one after the other: a leader without node03, node03's boot, then its rejoin to each role.
  const powerCycleS = [CF.timing.newLeaderS, loadConfig().bootTimeoutS, CF.timing.rejoinS, FDB.timing.rejoinS, IAM.timing.rejoinS, DNS.timing.transferS, FDB.timing.failoverS];
  test('a control-plane VM powered off through QEMU and booted again rejoins chainfire, flaredb (as a replica, not a second primary), iam and flashdns, and flaredb clients serve', { timeout: budget(...powerCycleS) }, async ({ cluster, expect, signal }) => {
    const { chainfire, flaredb, flashdns, iam } = cluster.ops;
    const victim = 'node03';
    const rest = CONTROL.filter((n) => n !== victim).map((n) => cluster.node(n));
    await cluster.powerOff(victim);
    const key = unique('/smoke/while-down');
    const uid = unique('while-down');
    let fqdn: string;
    try {
      // The victim may have led chainfire: writes go through once the other two elect a leader.
      await waitFor({ node: victim, what: 'a chainfire leader the other two agree on', timeoutMs: chainfire.timing.newLeaderS * 1000, signal }, async () => {
        const l = await chainfire.leader(rest);
        return { ok: l !== victim, seen: `leader ${l}` };
      });
      await chainfire.put(rest[0], key, 'missed');
      await iam.addPerson(rest[0], uid);
      fqdn = await flashdns.createRecord(cluster.node(flashdns.primaryNode), unique('down'), 'TXT', 'while-down');
    } finally {
      // Whatever happened, the next layer gets all three nodes back.
      await cluster.boot(victim);
    }
    const node = cluster.node(victim);
    await waitFor({ node: victim, what: 'chainfire member healthy', timeoutMs: chainfire.timing.rejoinS * 1000, signal }, async () => ({
      ok: await chainfire.healthy(node),
    }));
    expect(await chainfire.get(node, key), 'a write made while it was down').toBe('missed');
    // A replica of Sentinel's current primary, never a second primary.
    const redis = await waitFor({ node: victim, what: "flaredb replica linked to Sentinel's primary, the only primary", timeoutMs: flaredb.timing.rejoinS * 1000, signal }, async () => {
      const r = await flaredbRejoin(cluster, victim, rest[0].name);
      return { ok: r.ok, value: r, seen: r.seen };
    });
    expect(redis.replicaOf, `${victim} in flaredb`).toEqual({ primary: redis.sentinelPrimary, linked: true });
    expect(redis.primaries, 'primaries among the three').toEqual([redis.sentinelPrimary]);
    await waitFor({ node: victim, what: `directory has ${uid}, added while it was down`, timeoutMs: iam.timing.rejoinS * 1000, signal }, async () => ({
      ok: await iam.hasPerson(node, uid),
    }));
    const ip = node.spec.clusterIp;
    await waitFor({ node: victim, what: `${fqdn} TXT served`, timeoutMs: flashdns.timing.transferS * 1000, signal }, async () => {
      const a = await flashdns.query(node, ip, fqdn, 'TXT', 'udp');
      return { ok: a.includes('while-down'), seen: a.join(',') || '(no answer)' };
    });
    // node03 may have been flaredb's primary: its clients must have followed the failover.
    await flaredbClientsServe(cluster, signal, flaredb.timing.failoverS);
  });
});
