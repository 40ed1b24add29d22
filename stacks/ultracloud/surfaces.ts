/**
 * UltraCloud's documented surfaces (../shared/upstream-facts.md, "service
 * surfaces"): the one place the `ultracloud` stack's roles take units, ports
 * and health endpoints from. Anything not listed there is marked (guess) where
 * it is used, and an operation that needs an API the facts do not document
 * fails with UnsupportedOpError naming what is missing: never a fake answer.
 */
import { NodeError } from '../../harness/errors.js';
import type { Node } from '../../harness/remote/node.js';
import type { Probe, Role } from '../../harness/stack.js';

export interface Surface {
  unit: string;
  /** Local health endpoint (GET, 2xx means healthy), if the facts name one. */
  health?: { port: number; path: string };
  /** TCP ports the facts name (answering is the check where no HTTP health exists). */
  tcp: number[];
  /** UDP ports the facts name (bound is the check). */
  udp?: number[];
  /** True where the unit name is not from the facts but a guess (`<role>.service`). */
  guessed?: boolean;
}

/** Single-node profile defaults from upstream's docs; the cluster nodes are assumed to keep them. */
export const SURFACES: Record<string, Surface> = {
  chainfire: { unit: 'chainfire.service', health: { port: 8081, path: '/health' }, tcp: [2379, 2380, 2381] },
  flaredb: { unit: 'flaredb.service', health: { port: 8082, path: '/health' }, tcp: [2479, 2480] },
  iam: { unit: 'iam.service', health: { port: 8083, path: '/health' }, tcp: [50080] },
  prismnet: { unit: 'prismnet.service', health: { port: 8087, path: '/health' }, tcp: [50081] },
  plasmavmc: { unit: 'plasmavmc.service', health: { port: 8084, path: '/health' }, tcp: [50082] },
  flashdns: { unit: 'flashdns.service', tcp: [53, 50084], udp: [53] },
  lightningstor: { unit: 'lightningstor.service', tcp: [50086] },
  coronafs: { unit: 'coronafs.service', health: { port: 50088, path: '/healthz' }, tcp: [] },
  // Not in the facts' table: unit names guessed from the role names, no ports known.
  fiberlb: { unit: 'fiberlb.service', tcp: [], guessed: true },
  k8shost: { unit: 'k8shost.service', tcp: [], guessed: true },
  // The stack forwards the gateway node's guest ports 80 and 9090 (stacks/common.ts); nix/ configures the servers on them.
  apigateway: { unit: 'apigateway.service', tcp: [80], guessed: true },
  nightlight: { unit: 'nightlight.service', tcp: [9090], guessed: true },
  creditservice: { unit: 'creditservice.service', tcp: [], guessed: true },
  deployer: { unit: 'deployer.service', tcp: [], guessed: true },
  'nix-agent': { unit: 'nix-agent.service', tcp: [], guessed: true },
};

export function surface(role: string): Surface {
  const s = SURFACES[role];
  if (!s) throw new Error(`ultracloud stack: no surface listed for role ${role}`);
  return s;
}

/** An operation the tests ask of a role that UltraCloud's documented surfaces cannot do (yet). */
export class UnsupportedOpError extends Error {
  override name = 'UnsupportedOpError';
  constructor(role: string, op: string, missing: string) {
    super(`ultracloud stack: ${role}.${op} is not implemented: ${missing}`);
  }
}

/**
 * A role's ops: the operations implemented through documented surfaces, and
 * every other operation of the contract failing with UnsupportedOpError
 * (`missing` says which API it would need). Values (timing, zone) must be in
 * `implemented`: reading one that is not is a TypeError at once.
 */
export function opsOf<T extends object>(role: string, implemented: Partial<T>, missing: string): T {
  return new Proxy(implemented, {
    get(target, prop, receiver) {
      if (prop in target) return Reflect.get(target, prop, receiver);
      if (typeof prop === 'symbol' || prop === 'then' || prop === 'toJSON') return undefined;
      return () => Promise.reject(new UnsupportedOpError(role, String(prop), missing));
    },
  }) as T;
}

