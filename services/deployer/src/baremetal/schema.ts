/**
 * The bare-metal definitions document (`deployerctl bm-seed`): the install
 * bundle, desired systems, node classes (a system and a disk layout) and
 * node records (identity, bootstrap token hash, an override of the desired
 * system). Validated here, pure: a bad document is one line naming the
 * field (`bm: classes.worker.disks[0].partitions[1].sizeMiB: must be an
 * integer between 1 and 16777216, got -1`). Also the desired system of a
 * node (its class's system with the record's override) and its generation.
 * Contract: docs/baremetal-iso.md.
 */
import crypto from 'node:crypto';

export interface BmFile {
  path: string;
  /** Octal, as a string: "0644". */
  mode: string;
  content: string;
}
export type BmCheck = { name: string; unit: string; timeoutS?: number } | { name: string; exec: string; timeoutS?: number };
export interface BmSystem {
  units: string[];
  files: BmFile[];
  checks: BmCheck[];
}
export type BmSelector = { serial: string } | { sizeGiB: { min: number; max: number } };
export type BmPartitionType = 'bios' | 'esp' | 'linux';
export interface BmPartition {
  name: string;
  /** Absent: the rest of the disk (only the last partition). */
  sizeMiB?: number;
  type: BmPartitionType;
  format?: 'ext4' | 'vfat';
  mount?: string;
}
export interface BmDisk {
  name: string;
  select: BmSelector;
  partitions: BmPartition[];
}
export interface BmClass {
  system: string;
  disks: BmDisk[];
}
export interface BmNodeRecord {
  class: string;
  hostname: string;
  tokenSha256: string;
  mac: string;
  /** The installer's address on the cluster switch, CIDR. */
  address: string;
  sshAuthorizedKeys: string[];
  override: Partial<BmSystem>;
}
export interface BmDefs {
  bundle: { sha256: string; bytes: number } | null;
  systems: Record<string, BmSystem>;
  classes: Record<string, BmClass>;
  nodes: Record<string, BmNodeRecord>;
}

export class BmDefinitionError extends Error {
  override name = 'BmDefinitionError';
  constructor(
    readonly field: string,
    readonly problem: string,
  ) {
    super(`bm: ${field}: ${problem}`);
  }
}

export const BM_NAME_RE = /^[a-z][a-z0-9-]{0,62}$/;
/** Partition names are also filesystem labels (ext4: 16 bytes, vfat: 11). */
export const PART_NAME_RE = /^[a-z][a-z0-9-]{0,10}$/;
export const UNIT_RE = /^[A-Za-z0-9@_.:\\-]+\.(service|socket|timer|target|path|mount)$/;
const PATH_RE = /^(\/[A-Za-z0-9._@+-]+)+$/;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const CIDR_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const HEX64_RE = /^[0-9a-f]{64}$/;
export const LIMITS = { fileBytes: 256 * 1024, maxSizeMiB: 16 * 1024 * 1024, checkTimeoutS: [1, 300] as const, defaultCheckTimeoutS: 20 };

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const kindOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);
const fail = (field: string, problem: string): never => {
  throw new BmDefinitionError(field, problem);
};

function obj(field: string, v: unknown): Obj {
  if (!isObj(v)) fail(field, `must be an object, got ${kindOf(v)}`);
  return v as Obj;
}
function only(field: string, o: Obj, allowed: string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) fail(field ? `${field}.${k}` : k, `unknown field (allowed: ${allowed.join(', ')})`);
}
function str(field: string, v: unknown, re?: RegExp, what?: string): string {
  if (typeof v !== 'string') fail(field, `must be a string, got ${kindOf(v)}`);
  const s = v as string;
  if (re && !re.test(s)) fail(field, `${JSON.stringify(s)} is not ${what ?? `matching ${re.source}`}`);
  return s;
}
function int(field: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(field, `must be an integer between ${min} and ${max}, got ${typeof v === 'number' ? v : kindOf(v)}`);
  return v as number;
}
function num(field: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) fail(field, `must be a number >= ${min}, got ${typeof v === 'number' ? v : kindOf(v)}`);
  return v as number;
}
function list(field: string, v: unknown): unknown[] {
  if (!Array.isArray(v)) fail(field, `must be a list, got ${kindOf(v)}`);
  return v as unknown[];
}
function mapOf<T>(field: string, v: unknown, each: (name: string, field: string, v: unknown) => T): Record<string, T> {
  const o = v === undefined ? {} : obj(field, v);
  const out: Record<string, T> = {};
  for (const [name, x] of Object.entries(o)) {
    if (!BM_NAME_RE.test(name)) fail(`${field}.${name}`, `bad name (must match ${BM_NAME_RE.source})`);
    out[name] = each(name, `${field}.${name}`, x);
  }
  return out;
}

