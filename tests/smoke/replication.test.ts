/**
 * Replicated state on the control plane, then fault recovery. The fault
 * tests leave the cluster healthy for the next layer.
 */
import crypto from 'node:crypto';
import { type JSONWebKeySet, createLocalJWKSet, jwtVerify } from 'jose';
import { describe } from 'vitest';
import { type TestCluster, test, timing } from '../../fixtures/cluster.js';
import { failedOver, flaredbSetView } from '../../fixtures/flaredb.js';
import { budget } from '../../harness/budget.js';
import { loadConfig } from '../../harness/config.js';

/** Role deadlines, for each test's timeout (budget) at collection time. */
const { chainfire: CF, flaredb: FDB, iam: IAM, flashdns: DNS } = timing;
/** `systemctl start` deadlines inside chainfire.start and flaredb.start (stacks/reference/*; not in their timing yet). */
const START_S = { chainfire: 600, flaredb: 300 };
const unique = (p: string) => `${p}-${crypto.randomBytes(4).toString('hex')}`;

/**
 * What a Redis node that came back is: a replica (link up) of the primary
 * Sentinel on `watcher` names, that primary being the only one of the three.
 * A node that returns as a second primary (an accepted split brain) is not ok.
 */
async function flaredbRejoin(cluster: TestCluster, name: string, watcher: string) {
  const v = await flaredbSetView(cluster);
  const sentinelPrimary = v.sentinels[watcher];
  const replicaOf = v.replicas[name];
  const ok = !!sentinelPrimary && replicaOf?.primary === sentinelPrimary && replicaOf.linked && v.primaries.length === 1 && v.primaries[0] === sentinelPrimary;
  return { ok, seen: v.seen, sentinelPrimary, replicaOf, primaries: v.primaries };
}

/** Services whose state lives in flaredb: each must ride through a failover, not only flaredb itself. */
const FLAREDB_CLIENTS = ['creditservice'] as const;

/**
 * Each flaredb client on every node hosting it serves again: its health
 * (which pings Redis through Sentinel) and a real ledger read with a token.
 */
async function flaredbClientsServe(cluster: TestCluster, timeoutS: number) {
  const { creditservice, iam } = cluster.ops;
  const token = await iam.tokenFor(cluster.node('node01'), 'bob');
  for (const role of FLAREDB_CLIENTS) {
    for (const name of cluster.nodeNames.filter((n) => cluster.roles(n).includes(role))) {
      await cluster.eventually(`${role} serves from flaredb again (healthz and a balance read)`, timeoutS, async () => {
        const health = await creditservice.get(cluster.node(name), '/healthz');
        const balance = health.status === 200 ? await creditservice.get(cluster.node(name), '/v1/balance', token) : undefined;
        return { ok: balance?.status === 200, seen: `healthz ${health.status} ${health.body.trim()}; balance ${balance ? `${balance.status} ${balance.body.trim()}` : 'not asked'}` };
      }, { node: name, intervalMs: 1000 });
    }
  }
}

