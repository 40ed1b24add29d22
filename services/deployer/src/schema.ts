/**
 * The service definitions the deployer schedules: the JSON that
 * `nix-instantiate --eval --strict --json services.nix` prints, validated
 * here. Pure (no I/O): used on the host before seeding and by the deployer
 * on what it reads back from chainfire.
 *
 * services.nix is an attribute set of services by name:
 *
 *   hello-web = {
 *     command = "exec busybox httpd -f -p $ADDR:$PORT -h $STATE";   # /bin/sh -c, run as a systemd unit
 *     health = { command = "busybox wget -q -O- http://$ADDR:$PORT/"; intervalS = 5; timeoutS = 5; };
 *     replicas = 2;
 *     port = 8180;                    # optional: replica i listens on port + i
 *     placement = { kinds = [ "worker" ]; antiAffinity = "preferred"; maxPerNode = 2; };
 *   };
 */

export const NODE_KINDS = ['control', 'worker', 'gateway'] as const;
export type NodeKind = (typeof NODE_KINDS)[number];

/**
 * required: never two replicas on one node (maxPerNode is 1);
 * preferred: spread over the eligible nodes, doubling up only when they run out (up to maxPerNode);
 * none: placed by load alone (up to maxPerNode).
 */
export type AntiAffinity = 'required' | 'preferred' | 'none';

export interface ServiceDef {
  name: string;
  /** Run by /bin/sh -c as a systemd unit; env: SERVICE, INSTANCE, REPLICA, NODE, ADDR, STATE, PORT (when `port`). */
  command: string;
  health: { command: string; intervalS: number; timeoutS: number };
  replicas: number;
  /** Base port: replica i gets port + i (so two replicas can share a node). */
  port?: number;
  placement: { kinds: NodeKind[]; antiAffinity: AntiAffinity; maxPerNode: number };
}

/** A definition that cannot be scheduled as written: names the service and the field. */
export class DefinitionError extends Error {
  override name = 'DefinitionError';
  constructor(
    readonly service: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`service ${service}: ${field}: ${problem}`);
  }
}

export const NAME_RE = /^[a-z][a-z0-9-]{0,30}$/;
const DEFAULTS = { intervalS: 5, timeoutS: 5, maxPerNode: 1, antiAffinity: 'preferred' as AntiAffinity };
/** Limits that keep a typo from flooding the tiny workers. */
export const LIMITS = { replicas: 16, maxPerNode: 16, intervalS: [1, 300], timeoutS: [1, 60], commandChars: 4096 } as const;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an attribute set' : `a ${typeof v}`);

function only(service: string, where: string, o: Obj, allowed: string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new DefinitionError(service, where ? `${where}.${k}` : k, `unknown field (allowed: ${allowed.join(', ')})`);
  }
}

function str(service: string, field: string, v: unknown): string {
  if (typeof v !== 'string') throw new DefinitionError(service, field, `must be a string, got ${kindOf(v)}`);
  if (v.trim() === '') throw new DefinitionError(service, field, 'must not be empty');
  if (v.length > LIMITS.commandChars) throw new DefinitionError(service, field, `longer than ${LIMITS.commandChars} characters`);
  return v;
}

function int(service: string, field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw new DefinitionError(service, field, `must be an integer, got ${kindOf(v)}${typeof v === 'number' ? ` ${v}` : ''}`);
  if (v < min || v > max) throw new DefinitionError(service, field, `must be between ${min} and ${max}, got ${v}`);
  return v;
}

