/**
 * flaredb: replicated KV store = Redis 7, primary on node01 and replicas on
 * node02-03, with Sentinel on all three for failover. Driven with redis-cli
 * on the nodes, authenticated with the cluster secret.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Node } from '../../../harness/remote/node.js';
import type { Role } from '../../../harness/stack.js';
import type { FlaredbOps } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Sentinel's down-after is 8 s (hardware setups use 1-5 s) so a TCG stall is
 * not a failure; a failover then takes about 10 s here, or about 50 s when
 * the first vote splits (retry after 2 x the 20 s failover-timeout).
 * Sentinel PINGs every 3 s and says hello every 6 s (Redis: 1 s and 2 s;
 * files/usr/lib/ultracloud/roles/flaredb/sentinel-periods.sh): idle CPU. A
 * returning old primary is made a replica after 4 hello periods (24 s, was
 * 8 s), well inside rejoinS.
 */
export const TIMING = {
  downAfterMs: 8000,
  failoverTimeoutMs: 20_000,
  pingPeriodMs: 3000,
  helloPeriodMs: 6000,
  /** A write on the primary is on every replica within this. */
  convergeS: 30,
  /** Sentinel promotes a replica within this after the primary stops. */
  failoverS: 120,
  /** A restarted node is a replica of the current primary within this. */
  rejoinS: 120,
  /** WAIT timeout for a write to reach the replicas. */
  waitMs: 10_000,
};

const CLI = 'redis-cli --no-auth-warning -a "$(cat /run/ultracloud/secret)" -h 127.0.0.1';

function info(text: string): Record<string, string> {
  return Object.fromEntries(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.includes(':') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1)]),
  );
}

const NODE_BY_IP: Record<string, string> = {};
async function nodeNameOf(node: Node, ip: string): Promise<string | undefined> {
  if (!NODE_BY_IP[ip]) {
    const hosts = await node.succeed('cat /etc/hosts');
    for (const line of hosts.split('\n')) {
      const [addr, name] = line.trim().split(/\s+/);
      if (addr && name) NODE_BY_IP[addr] = name;
    }
  }
  return NODE_BY_IP[ip];
}

/** INFO replication of the Redis on `node`; throws unless it names a role (an error reply has none). */
async function replication(node: Node): Promise<Record<string, string>> {
  const out = await node.succeed(`${CLI} info replication`);
  const repl = info(out);
  if (repl.role !== 'master' && repl.role !== 'slave') {
    throw new NodeError(node.name, 'flaredb: INFO replication names no role', { expected: 'role:master or role:slave', lastSeen: out.trim() });
  }
  return repl;
}

export const flaredbOps: FlaredbOps = {
  timing: TIMING,
  unit: 'redis-server.service',
  ports: { redis: 6379, sentinel: 26379 },
  master: 'flaredb',
  passwordFile: '/run/ultracloud/secret',
  async isPrimary(node) {
    return (await replication(node)).role === 'master';
  },
  async replicaOf(node) {
    const repl = await replication(node);
    if (repl.role === 'master') return undefined;
    // master_host is the address Sentinel (or setup.sh) configured; name it as tests do.
    return { primary: (await nodeNameOf(node, repl.master_host)) ?? repl.master_host, linked: repl.master_link_status === 'up' };
  },
  async sentinelPrimary(node) {
    const out = await node.succeed('redis-cli -h 127.0.0.1 -p 26379 sentinel get-master-addr-by-name flaredb');
    const ip = out.trim().split('\n')[0];
    return ip ? nodeNameOf(node, ip) : undefined;
  },
  async set(node, key, value) {
    const out = await node.succeed(`${CLI} set ${key} ${value}`);
    if (out.trim() !== 'OK') throw new NodeError(node.name, `flaredb SET ${key} answered ${out.trim()}`);
  },
  async setAndWait(node, key, value, replicas) {
    // One connection, so WAIT counts the acknowledgements of this SET.
    const out = await node.succeed(`printf 'SET ${key} ${value}\\nWAIT ${replicas} ${TIMING.waitMs}\\n' | ${CLI}`);
    const [set, acked] = out.trim().split('\n');
    if (set !== 'OK') throw new NodeError(node.name, `flaredb SET ${key} answered ${set}`);
    return Number(acked);
  },
  async get(node, key) {
    const out = (await node.succeed(`${CLI} get ${key}`)).trim();
    return out === '' ? undefined : out;
  },
  async del(node, key) {
    if (!/^[A-Za-z0-9:._{}/-]+$/.test(key)) throw new Error(`flaredb: bad key ${JSON.stringify(key)}`);
    // The primary's address from this node's Sentinel: a replica refuses writes.
    await node.succeed(`p=$(redis-cli -h 127.0.0.1 -p 26379 sentinel get-master-addr-by-name flaredb | head -1) && [ -n "$p" ] && ${CLI.replace('-h 127.0.0.1', '-h "$p"')} del ${key} >/dev/null`);
  },
  async stop(node) {
    await node.succeed('systemctl stop redis-server.service');
  },
  async start(node) {
    await node.succeed('systemctl start redis-server.service', 300_000);
  },
  async lastSave(node) {
    const out = (await node.succeed(`${CLI} lastsave`)).trim();
    if (!/^\d+$/.test(out)) throw new NodeError(node.name, `flaredb LASTSAVE answered ${out}`);
    return Number(out);
  },
};

