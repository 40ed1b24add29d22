/**
 * fiberlb: load balancer = HAProxy 2.6 with its runtime API, on every
 * control-plane node, balancing chainfire's client port round robin over
 * the three members (files/etc/haproxy/haproxy.cfg). Tenant services are
 * published at runtime: one config fragment per service in /run/fiberlb
 * (loaded after haproxy.cfg, see the unit's drop-in) and a seamless reload,
 * the VIP an extra address on the serving node's cluster NIC (README.md).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import type { Node } from '../../../harness/remote/node.js';
import { waitFor } from '../../../harness/remote/wait.js';
import type { FiberlbOps, LbService } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const RUNTIME_API = 'socat stdio unix-connect:/run/haproxy/admin.sock';
/** Each service's frontend port on every control node (haproxy.cfg), backend named after the service. */
const FRONTEND_PORT = { chainfire: 12379 } as const;
/** Requests the balancing probe sends; round robin over three members gives each two. */
const PROBE_REQUESTS = 6;
/** Published services' fragments, read by haproxy after haproxy.cfg (drop-in haproxy.service.d/ultracloud.conf). */
const SERVICES_DIR = '/run/fiberlb';
/** Proxies of a published service are named svc-<name>: never one of haproxy.cfg's own. */
const SVC_PREFIX = 'svc-';
/** The cluster network's NIC (named by the image's networkd generator), where VIPs are added. */
const CLUSTER_NIC = 'cluster0';
/** Health checks of a tenant service's backends: every 2 s, down after 2 failures (each at most 2 s), up again after 2 passes. */
const CHECK = { interS: 2, fall: 2, rise: 2, timeoutS: 2 };

export const TIMING = {
  /** A reload's new worker answers with the new frontend (a whole publish, address + fragment + reload, took 1-3 s under TCG). */
  reloadS: 30,
  /** A backend that stops answering is taken out: fall x (inter + check timeout) = 8 s, plus slack for a stalled TCG node. */
  failoverS: 45,
};

const SERVICE_NAME = /^[a-z0-9][a-z0-9-]{0,40}$/;
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/;

/** The haproxy config fragment of a published service: an HTTP frontend on the VIP and a health-checked round-robin backend. */
export function serviceFragment(svc: LbService): string {
  if (!SERVICE_NAME.test(svc.name)) throw new Error(`fiberlb: bad service name ${JSON.stringify(svc.name)} (lowercase letters, digits, dashes)`);
  if (!IPV4.test(svc.vip)) throw new Error(`fiberlb: bad VIP ${JSON.stringify(svc.vip)}`);
  const px = `${SVC_PREFIX}${svc.name}`;
  const servers = svc.backends.map((b) => {
    if (!SERVICE_NAME.test(b.name) || !IPV4.test(b.address) || !Number.isInteger(b.port)) throw new Error(`fiberlb: bad backend ${JSON.stringify(b)}`);
    return `\tserver ${b.name} ${b.address}:${b.port} check`;
  });
  return [
    `# fiberlb service ${svc.name}, published at runtime by the fiberlb role ops.`,
    `frontend ${px}`,
    '\tmode http',
    `\tbind ${svc.vip}:${svc.port}`,
    '\ttimeout client 30s',
    `\tdefault_backend ${px}`,
    '',
    `backend ${px}`,
    '\tmode http',
    '\tbalance roundrobin',
    '\toption httpchk GET /',
    '\thttp-check expect status 200',
    // A request whose server stopped answering goes to another one.
    '\tretries 1',
    '\toption redispatch',
    '\ttimeout connect 2s',
    '\ttimeout server 30s',
    `\ttimeout check ${CHECK.timeoutS}s`,
    `\tdefault-server inter ${CHECK.interS}s fall ${CHECK.fall} rise ${CHECK.rise}`,
    ...servers,
    '',
  ].join('\n');
}

/** Published service names among `show stat`'s proxies. */
export function publishedServices(rows: Record<string, string>[]): string[] {
  return rows.filter((r) => r.svname === 'FRONTEND' && r.pxname.startsWith(SVC_PREFIX)).map((r) => r.pxname.slice(SVC_PREFIX.length));
}

/** `<status> <first line of the body>` lines, one per request (status 000: no answer). */
export function parseHttpLines(text: string): { status: number; body: string }[] {
  return text
    .split('\n')
    .filter((l) => /^\d{3}( |$)/.test(l))
    .map((l) => ({ status: Number(l.slice(0, 3)), body: l.slice(4).trim() }));
}

async function showStat(node: Node): Promise<Record<string, string>[]> {
  return parseShowStat(await node.succeed(`echo 'show stat' | ${RUNTIME_API}`));
}

const runtimeProxy = (service: string) => (service in FRONTEND_PORT ? service : `${SVC_PREFIX}${service}`);