/** GET of the role's health endpoint on the node itself: 2xx is healthy. */
export async function healthy(node: Node, role: string): Promise<boolean> {
  const h = surface(role).health;
  if (!h) throw new UnsupportedOpError(role, 'healthy', 'upstream documents no HTTP health endpoint for it');
  const r = await node.execute(`curl -fsS -m 10 -o /dev/null http://127.0.0.1:${h.port}${h.path}`);
  return r.code === 0;
}

export function healthProbe(role: string): Probe {
  const h = surface(role).health!;
  return {
    name: `GET :${h.port}${h.path} answers 2xx`,
    async run(node) {
      const r = await node.execute(`curl -sS -m 10 -w '\\n%{http_code}' http://127.0.0.1:${h.port}${h.path}`);
      const code = r.stdout.trim().split('\n').pop();
      if (r.code !== 0 || !code?.startsWith('2')) {
        throw new NodeError(node.name, `${role}: health endpoint :${h.port}${h.path} not healthy`, {
          expected: 'HTTP 2xx',
          lastSeen: `${r.stdout.trim() || '(no answer)'} ${r.stderr.trim()}`.trim(),
          // Evidence for the error above: an unreadable journal says so instead of hiding it.
          journal: await node.journal(surface(role).unit, 30).catch((e: Error) => `(journal unreadable: ${e.message.split('\n')[0]})`),
        });
      }
    },
  };
}

/** Each TCP port the facts name accepts a connection on the node; each UDP port is bound. */
export function portsProbe(role: string): Probe {
  const s = surface(role);
  const ports = [...s.tcp.map((p) => `tcp/${p}`), ...(s.udp ?? []).map((p) => `udp/${p}`)];
  return {
    name: `${ports.join(', ')} open`,
    async run(node) {
      const failed: string[] = [];
      for (const p of s.tcp) {
        const r = await node.execute(`timeout 10 bash -c '</dev/tcp/127.0.0.1/${p}' || timeout 10 bash -c '</dev/tcp/${node.spec.clusterIp}/${p}'`);
        if (r.code !== 0) failed.push(`tcp/${p}`);
      }
      for (const p of s.udp ?? []) {
        const out = (await node.execute(`ss -Hlun 'sport = :${p}'`)).stdout;
        if (out.trim() === '') failed.push(`udp/${p}`);
      }
      if (failed.length > 0) {
        throw new NodeError(node.name, `${role}: ${failed.join(', ')} not open`, {
          expected: ports.join(', '),
          lastSeen: `listening sockets:\n${(await node.execute('ss -Hltnu')).stdout.trim()}`,
        });
      }
    },
  };
}

/** The probes the facts allow for a role: its health endpoint and its ports. */
export function probesFor(role: string): Probe[] {
  const s = surface(role);
  return [...(s.health ? [healthProbe(role)] : []), ...(s.tcp.length || s.udp?.length ? [portsProbe(role)] : [])];
}

/** systemctl stop/start of the role's unit on the node (start waits for it to be active). */
export const unitControl = (role: string) => ({
  async stop(node: Node) {
    await node.succeed(`systemctl stop ${surface(role).unit}`);
  },
  async start(node: Node) {
    await node.succeed(`systemctl start ${surface(role).unit}`);
    await node.waitForUnit(surface(role).unit, 120_000);
  },
});

/** A role whose servers come from the nix images (the stack's imageBackend): units and probes from its surface, nothing for the Debian builder. */
export function nixRole(name: string, description: string, hostedOn: Role['hostedOn'], ops?: unknown): Role {
  return { name, description, hostedOn, image: { packages: [] }, units: [surface(name).unit], probes: probesFor(name), ops };
}