export function validatePath(field: string, v: unknown): string {
  const p = str(field, v, PATH_RE, 'an absolute path of [A-Za-z0-9._@+-] segments');
  if (p.split('/').some((s) => s === '.' || s === '..')) fail(field, `${JSON.stringify(p)}: no . or .. segments`);
  return p;
}

function validateFile(field: string, v: unknown): BmFile {
  const o = obj(field, v);
  only(field, o, ['path', 'mode', 'content']);
  const path = validatePath(`${field}.path`, o.path);
  const mode = o.mode === undefined ? '0644' : str(`${field}.mode`, o.mode, /^0?[0-7]{3}$/, 'an octal mode like "0644"');
  const content = str(`${field}.content`, o.content);
  if (Buffer.byteLength(content) > LIMITS.fileBytes) fail(`${field}.content`, `larger than ${LIMITS.fileBytes} bytes`);
  return { path, mode: mode.padStart(4, '0'), content };
}

function validateCheck(field: string, v: unknown): BmCheck {
  const o = obj(field, v);
  only(field, o, ['name', 'unit', 'exec', 'timeoutS']);
  const name = str(`${field}.name`, o.name, /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a check name ([A-Za-z0-9._-], up to 63)');
  if ((o.unit === undefined) === (o.exec === undefined)) fail(field, 'needs exactly one of "unit" or "exec"');
  const timeoutS = o.timeoutS === undefined ? undefined : int(`${field}.timeoutS`, o.timeoutS, LIMITS.checkTimeoutS[0], LIMITS.checkTimeoutS[1]);
  const t = timeoutS === undefined ? {} : { timeoutS };
  if (o.unit !== undefined) return { name, unit: str(`${field}.unit`, o.unit, UNIT_RE, 'a systemd unit name'), ...t };
  const exec = str(`${field}.exec`, o.exec);
  if (exec.trim() === '') fail(`${field}.exec`, 'must not be empty');
  return { name, exec, ...t };
}

function validateSystemParts(field: string, o: Obj, partial: boolean): Partial<BmSystem> {
  const out: Partial<BmSystem> = {};
  if (o.units !== undefined || !partial) out.units = list(`${field}.units`, o.units ?? []).map((u, i) => str(`${field}.units[${i}]`, u, UNIT_RE, 'a systemd unit name'));
  if (o.files !== undefined || !partial) {
    out.files = list(`${field}.files`, o.files ?? []).map((f, i) => validateFile(`${field}.files[${i}]`, f));
    const seen = new Set<string>();
    out.files.forEach((f, i) => {
      if (seen.has(f.path)) fail(`${field}.files[${i}].path`, `${f.path} listed twice`);
      seen.add(f.path);
    });
  }
  if (o.checks !== undefined || !partial) {
    out.checks = list(`${field}.checks`, o.checks ?? []).map((c, i) => validateCheck(`${field}.checks[${i}]`, c));
    const seen = new Set<string>();
    out.checks.forEach((c, i) => {
      if (seen.has(c.name)) fail(`${field}.checks[${i}].name`, `check ${c.name} listed twice`);
      seen.add(c.name);
    });
  }
  return out;
}

function validateSystem(_name: string, field: string, v: unknown): BmSystem {
  const o = obj(field, v);
  only(field, o, ['units', 'files', 'checks']);
  return validateSystemParts(field, o, false) as BmSystem;
}

function validateSelector(field: string, v: unknown): BmSelector {
  const o = obj(field, v);
  only(field, o, ['serial', 'sizeGiB']);
  if ((o.serial === undefined) === (o.sizeGiB === undefined)) fail(field, 'needs exactly one of "serial" (a glob) or "sizeGiB" ({min, max})');
  if (o.serial !== undefined) {
    const serial = str(`${field}.serial`, o.serial, /^[A-Za-z0-9._*?:-]{1,64}$/, 'a serial glob ([A-Za-z0-9._:-] with * and ?)');
    return { serial };
  }
  const s = obj(`${field}.sizeGiB`, o.sizeGiB);
  only(`${field}.sizeGiB`, s, ['min', 'max']);
  const min = num(`${field}.sizeGiB.min`, s.min ?? 0, 0);
  const max = num(`${field}.sizeGiB.max`, s.max ?? Number.MAX_SAFE_INTEGER, 0);
  if (max < min) fail(`${field}.sizeGiB`, `max ${max} is below min ${min}`);
  return { sizeGiB: { min, max } };
}

function validatePartition(field: string, v: unknown, last: boolean): BmPartition {
  const o = obj(field, v);
  only(field, o, ['name', 'sizeMiB', 'type', 'format', 'mount']);
  const name = str(`${field}.name`, o.name, PART_NAME_RE, `a partition name (${PART_NAME_RE.source}: it is also the filesystem label)`);
  const type = str(`${field}.type`, o.type ?? 'linux') as BmPartitionType;
  if (!['bios', 'esp', 'linux'].includes(type)) fail(`${field}.type`, `must be "bios", "esp" or "linux", got ${JSON.stringify(type)}`);
  const p: BmPartition = { name, type };
  if (o.sizeMiB !== undefined) p.sizeMiB = int(`${field}.sizeMiB`, o.sizeMiB, 1, LIMITS.maxSizeMiB);
  else if (!last) fail(`${field}.sizeMiB`, 'missing (only the last partition of a disk may take the rest)');
  if (type === 'bios') {
    if (o.format !== undefined || o.mount !== undefined) fail(field, 'a bios boot partition has no format or mount');
  } else {
    const format = o.format === undefined ? (type === 'esp' ? 'vfat' : undefined) : str(`${field}.format`, o.format);
    if (format !== undefined && format !== 'ext4' && format !== 'vfat') fail(`${field}.format`, `must be "ext4" or "vfat", got ${JSON.stringify(format)}`);
    if (type === 'esp' && format !== 'vfat') fail(`${field}.format`, 'an esp must be vfat');
    if (format) p.format = format as 'ext4' | 'vfat';
    if (o.mount !== undefined) {
      if (!format) fail(`${field}.mount`, 'a mounted partition needs a format');
      p.mount = o.mount === '/' ? '/' : validatePath(`${field}.mount`, o.mount);
    }
  }
  return p;
}

function validateClass(_name: string, field: string, v: unknown, systems: Record<string, BmSystem>): BmClass {
  const o = obj(field, v);
  only(field, o, ['system', 'disks']);
  const system = str(`${field}.system`, o.system);
  if (!systems[system]) fail(`${field}.system`, `unknown system ${JSON.stringify(system)} (known: ${Object.keys(systems).join(', ') || 'none'})`);
  const rawDisks = list(`${field}.disks`, o.disks);
  if (rawDisks.length === 0) fail(`${field}.disks`, 'must list at least one disk');
  const disks = rawDisks.map((d, i) => {
    const f = `${field}.disks[${i}]`;
    const x = obj(f, d);
    only(f, x, ['name', 'select', 'partitions']);
    const parts = list(`${f}.partitions`, x.partitions);
    if (parts.length === 0) fail(`${f}.partitions`, 'must list at least one partition');
    if (parts.length > 64) fail(`${f}.partitions`, 'at most 64');
    return {
      name: str(`${f}.name`, x.name, BM_NAME_RE, 'a disk name'),
      select: validateSelector(`${f}.select`, x.select),
      partitions: parts.map((p, j) => validatePartition(`${f}.partitions[${j}]`, p, j === parts.length - 1)),
    };
  });
  const names = new Set<string>();
  const mounts = new Map<string, string>();
  disks.forEach((d, i) => {
    if (names.has(d.name)) fail(`${field}.disks[${i}].name`, `disk ${d.name} listed twice`);
    names.add(d.name);
    d.partitions.forEach((p, j) => {
      if (names.has(`part:${p.name}`)) fail(`${field}.disks[${i}].partitions[${j}].name`, `partition ${p.name} listed twice in the class`);
      names.add(`part:${p.name}`);
      if (p.mount) {
        if (mounts.has(p.mount)) fail(`${field}.disks[${i}].partitions[${j}].mount`, `${p.mount} is also ${mounts.get(p.mount)}'s mount point`);
        mounts.set(p.mount, p.name);
      }
    });
  });
  if (!mounts.has('/')) fail(`${field}.disks`, 'no partition mounts "/"');
  const all = disks.flatMap((d) => d.partitions);
  if (all.filter((p) => p.type === 'esp').length > 1) fail(`${field}.disks`, 'more than one esp');
  if (all.filter((p) => p.type === 'bios').length > 1) fail(`${field}.disks`, 'more than one bios boot partition');
  return { system, disks };
}

function validateNode(_name: string, field: string, v: unknown, classes: Record<string, BmClass>): BmNodeRecord {
  const o = obj(field, v);
  only(field, o, ['class', 'hostname', 'tokenSha256', 'mac', 'address', 'sshAuthorizedKeys', 'override']);
  const cls = str(`${field}.class`, o.class);
  if (!classes[cls]) fail(`${field}.class`, `unknown class ${JSON.stringify(cls)} (known: ${Object.keys(classes).join(', ') || 'none'})`);
  const address = str(`${field}.address`, o.address, CIDR_RE, 'an IPv4 address with its prefix (10.100.0.41/24)');
  const m = address.match(CIDR_RE)!;
  if (m.slice(1, 5).some((x) => Number(x) > 255) || Number(m[5]) > 32) fail(`${field}.address`, `${JSON.stringify(address)} is not an IPv4 address with its prefix`);
  const override = o.override === undefined ? {} : obj(`${field}.override`, o.override);
  only(`${field}.override`, override, ['units', 'files', 'checks']);
  return {
    class: cls,
    hostname: str(`${field}.hostname`, o.hostname, /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, 'a hostname'),
    tokenSha256: str(`${field}.tokenSha256`, o.tokenSha256, HEX64_RE, 'a sha256 (64 lowercase hex)'),
    mac: str(`${field}.mac`, typeof o.mac === 'string' ? o.mac.toLowerCase() : o.mac, MAC_RE, 'a MAC address (52:54:00:12:34:56)'),
    address,
    sshAuthorizedKeys: list(`${field}.sshAuthorizedKeys`, o.sshAuthorizedKeys ?? []).map((k, i) => str(`${field}.sshAuthorizedKeys[${i}]`, k, /^(ssh|ecdsa|sk)-[^\n]+$/, 'one line of an authorized_keys file')),
    override: validateSystemParts(`${field}.override`, override, true),
  };
}

/** The whole document; throws BmDefinitionError naming the field. `{}` is valid (nothing defined). */
export function validateBmDefs(raw: unknown): BmDefs {
  const o = obj('(top level)', raw);
  only('', o, ['bundle', 'systems', 'classes', 'nodes']);
  let bundle: BmDefs['bundle'] = null;
  if (o.bundle !== undefined && o.bundle !== null) {
    const b = obj('bundle', o.bundle);
    only('bundle', b, ['sha256', 'bytes']);
    bundle = { sha256: str('bundle.sha256', b.sha256, HEX64_RE, 'a sha256 (64 lowercase hex)'), bytes: int('bundle.bytes', b.bytes, 1, Number.MAX_SAFE_INTEGER) };
  }
  const systems = mapOf('systems', o.systems, validateSystem);
  const classes = mapOf('classes', o.classes, (n, f, v) => validateClass(n, f, v, systems));
  const nodes = mapOf('nodes', o.nodes, (n, f, v) => validateNode(n, f, v, classes));
  if (Object.keys(nodes).length > 0 && !bundle) fail('bundle', 'missing (required when nodes are defined)');
  const seen = new Map<string, string>();
  for (const [id, n] of Object.entries(nodes)) {
    for (const [what, value] of [['mac', n.mac], ['address', n.address.split('/')[0]], ['hostname', n.hostname], ['tokenSha256', n.tokenSha256]] as const) {
      const k = `${what}=${value}`;
      if (seen.has(k)) fail(`nodes.${id}.${what}`, `same as node ${seen.get(k)}'s`);
      seen.set(k, id);
    }
  }
  return { bundle, systems, classes, nodes };
}

export interface DesiredSystem extends BmSystem {
  system: string;
  generation: string;
}

/** A node's desired system: its class's system with the record's override appended (files and checks replace by path/name). */
export function desiredSystem(defs: BmDefs, nodeId: string): DesiredSystem {
  const rec = defs.nodes[nodeId];
  if (!rec) throw new Error(`bm: no node ${nodeId}`);
  const system = defs.classes[rec.class].system;
  const base = defs.systems[system];
  const ov = rec.override;
  const units = [...new Set([...base.units, ...(ov.units ?? [])])];
  const files = mergeBy(base.files, ov.files ?? [], (f) => f.path);
  const checks = mergeBy(base.checks, ov.checks ?? [], (c) => c.name);
  const merged = { system, units, files, checks };
  return { ...merged, generation: crypto.createHash('sha256').update(JSON.stringify(merged)).digest('hex').slice(0, 12) };
}

function mergeBy<T>(base: T[], extra: T[], key: (t: T) => string): T[] {
  const out = base.map((b) => extra.find((e) => key(e) === key(b)) ?? b);
  for (const e of extra) if (!base.some((b) => key(b) === key(e))) out.push(e);
  return out;
}
