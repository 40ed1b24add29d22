/**
 * flashdns: authoritative DNS = PowerDNS Authoritative 4.7 with its HTTP
 * API; node01 is primary of ultracloud.test, node02-03 secondaries
 * (NOTIFY + AXFR). Probed with dig over UDP and TCP; a lookup reads the
 * reply's status, so NXDOMAIN, SERVFAIL, REFUSED and no reply stay apart.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommandError, NodeError } from '../../../harness/errors.js';
import type { Node } from '../../../harness/remote/node.js';
import type { Role } from '../../../harness/stack.js';
import type { DnsLookup, DnsRecord, DnsStatus, FlashdnsOps } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ZONE = 'ultracloud.test';

/** A change on the primary reaches the secondaries by NOTIFY in seconds; the 20 s zone check is the fallback. */
export const TIMING = { transferS: 90 };

const STATUSES: readonly DnsStatus[] = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED', 'YXDOMAIN', 'YXRRSET', 'NXRRSET', 'NOTAUTH', 'NOTZONE', 'BADVERS', 'BADCOOKIE'];

/** dig's output could not be read as an answer or as "no reply". */
export class DigParseError extends Error {
  override name = 'DigParseError';
}

/**
 * One server's answer as `dig +nocmd +noall +comments +answer` prints it
 * (bind9-dnsutils 9.18): the status from the `->>HEADER<<-` line and the
 * records of the ANSWER SECTION. No header but "no servers could be
 * reached" is NO_REPLY (exit 9: timed out, or port unreachable). Anything
 * else throws: an unreadable output is never an empty answer.
 */
export function parseDig(output: string): DnsLookup {
  const lines = output.split('\n').map((l) => l.trimEnd());
  const headers = lines.map((l) => /^;; ->>HEADER<<- opcode: \S+, status: ([A-Z0-9]+), id: \d+/.exec(l)?.[1]).filter((s): s is string => s !== undefined);
  if (headers.length === 0) {
    if (lines.some((l) => /no servers could be reached/.test(l))) {
      return { status: 'NO_REPLY', answers: [], detail: lines.filter((l) => l.startsWith(';;')).map((l) => l.slice(3)).join('; ') };
    }
    throw new DigParseError(`dig printed neither a reply header nor "no servers could be reached": ${output.trim() || '(nothing)'}`);
  }
  // The last header: after a truncated UDP answer dig asks again over TCP.
  const status = headers[headers.length - 1];
  if (!(STATUSES as readonly string[]).includes(status)) throw new DigParseError(`dig reports an unknown status ${status}: ${output.trim()}`);
  const answers: DnsRecord[] = [];
  let inAnswer = false;
  for (const line of lines) {
    if (line.startsWith(';')) {
      inAnswer = line === ';; ANSWER SECTION:';
      continue;
    }
    if (!line) {
      inAnswer = false;
      continue;
    }
    if (!inAnswer) continue;
    const m = /^(\S+)\s+(\d+)\s+(\S+)\s+(\S+)\s+(.*)$/.exec(line);
    if (!m) throw new DigParseError(`dig printed an answer record it could not read: ${line}`);
    answers.push({ name: m[1], ttl: Number(m[2]), type: m[4], data: m[5] });
  }
  return { status: status as DnsStatus, answers };
}

/** What `server` answers for name/type; NO_REPLY when none came back. Throws when dig itself fails (usage, a missing binary). */
async function lookup(via: Node, server: string, name: string, type: string, transport: 'udp' | 'tcp' = 'udp'): Promise<DnsLookup> {
  const cmd = `dig +nocmd +noall +comments +answer +time=5 +tries=2 ${transport === 'tcp' ? '+tcp' : '+notcp'} @${server} ${name} ${type}`;
  const r = await via.execute(cmd);
  // 0: a reply (whatever its status); 9: no reply from any server.
  if (r.code !== 0 && r.code !== 9) throw new CommandError(via.name, cmd, r.code, r.stdout, r.stderr);
  try {
    return parseDig(r.stdout);
  } catch (e) {
    if (!(e instanceof DigParseError)) throw e;
    throw new NodeError(via.name, `flashdns: dig's output for ${name} ${type} from ${server} is no answer it can read`, { lastSeen: `${e.message}\n${r.stderr}`.trim() });
  }
}

/** The data of an answer as `dig +short` prints it (TXT without its quotes). */
export function shortData(l: DnsLookup): string[] {
  return l.answers.map((a) => a.data.replace(/^"|"$/g, ''));
}