export const flaredb: Role = {
  name: 'flaredb',
  description: 'replicated KV store: Redis 7 primary + 2 replicas, Sentinel on all three',
  hostedOn: (n) => n.kind === 'control',
  image: {
    packages: ['redis-server', 'redis-sentinel', 'redis-tools'],
    filesDir: path.join(here, 'files'),
    customizeScript: path.join(here, 'customize.sh'),
  },
  units: ['ultracloud-role-setup@flaredb.service', 'redis-server.service', 'redis-sentinel.service'],
  async afterClockStep(node) {
    // Sentinel answers a wall-clock jump with TILT: 30 s of watching without acting. Its pings and
    // INFO go on in TILT (after the jump every instance looks stale, so the first PING and INFO go out
    // at once, whatever the 3 s ping period), so 3 s leave it with fresh views of every instance;
    // then the default comes back, and the primary must be seen up (no s_down/o_down) by this Sentinel.
    await node.succeed(
      `set -e
S='redis-cli -h 127.0.0.1 -p 26379'
sleep 0.5
$S sentinel debug tilt-period 3000 >/dev/null
i=0; until $S info sentinel | grep -q '^sentinel_tilt:0'; do i=$((i+1)); [ $i -lt 100 ] || { echo "Sentinel still in TILT after 20 s" >&2; exit 1; }; sleep 0.2; done
$S sentinel debug tilt-period 30000 >/dev/null
i=0; until [ "$($S sentinel master flaredb | sed -n '/^flags$/{n;p}')" = master ]; do i=$((i+1)); [ $i -lt 50 ] || { echo "primary flags: $($S sentinel master flaredb | sed -n '/^flags$/{n;p}')" >&2; exit 1; }; sleep 0.2; done`,
      60_000,
    );
  },
  probes: [
    expectPorts('flaredb', [{ proto: 'tcp', port: 6379 }, { proto: 'tcp', port: 26379 }]),
    {
      name: 'Redis PING and a replication role in a three-node set',
      async run(node) {
        const pong = (await node.succeed(`${CLI} ping`)).trim();
        const repl = info(await node.succeed(`${CLI} info replication`));
        const ok =
          pong === 'PONG' &&
          ((repl.role === 'master' && repl.connected_slaves === '2') ||
            (repl.role === 'slave' && repl.master_link_status === 'up'));
        if (!ok) {
          throw new NodeError(node.name, 'flaredb is not a primary with two replicas or a linked replica', {
            expected: 'PONG; role master with connected_slaves:2, or role slave with master_link_status:up',
            lastSeen: `${pong}; ${JSON.stringify(repl)}`,
          });
        }
      },
    },
    {
      name: 'Sentinel PING and a known primary',
      async run(node) {
        const pong = (await node.succeed('redis-cli -h 127.0.0.1 -p 26379 ping')).trim();
        const primary = await flaredbOps.sentinelPrimary(node);
        if (pong !== 'PONG' || !primary) {
          throw new NodeError(node.name, 'flaredb Sentinel does not answer or knows no primary', {
            lastSeen: `${pong}; primary ${primary}`,
          });
        }
      },
    },
  ],
  secrets: ['secret'],
  ops: flaredbOps,
};
