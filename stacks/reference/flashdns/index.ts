/**
 * flashdns: authoritative DNS = PowerDNS Authoritative 4.7 with its HTTP
 * API; node01 is primary of ultracloud.test, node02-03 secondaries
 * (NOTIFY + AXFR). Probed with dig over UDP and TCP.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Node } from '../../../harness/node.js';
import type { Role } from '../../../harness/stack.js';
import type { FlashdnsOps } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const ZONE = 'ultracloud.test';

/** A change on the primary reaches the secondaries by NOTIFY in seconds; the 20 s zone check is the fallback. */
const TIMING = { transferS: 90 };

async function dig(via: Node, server: string, name: string, type: string, transport: 'udp' | 'tcp'): Promise<string[]> {
  const out = await via.succeed(`dig +short +time=5 +tries=2 ${transport === 'tcp' ? '+tcp' : '+notcp'} @${server} ${name} ${type}`);
  return out
    .split('\n')
    .map((l) => l.trim().replace(/^"|"$/g, ''))
    .filter(Boolean);
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
  query: dig,
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
          const soa = await dig(node, ip, ZONE, 'SOA', transport);
          if (soa.length !== 1 || !soa[0].startsWith(`ns1.${ZONE}.`)) {
            throw new NodeError(node.name, `flashdns gave no SOA for ${ZONE} over ${transport}`, {
              expected: `ns1.${ZONE}. ...`,
              lastSeen: soa.join(' | ') || '(empty answer)',
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
