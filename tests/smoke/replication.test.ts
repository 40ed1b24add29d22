/**
 * Replicated state on the control plane, then fault recovery. The fault
 * tests leave the cluster healthy for the next layer.
 */
import crypto from 'node:crypto';
import { type JSONWebKeySet, createLocalJWKSet, jwtVerify } from 'jose';
import { describe } from 'vitest';
import { test } from '../../fixtures/cluster.js';
import { waitFor } from '../../harness/wait.js';

const CONTROL = ['node01', 'node02', 'node03'];
const unique = (p: string) => `${p}-${crypto.randomBytes(4).toString('hex')}`;

describe('chainfire', () => {
  test('three started members and exactly one leader', async ({ cluster, expect }) => {
    const { chainfire } = cluster.ops;
    const nodes = CONTROL.map((n) => cluster.node(n));
    const members = await chainfire.members(nodes[0]);
    expect(members.filter((m) => m.started).map((m) => m.name).sort()).toEqual(CONTROL);
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
  test('a key written on the primary converges on both replicas', async ({ cluster, expect }) => {
    const { flaredb } = cluster.ops;
    const primary = await flaredb.sentinelPrimary(cluster.node('node01'));
    expect(CONTROL).toContain(primary);
    const key = unique('smoke:converge');
    await flaredb.set(cluster.node(primary!), key, 'v1');
    for (const n of CONTROL.filter((x) => x !== primary)) {
      await waitFor({ node: n, what: `replica has ${key}`, timeoutMs: flaredb.timing.convergeS * 1000, intervalMs: 500 }, async () => {
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
  test('an entry added through node02 appears on node01 and node03', async ({ cluster }) => {
    const { iam } = cluster.ops;
    const uid = unique('smoke');
    await iam.addPerson(cluster.node('node02'), uid);
    for (const n of ['node01', 'node03']) {
      await waitFor({ node: n, what: `directory has ${uid}`, timeoutMs: iam.timing.replicateS * 1000, intervalMs: 1000 }, async () => ({
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
  test('a record created through the API on the primary resolves on the secondaries over UDP', async ({ cluster, expect }) => {
    const { flashdns } = cluster.ops;
    const name = unique('smoke');
    const fqdn = await flashdns.createRecord(cluster.node(flashdns.primaryNode), name, 'A', '10.100.0.99');
    for (const n of CONTROL.filter((x) => x !== flashdns.primaryNode)) {
      const node = cluster.node(n);
      const ip = node.spec.clusterIp;
      const answer = await waitFor({ node: n, what: `${fqdn} A resolves`, timeoutMs: flashdns.timing.transferS * 1000 }, async () => {
        const a = await flashdns.query(node, ip, fqdn, 'A', 'udp');
        return { ok: a.includes('10.100.0.99'), value: a, seen: a.join(',') || '(no answer)' };
      });
      expect(answer).toContain('10.100.0.99');
    }
  });
});

describe('faults', () => {
  test('stopping the chainfire leader: a new leader, no acknowledged write lost, the old member rejoins', async ({ cluster, expect }) => {
    const { chainfire } = cluster.ops;
    const nodes = CONTROL.map((n) => cluster.node(n));
    const keys: [string, string][] = [];
    for (let i = 0; i < 5; i++) {
      const kv: [string, string] = [unique('/smoke/fault'), unique('v')];
      await chainfire.put(nodes[i % 3], ...kv);
      keys.push(kv);
    }
    const old = (await chainfire.leader(nodes))!;
    expect(CONTROL).toContain(old);
    await chainfire.stop(cluster.node(old));
    const rest = nodes.filter((n) => n.name !== old);
    const leader = await waitFor({ node: old, what: 'a new chainfire leader among the others', timeoutMs: chainfire.timing.newLeaderS * 1000 }, async () => {
      const l = await chainfire.leader(rest);
      return { ok: l !== undefined && l !== old, value: l, seen: `leader ${l}` };
    });
    expect(leader).not.toBe(old);
    for (const [k, v] of keys) expect(await chainfire.get(rest[0], k), `${k} after failover`).toBe(v);
    await chainfire.start(cluster.node(old));
    await waitFor({ node: old, what: 'the old leader healthy again', timeoutMs: chainfire.timing.rejoinS * 1000 }, async () => ({
      ok: await chainfire.healthy(cluster.node(old)),
    }));
    for (const [k, v] of keys) expect(await chainfire.get(cluster.node(old), k), `${k} on the rejoined member`).toBe(v);
  });

  test('stopping the flaredb primary: Sentinel promotes a replica, writes resume, no WAIT-acknowledged write lost', async ({ cluster, expect }) => {
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
    const promoted = await waitFor({ node: old, what: 'Sentinel promotes a replica', timeoutMs: flaredb.timing.failoverS * 1000 }, async () => {
      const p = await flaredb.sentinelPrimary(watcher);
      const role = p && p !== old ? await flaredb.role(cluster.node(p)) : undefined;
      return { ok: role === 'master', value: p, seen: `sentinel says ${p} (${role})` };
    });
    await flaredb.set(cluster.node(promoted), unique('smoke:after'), 'written');
    for (const key of acked) expect(await flaredb.get(cluster.node(promoted), key), `${key} on the new primary`).toBe('kept');
    await flaredb.start(cluster.node(old));
    await waitFor({ node: old, what: 'the old primary is a replica again', timeoutMs: flaredb.timing.rejoinS * 1000 }, async () => {
      const role = await flaredb.role(cluster.node(old));
      return { ok: role === 'slave', seen: `role ${role}` };
    });
  });

  test('a control-plane VM powered off through QEMU and booted again rejoins chainfire, flaredb, iam and flashdns', async ({ cluster, expect }) => {
    const { chainfire, flaredb, flashdns, iam } = cluster.ops;
    const victim = 'node03';
    const rest = CONTROL.filter((n) => n !== victim).map((n) => cluster.node(n));
    await cluster.powerOff(victim);
    const key = unique('/smoke/while-down');
    const uid = unique('while-down');
    let fqdn: string;
    try {
      // The victim may have led chainfire: writes go through once the other two elect a leader.
      await waitFor({ node: victim, what: 'a chainfire leader among the other two', timeoutMs: chainfire.timing.newLeaderS * 1000 }, async () => {
        const l = await chainfire.leader(rest);
        return { ok: l !== undefined && l !== victim, seen: `leader ${l}` };
      });
      await chainfire.put(rest[0], key, 'missed');
      await iam.addPerson(rest[0], uid);
      fqdn = await flashdns.createRecord(cluster.node(flashdns.primaryNode), unique('down'), 'TXT', 'while-down');
    } finally {
      // Whatever happened, the next layer gets all three nodes back.
      await cluster.boot(victim);
    }
    const node = cluster.node(victim);
    await waitFor({ node: victim, what: 'chainfire member healthy', timeoutMs: chainfire.timing.rejoinS * 1000 }, async () => ({
      ok: await chainfire.healthy(node),
    }));
    expect(await chainfire.get(node, key), 'a write made while it was down').toBe('missed');
    await waitFor({ node: victim, what: 'flaredb replica linked', timeoutMs: flaredb.timing.rejoinS * 1000 }, async () => {
      const role = await flaredb.role(node);
      return { ok: role === 'slave' || role === 'master', seen: `role ${role}` };
    });
    await waitFor({ node: victim, what: `directory has ${uid}, added while it was down`, timeoutMs: iam.timing.rejoinS * 1000 }, async () => ({
      ok: await iam.hasPerson(node, uid),
    }));
    const ip = node.spec.clusterIp;
    await waitFor({ node: victim, what: `${fqdn} TXT served`, timeoutMs: flashdns.timing.transferS * 1000 }, async () => {
      const a = await flashdns.query(node, ip, fqdn, 'TXT', 'udp');
      return { ok: a.includes('while-down'), seen: a.join(',') || '(no answer)' };
    });
  });
});