/** One service from its JSON; throws DefinitionError naming the service and field. */
export function validateService(name: string, raw: unknown): ServiceDef {
  if (!NAME_RE.test(name)) throw new DefinitionError(name, 'name', `must match ${NAME_RE.source} (it names systemd units and chainfire keys)`);
  if (!isObj(raw)) throw new DefinitionError(name, '(definition)', `must be an attribute set, got ${kindOf(raw)}`);
  only(name, '', raw, ['command', 'health', 'replicas', 'port', 'placement']);
  for (const f of ['command', 'health', 'replicas', 'placement']) {
    if (!(f in raw)) throw new DefinitionError(name, f, 'missing');
  }
  const command = str(name, 'command', raw.command);
  if (!isObj(raw.health)) throw new DefinitionError(name, 'health', `must be an attribute set, got ${kindOf(raw.health)}`);
  only(name, 'health', raw.health, ['command', 'intervalS', 'timeoutS']);
  const health = {
    command: str(name, 'health.command', raw.health.command),
    intervalS: raw.health.intervalS === undefined ? DEFAULTS.intervalS : int(name, 'health.intervalS', raw.health.intervalS, LIMITS.intervalS[0], LIMITS.intervalS[1]),
    timeoutS: raw.health.timeoutS === undefined ? DEFAULTS.timeoutS : int(name, 'health.timeoutS', raw.health.timeoutS, LIMITS.timeoutS[0], LIMITS.timeoutS[1]),
  };
  const replicas = int(name, 'replicas', raw.replicas, 0, LIMITS.replicas);
  const port = raw.port === undefined ? undefined : int(name, 'port', raw.port, 1024, 65535 - LIMITS.replicas);
  if (!isObj(raw.placement)) throw new DefinitionError(name, 'placement', `must be an attribute set, got ${kindOf(raw.placement)}`);
  const p = raw.placement;
  only(name, 'placement', p, ['kinds', 'antiAffinity', 'maxPerNode']);
  if (!Array.isArray(p.kinds) || p.kinds.length === 0) throw new DefinitionError(name, 'placement.kinds', `must be a non-empty list of ${NODE_KINDS.join('/')}, got ${kindOf(p.kinds)}`);
  const kinds = p.kinds.map((k, i) => {
    if (!NODE_KINDS.includes(k as NodeKind)) throw new DefinitionError(name, `placement.kinds[${i}]`, `unknown node kind ${JSON.stringify(k)} (known: ${NODE_KINDS.join(', ')})`);
    return k as NodeKind;
  });
  const antiAffinity = (p.antiAffinity ?? DEFAULTS.antiAffinity) as AntiAffinity;
  if (!['required', 'preferred', 'none'].includes(antiAffinity)) {
    throw new DefinitionError(name, 'placement.antiAffinity', `must be "required", "preferred" or "none", got ${JSON.stringify(p.antiAffinity)}`);
  }
  let maxPerNode = p.maxPerNode === undefined ? (antiAffinity === 'required' ? 1 : replicas || 1) : int(name, 'placement.maxPerNode', p.maxPerNode, 1, LIMITS.maxPerNode);
  if (antiAffinity === 'required') {
    if (p.maxPerNode !== undefined && maxPerNode !== 1) throw new DefinitionError(name, 'placement.maxPerNode', `must be 1 with antiAffinity "required", got ${maxPerNode}`);
    maxPerNode = 1;
  }
  return { name, command, health, replicas, ...(port === undefined ? {} : { port }), placement: { kinds: [...new Set(kinds)], antiAffinity, maxPerNode } };
}

/** The whole set (an attribute set of services by name), sorted by name. */
export function validateServices(raw: unknown): ServiceDef[] {
  if (!isObj(raw)) throw new DefinitionError('(all)', '(top level)', `must be an attribute set of services by name, got ${kindOf(raw)}`);
  const defs = Object.entries(raw).map(([name, v]) => validateService(name, v));
  // Two services whose port ranges overlap would fight over a port on a shared node.
  const ranged = defs.filter((d) => d.port !== undefined && d.replicas > 0);
  for (const a of ranged) {
    for (const b of ranged) {
      if (a.name < b.name && a.port! < b.port! + b.replicas && b.port! < a.port! + a.replicas) {
        throw new DefinitionError(b.name, 'port', `ports ${b.port}-${b.port! + b.replicas - 1} overlap ${a.name}'s ${a.port}-${a.port! + a.replicas - 1}`);
      }
    }
  }
  return defs.sort((a, b) => a.name.localeCompare(b.name));
}
