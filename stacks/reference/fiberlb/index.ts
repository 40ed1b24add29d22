/**
 * fiberlb: load balancer = HAProxy 2.6 with its runtime API, on every
 * control-plane node, balancing chainfire's client port round robin over
 * the three members (files/etc/haproxy/haproxy.cfg).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import type { FiberlbOps } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const RUNTIME_API = 'socat stdio unix-connect:/run/haproxy/admin.sock';
/** Each service's frontend port on every control node (haproxy.cfg), backend named after the service. */
const FRONTEND_PORT = { chainfire: 12379 } as const;
/** Requests the balancing probe sends; round robin over three members gives each two. */
const PROBE_REQUESTS = 6;

/** The runtime API's `show stat` CSV ("# pxname,svname,...,stot,...,status,..." then one row per proxy/server) as records. */
export function parseShowStat(csv: string): Record<string, string>[] {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new Error(`show stat: no header line in ${JSON.stringify(csv.slice(0, 200))}`);
  const keys = header.slice(2).split(',');
  return lines.filter((l) => !l.startsWith('#')).map((l) => Object.fromEntries(l.split(',').map((v, i) => [keys[i], v])));
}

export const fiberlbOps: FiberlbOps = {
  async info(node) {
    const out = await node.succeed(`echo 'show info' | ${RUNTIME_API}`);
    return Object.fromEntries(
      out
        .split('\n')
        .filter((l) => l.includes(': '))
        .map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2).trim()]),
    );
  },
  async pool(node, service) {
    const out = await node.succeed(`echo 'show stat' | ${RUNTIME_API}`);
    const rows = parseShowStat(out).filter((r) => r.pxname === service && r.svname !== 'FRONTEND' && r.svname !== 'BACKEND');
    if (rows.length === 0) throw new NodeError(node.name, `fiberlb: no backend servers for ${service} in show stat`, { lastSeen: out.slice(0, 600) });
    // "UP", "UP 1/2" (going down, still used) or "no check" take traffic; DOWN, MAINT, NOLB do not.
    return rows.map((r) => ({ member: r.svname, up: /^UP\b/.test(r.status) || r.status === 'no check', sessions: Number(r.stot) }));
  },
};

export const fiberlb: Role = {
  name: 'fiberlb',
  description: 'load balancer: HAProxy with its runtime API',
  hostedOn: (n) => n.kind === 'control',
  image: {
    packages: ['haproxy', 'socat'],
    filesDir: path.join(here, 'files'),
  },
  units: ['haproxy.service'],
  probes: [
    expectPorts('fiberlb', [{ proto: 'tcp', port: 8404 }, { proto: 'tcp', port: FRONTEND_PORT.chainfire }]),
    {
      name: 'runtime API answers show info',
      async run(node) {
        const info = await fiberlbOps.info(node);
        if (info.Name !== 'HAProxy' || !info.Uptime_sec) {
          throw new NodeError(node.name, 'fiberlb runtime API did not answer show info', { lastSeen: JSON.stringify(info).slice(0, 400) });
        }
      },
    },
    {
      name: `balances chainfire: ${PROBE_REQUESTS} requests through the frontend are answered and land on more than one member`,
      async run(node) {
        const before = await fiberlbOps.pool(node, 'chainfire');
        // One curl is one TCP connection, so one balancing decision (the frontend is mode tcp).
        const out = await node.succeed(
          `for i in $(seq ${PROBE_REQUESTS}); do curl -s -m 10 http://127.0.0.1:${FRONTEND_PORT.chainfire}/health; echo; done`,
          120_000,
        );
        const after = await fiberlbOps.pool(node, 'chainfire');
        const answered = out.split('\n').filter((l) => l.includes('"health":"true"')).length;
        const took = after.map((m) => ({ member: m.member, sessions: m.sessions - (before.find((b) => b.member === m.member)?.sessions ?? 0) }));
        const spread = took.filter((m) => m.sessions > 0);
        const seen = `answered ${answered}/${PROBE_REQUESTS}; new sessions per member: ${took.map((m) => `${m.member} ${m.sessions}`).join(', ')}; members up: ${after.filter((m) => m.up).map((m) => m.member).join(', ') || 'none'}`;
        if (answered !== PROBE_REQUESTS || spread.length < 2) {
          throw new NodeError(node.name, 'fiberlb did not spread chainfire requests over its members', {
            expected: `${PROBE_REQUESTS} healthy answers, new sessions on at least two members`,
            lastSeen: `${seen}\n${out.trim()}`,
          });
        }
        console.log(`${node.name}: fiberlb ${seen}`);
      },
    },
  ],
  ops: fiberlbOps,
};