describe('chainfire', () => {
  test('three started members and one leader that a quorum of them agrees on', async ({ cluster, expect }) => {
    const { chainfire } = cluster.ops;
    const control = cluster.nodesOfKind('control');
    const nodes = control.map((n) => cluster.node(n));
    const members = await chainfire.members(nodes[0]);
    expect(members.filter((m) => m.started).map((m) => m.name).sort()).toEqual(control);
    // Throws, with what each member said, unless a quorum answered and all name the same leader.
    const leader = await chainfire.leader(nodes);
    expect(control, `members agree on one leader (saw ${leader})`).toContain(leader);
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
  test('a key written on the primary converges on both replicas', { timeout: budget(FDB.convergeS, FDB.convergeS) }, async ({ cluster, expect }) => {
    const { flaredb } = cluster.ops;
    const control = cluster.nodesOfKind('control');
    const primary = await flaredb.sentinelPrimary(cluster.node('node01'));
    expect(control).toContain(primary);
    const key = unique('smoke:converge');
    await flaredb.set(cluster.node(primary!), key, 'v1');
    for (const n of control.filter((x) => x !== primary)) {
      await cluster.eventually(`replica has ${key}`, flaredb.timing.convergeS, async () => {
        const v = await flaredb.get(cluster.node(n), key);
        return { ok: v === 'v1', seen: `value ${v}` };
      }, { node: n, intervalMs: 500 });
    }
  });

  test('a write acknowledged with WAIT is on every live replica', async ({ cluster, expect }) => {
    const { flaredb } = cluster.ops;
    const primary = (await flaredb.sentinelPrimary(cluster.node('node01')))!;
    const key = unique('smoke:wait');
    const acked = await flaredb.setAndWait(cluster.node(primary), key, 'acked', 2);
    expect(acked, 'replicas that acknowledged').toBe(2);
    for (const n of cluster.nodesOfKind('control').filter((x) => x !== primary)) expect(await flaredb.get(cluster.node(n), key), `on ${n}`).toBe('acked');
  });
});

describe('iam', () => {
  test('an entry added through node02 appears on node01 and node03', { timeout: budget(IAM.replicateS, IAM.replicateS) }, async ({ cluster }) => {
    const { iam } = cluster.ops;
    const uid = unique('smoke');
    await iam.addPerson(cluster.node('node02'), uid);
    for (const n of ['node01', 'node03']) {
      await cluster.eventually(`directory has ${uid}`, iam.timing.replicateS, async () => ({
        ok: await iam.hasPerson(cluster.node(n), uid),
      }), { node: n, intervalMs: 1000 });
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
  test('a record created through the API on the primary resolves on the secondaries over UDP', { timeout: budget(DNS.transferS, DNS.transferS) }, async ({ cluster, expect }) => {
    const { flashdns } = cluster.ops;
    const name = unique('smoke');
    const fqdn = await flashdns.createRecord(cluster.node(flashdns.primaryNode), name, 'A', '10.100.0.99');
    for (const n of cluster.nodesOfKind('control').filter((x) => x !== flashdns.primaryNode)) {
      const node = cluster.node(n);
      const ip = node.spec.clusterIp;
      const answer = await cluster.eventually(`${fqdn} A resolves`, flashdns.timing.transferS, async () => {
        const a = await flashdns.query(node, ip, fqdn, 'A', 'udp');
        return { ok: a.includes('10.100.0.99'), value: a, seen: a.join(',') || '(no answer)' };
      }, { node: n });
      expect(answer).toContain('10.100.0.99');
    }
  });
});

describe('faults', () => {
  test('stopping the chainfire leader: a new leader, no acknowledged write lost, the old member rejoins', { timeout: budget(CF.newLeaderS, START_S.chainfire, CF.rejoinS) }, async ({ cluster, expect }) => {
    const { chainfire } = cluster.ops;
    const control = cluster.nodesOfKind('control');
    const nodes = control.map((n) => cluster.node(n));
    const keys: [string, string][] = [];
    for (let i = 0; i < 5; i++) {
      const kv: [string, string] = [unique('/smoke/fault'), unique('v')];
      await chainfire.put(nodes[i % 3], ...kv);
      keys.push(kv);
    }
    const old = await chainfire.leader(nodes);
    expect(control).toContain(old);
    await chainfire.stop(cluster.node(old));
    const rest = nodes.filter((n) => n.name !== old);
    const leader = await cluster.eventually('a new chainfire leader among the others', chainfire.timing.newLeaderS, async () => {
      // Both remaining members must answer and agree (a quorum of the three).
      const l = await chainfire.leader(rest);
      return { ok: l !== old, value: l, seen: `leader ${l}` };
    }, { node: old });
    expect(leader).not.toBe(old);
    for (const [k, v] of keys) expect(await chainfire.get(rest[0], k), `${k} after failover`).toBe(v);
    await chainfire.start(cluster.node(old));
    await cluster.eventually('the old leader healthy again', chainfire.timing.rejoinS, async () => ({
      ok: await chainfire.healthy(cluster.node(old)),
    }), { node: old });
    for (const [k, v] of keys) expect(await chainfire.get(cluster.node(old), k), `${k} on the rejoined member`).toBe(v);
  });

  test(`stopping the flaredb primary: Sentinel promotes a replica, writes resume, no WAIT-acknowledged write lost, the old primary returns as a replica, flaredb's clients (${FLAREDB_CLIENTS.join(', ')}) serve again`, { timeout: budget(FDB.failoverS, START_S.flaredb, FDB.rejoinS, FDB.failoverS) }, async ({ cluster, expect }) => {
    const { flaredb } = cluster.ops;
    const old = (await flaredb.sentinelPrimary(cluster.node('node01')))!;
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) {
      const key = unique('smoke:acked');
      if ((await flaredb.setAndWait(cluster.node(old), key, 'kept', 2)) === 2) acked.push(key);
    }
    expect(acked).toHaveLength(5);
    await flaredb.stop(cluster.node(old));
    const watcher = cluster.node(cluster.nodesOfKind('control').find((n) => n !== old)!);
    const promoted = await failedOver(cluster, old);
    await flaredb.set(cluster.node(promoted), unique('smoke:after'), 'written');
    for (const key of acked) expect(await flaredb.get(cluster.node(promoted), key), `${key} on the new primary`).toBe('kept');
    await flaredb.start(cluster.node(old));
    const back = await cluster.eventually("the old primary a linked replica of Sentinel's primary, the only primary", flaredb.timing.rejoinS, async () => {
      const r = await flaredbRejoin(cluster, old, watcher.name);
      return { ok: r.ok, value: r, seen: r.seen };
    }, { node: old });
    expect(back.replicaOf, `${old} after it came back`).toEqual({ primary: back.sentinelPrimary, linked: true });
    expect(back.primaries, 'primaries among the three').toEqual([back.sentinelPrimary]);
    await flaredbClientsServe(cluster, flaredb.timing.failoverS);
  });

  // Deadlines one after the other: a leader without node03, node03's boot, then its rejoin to each role.
  const powerCycleS = [CF.newLeaderS, loadConfig().bootTimeoutS, CF.rejoinS, FDB.rejoinS, IAM.rejoinS, DNS.transferS, FDB.failoverS];
  test('a control-plane VM powered off through QEMU and booted again rejoins chainfire, flaredb (as a replica, not a second primary), iam and flashdns, and flaredb clients serve', { timeout: budget(...powerCycleS) }, async ({ cluster, expect }) => {
    const { chainfire, flaredb, flashdns, iam } = cluster.ops;
    const victim = 'node03';
    const rest = cluster.nodesOfKind('control').filter((n) => n !== victim).map((n) => cluster.node(n));
    await cluster.powerOff(victim);
    const key = unique('/smoke/while-down');
    const uid = unique('while-down');
    let fqdn: string;
    try {
      // The victim may have led chainfire: writes go through once the other two elect a leader.
      await cluster.eventually('a chainfire leader the other two agree on', chainfire.timing.newLeaderS, async () => {
        const l = await chainfire.leader(rest);
        return { ok: l !== victim, seen: `leader ${l}` };
      }, { node: victim });
      await chainfire.put(rest[0], key, 'missed');
      await iam.addPerson(rest[0], uid);
      fqdn = await flashdns.createRecord(cluster.node(flashdns.primaryNode), unique('down'), 'TXT', 'while-down');
    } finally {
      // Whatever happened, the next layer gets all three nodes back.
      await cluster.boot(victim);
    }
    const node = cluster.node(victim);
    await cluster.eventually('chainfire member healthy', chainfire.timing.rejoinS, async () => ({
      ok: await chainfire.healthy(node),
    }), { node: victim });
    expect(await chainfire.get(node, key), 'a write made while it was down').toBe('missed');
    // A replica of Sentinel's current primary, never a second primary.
    const redis = await cluster.eventually("flaredb replica linked to Sentinel's primary, the only primary", flaredb.timing.rejoinS, async () => {
      const r = await flaredbRejoin(cluster, victim, rest[0].name);
      return { ok: r.ok, value: r, seen: r.seen };
    }, { node: victim });
    expect(redis.replicaOf, `${victim} in flaredb`).toEqual({ primary: redis.sentinelPrimary, linked: true });
    expect(redis.primaries, 'primaries among the three').toEqual([redis.sentinelPrimary]);
    await cluster.eventually(`directory has ${uid}, added while it was down`, iam.timing.rejoinS, async () => ({
      ok: await iam.hasPerson(node, uid),
    }), { node: victim });
    const ip = node.spec.clusterIp;
    await cluster.eventually(`${fqdn} TXT served`, flashdns.timing.transferS, async () => {
      const a = await flashdns.query(node, ip, fqdn, 'TXT', 'udp');
      return { ok: a.includes('while-down'), seen: a.join(',') || '(no answer)' };
    }, { node: victim });
    // node03 may have been flaredb's primary: its clients must have followed the failover.
    await flaredbClientsServe(cluster, flaredb.timing.failoverS);
  });
});