/** The answers' data; empty for NXDOMAIN; throws naming any status that is no answer of the zone's. */
async function query(via: Node, server: string, name: string, type: string, transport: 'udp' | 'tcp'): Promise<string[]> {
  const l = await lookup(via, server, name, type, transport);
  if (l.status !== 'NOERROR' && l.status !== 'NXDOMAIN') {
    throw new NodeError(via.name, `flashdns: ${server} answered ${l.status} for ${name} ${type} over ${transport}`, {
      expected: 'NOERROR or NXDOMAIN',
      lastSeen: l.detail ?? l.status,
    });
  }
  return shortData(l);
}

/** A call to the primary's HTTP API (zone `path` below the zone's URL); throws, naming pdns's state, when it is refused. */
async function zoneApi(primary: Node, method: 'PATCH' | 'PUT', path: string, body?: string): Promise<void> {
  const api = `http://127.0.0.1:8081/api/v1/servers/localhost/zones/${ZONE}.${path}`;
  const data = body === undefined ? '' : ` -H 'Content-Type: application/json' --data '${body}'`;
  const r = await primary.execute(`curl -sS -f -X ${method} -H "X-API-Key: $(cat /run/ultracloud/secret)"${data} ${api}`);
  if (r.code !== 0) {
    const unit = (await primary.execute('systemctl is-active pdns.service')).stdout.trim();
    throw new NodeError(primary.name, `flashdns: the primary's HTTP API did not take ${method} ${api} (curl exit ${r.code}; pdns.service ${unit || 'unknown'})`, {
      expected: 'a 2xx answer from PowerDNS',
      lastSeen: `${r.stdout}\n${r.stderr}`.trim() + (body ? `\nbody: ${body}` : ''),
    });
  }
}

export const flashdnsOps: FlashdnsOps = {
  timing: TIMING,
  zone: ZONE,
  primaryNode: 'node01',
  async createRecord(primary, name, type, content) {
    const fqdn = `${name}.${ZONE}.`;
    const record = type === 'TXT' ? `"\\"${content}\\""` : `"${content}"`;
    const body = `{"rrsets":[{"name":"${fqdn}","type":"${type}","ttl":60,"changetype":"REPLACE","records":[{"content":${record},"disabled":false}]}]}`;
    await zoneApi(primary, 'PATCH', '', body);
    await zoneApi(primary, 'PUT', '/notify');
    return fqdn;
  },
  async deleteRecord(primary, name, type) {
    const fqdn = `${name}.${ZONE}.`;
    const body = `{"rrsets":[{"name":"${fqdn}","type":"${type}","changetype":"DELETE"}]}`;
    await zoneApi(primary, 'PATCH', '', body);
    await zoneApi(primary, 'PUT', '/notify');
  },
  lookup,
  query,
};

export const flashdns: Role = {
  name: 'flashdns',
  description: 'authoritative DNS: PowerDNS with HTTP API, node01 primary, node02-03 secondaries',
  hostedOn: (n) => n.kind === 'control',
  image: {
    packages: ['pdns-server', 'pdns-backend-sqlite3', 'sqlite3', 'bind9-dnsutils'],
    filesDir: path.join(here, 'files'),
    customizeScript: path.join(here, 'customize.sh'),
  },
  units: ['ultracloud-role-setup@flashdns.service', 'pdns.service'],
  probes: [
    expectPorts('flashdns', [{ proto: 'udp', port: 53 }, { proto: 'tcp', port: 53 }, { proto: 'tcp', port: 8081 }]),
    {
      name: 'answers the SOA of the cluster zone on its cluster address, over UDP and over TCP',
      async run(node) {
        const ip = node.spec.clusterIp;
        for (const transport of ['udp', 'tcp'] as const) {
          const l = await lookup(node, ip, ZONE, 'SOA', transport);
          const soa = shortData(l);
          if (l.status !== 'NOERROR' || soa.length !== 1 || !soa[0].startsWith(`ns1.${ZONE}.`)) {
            throw new NodeError(node.name, `flashdns gave no SOA for ${ZONE} over ${transport} (${l.status})`, {
              expected: `NOERROR: ns1.${ZONE}. ...`,
              lastSeen: `${l.status}: ${soa.join(' | ') || l.detail || '(empty answer)'}`,
            });
          }
        }
      },
    },
    {
      name: 'HTTP API lists the zone',
      async run(node) {
        const out = await node.succeed(
          'curl -sf -H "X-API-Key: $(cat /run/ultracloud/secret)" http://127.0.0.1:8081/api/v1/servers/localhost/zones',
        );
        const zones = (JSON.parse(out) as { name: string }[]).map((z) => z.name);
        if (!zones.includes(`${ZONE}.`)) throw new NodeError(node.name, 'flashdns API does not list the zone', { lastSeen: out });
      },
    },
  ],
  secrets: ['secret'],
  ops: flashdnsOps,
};