/** The runtime API's `show stat` CSV ("# pxname,svname,...,stot,...,status,..." then one row per proxy/server) as records. */
export function parseShowStat(csv: string): Record<string, string>[] {
  const lines = csv.split('\n').filter((l) => l.trim() !== '');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new Error(`show stat: no header line in ${JSON.stringify(csv.slice(0, 200))}`);
  const keys = header.slice(2).split(',');
  return lines.filter((l) => !l.startsWith('#')).map((l) => Object.fromEntries(l.split(',').map((v, i) => [keys[i], v])));
}

export const fiberlbOps: FiberlbOps = {
  timing: TIMING,
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
    const rows = parseShowStat(out).filter((r) => r.pxname === runtimeProxy(service) && r.svname !== 'FRONTEND' && r.svname !== 'BACKEND');
    if (rows.length === 0) throw new NodeError(node.name, `fiberlb: no backend servers for ${service} in show stat`, { lastSeen: out.slice(0, 600) });
    // "UP", "UP 1/2" (going down, still used) or "no check" take traffic; DOWN, MAINT, NOLB do not.
    return rows.map((r) => ({ member: r.svname, up: /^UP\b/.test(r.status) || r.status === 'no check', sessions: Number(r.stot) }));
  },
  async publish(node, svc) {
    const fragment = serviceFragment(svc);
    const file = `${SERVICES_DIR}/${svc.name}.cfg`;
    // The VIP first (haproxy binds it), then the fragment and a reload; haproxy checks the whole config before it reloads.
    const r = await node.execute(
      [
        'set -e',
        `ip addr replace ${svc.vip}/32 dev ${CLUSTER_NIC}`,
        `mkdir -p ${SERVICES_DIR}`,
        `cat > ${file}.new <<'CFG'\n${fragment}CFG`,
        `mv -f ${file}.new ${file}`,
        'systemctl reload haproxy.service',
      ].join('\n'),
      120_000,
    );
    if (r.code !== 0) {
      const journal = (await node.execute('journalctl -u haproxy.service -n 15 --no-pager')).stdout;
      await node.execute(`rm -f ${file} ${file}.new; ip addr del ${svc.vip}/32 dev ${CLUSTER_NIC} 2>/dev/null`);
      throw new NodeError(node.name, `fiberlb: publishing ${svc.name} failed: haproxy did not reload (fragment and VIP removed)`, {
        expected: `haproxy.service active, reloading with ${file}`,
        lastSeen: `${r.stdout}\n${r.stderr}`.trim(),
        journal,
      });
    }
    const want = svc.backends.map((b) => b.name).sort().join(',');
    await waitFor({ node: node.name, what: `fiberlb frontend of ${svc.name} with backends [${want}] in the running balancer`, timeoutMs: TIMING.reloadS * 1000, intervalMs: 1000, quiet: true }, async () => {
      const rows = await showStat(node);
      const servers = rows.filter((x) => x.pxname === runtimeProxy(svc.name) && x.svname !== 'FRONTEND' && x.svname !== 'BACKEND').map((x) => x.svname).sort().join(',');
      return { ok: publishedServices(rows).includes(svc.name) && servers === want, seen: `services: ${publishedServices(rows).join(', ') || '(none)'}; servers of ${svc.name}: [${servers}]` };
    });
  },
  async unpublish(node, name) {
    if (!SERVICE_NAME.test(name)) throw new Error(`fiberlb: bad service name ${JSON.stringify(name)}`);
    const file = `${SERVICES_DIR}/${name}.cfg`;
    // The VIP is the address the fragment binds; a stopped haproxy is left stopped (try-reload).
    await node.succeed(
      [
        `if [ -e ${file} ]; then`,
        `  vip=$(sed -n 's/^\\tbind \\([0-9.]*\\):.*/\\1/p' ${file})`,
        `  rm -f ${file} ${file}.new`,
        '  systemctl try-reload-or-restart haproxy.service',
        `  [ -z "$vip" ] || ip addr del "$vip/32" dev ${CLUSTER_NIC} 2>/dev/null || true`,
        'fi',
      ].join('\n'),
      120_000,
    );
    if ((await node.execute('systemctl is-active -q haproxy.service')).code !== 0) return;
    await waitFor({ node: node.name, what: `fiberlb frontend of ${name} gone from the running balancer`, timeoutMs: TIMING.reloadS * 1000, intervalMs: 1000, quiet: true }, async () => {
      const names = publishedServices(await showStat(node));
      return { ok: !names.includes(name), seen: names.join(', ') || '(none)' };
    });
  },
  async services(node) {
    return publishedServices(await showStat(node));
  },
  async httpGet(via, address, port, count) {
    if (!IPV4.test(address)) throw new Error(`fiberlb.httpGet: not an IPv4 address: ${address}`);
    const out = await via.succeed(
      [
        'f=$(mktemp)',
        `for i in $(seq ${count}); do`,
        `  code=$(curl -s -m 5 -o "$f" -w '%{http_code}' http://${address}:${port}/)`,
        '  printf \'%s %s\\n\' "$code" "$(head -n 1 "$f" | head -c 200)"; : > "$f"',
        'done',
        'rm -f "$f"',
      ].join('\n'),
      (count * 6 + 30) * 1000,
    );
    return parseHttpLines(out);
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
