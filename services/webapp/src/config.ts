/**
 * The configuration file (`--config <file>`, JSON), validated strictly:
 * every field's type and range, no unknown fields. A bad file is one
 * ConfigError naming the field (`s3.endpoint: ...`); main prints it as one
 * line and exits 2. Pure functions.
 */

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface HostPort {
  host: string;
  port: number;
}

export interface Config {
  /** The VM's name: in every state document and snapshot. */
  name: string;
  /** Where the HTTP server listens (default 0.0.0.0:8080). */
  listen: HostPort;
  flaredb: {
    /** Redis Sentinels (ioredis asks them for the primary). */
    sentinels: HostPort[];
    /** The Sentinel master name. */
    masterName: string;
    /** Redis `requirepass` (the sentinels need none). */
    password: string;
  };
  s3: {
    /** `http(s)://host[:port]`, e.g. http://10.100.0.11:8080 (a swift-proxy with s3api). */
    endpoint: string;
    region: string;
    bucket: string;
    accessKeyId: string;
    secretAccessKey: string;
    forcePathStyle: boolean;
  };
  /** The FlareDB hash holding `counter` and `lastSnapshot`. */
  counterKey: string;
  /** Answers the name of the worker the VM runs on (plain text); null: none configured. */
  metadataUrl: string | null;
}

export const DEFAULT_LISTEN: HostPort = { host: '0.0.0.0', port: 8080 };
export const DEFAULT_REGION = 'us-east-1';

type Obj = Record<string, unknown>;

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6_RE = /^[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*$/;
/** S3 bucket naming rules: 3-63 of a-z 0-9 . -, starting and ending with a letter or digit, no "..". */
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const KEY_RE = /^[A-Za-z0-9:._{}/-]{1,200}$/;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}...` : v}"`;
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

function object(v: unknown, field: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${field}: expected an object, got ${describe(v)}`);
  return v as Obj;
}

function only(o: Obj, field: string, allowed: string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw new ConfigError(`${field ? `${field}.` : ''}${k}: unknown field (allowed: ${allowed.join(', ')})`);
  }
}

function has(o: Obj, k: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, k) && o[k] !== undefined;
}

function string(o: Obj, k: string, field: string, opts: { re?: RegExp; what?: string; max?: number } = {}): string {
  const f = `${field}${k}`;
  if (!has(o, k)) throw new ConfigError(`${f}: required`);
  const v = o[k];
  if (typeof v !== 'string') throw new ConfigError(`${f}: expected a string, got ${describe(v)}`);
  if (v === '') throw new ConfigError(`${f}: must not be empty`);
  if (v.length > (opts.max ?? 1024)) throw new ConfigError(`${f}: longer than ${opts.max ?? 1024} characters`);
  if (opts.re && !opts.re.test(v)) throw new ConfigError(`${f}: ${describe(v)} is not ${opts.what ?? `matching ${opts.re}`}`);
  return v;
}

function host(o: Obj, k: string, field: string): string {
  const h = string(o, k, field, { max: 253 });
  if (!HOST_RE.test(h) && !IPV6_RE.test(h)) throw new ConfigError(`${field}${k}: ${describe(h)} is not a host name or IP address`);
  return h;
}

function port(o: Obj, k: string, field: string): number {
  const f = `${field}${k}`;
  if (!has(o, k)) throw new ConfigError(`${f}: required`);
  const v = o[k];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
    throw new ConfigError(`${f}: expected an integer port 1-65535, got ${describe(v)}`);
  }
  return v;
}

function hostPort(v: unknown, field: string): HostPort {
  const o = object(v, field);
  only(o, field, ['host', 'port']);
  return { host: host(o, 'host', `${field}.`), port: port(o, 'port', `${field}.`) };
}

/** An http(s) URL with a host; `allowPath`: anything after the authority is allowed too. */
function url(v: string, field: string, allowPath: boolean): string {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(`${field}: not a URL: ${describe(v)}`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(`${field}: ${describe(v)} must be http or https`);
  if (!u.hostname) throw new ConfigError(`${field}: no host in ${describe(v)}`);
  if (u.username || u.password) throw new ConfigError(`${field}: credentials in the URL are not allowed`);
  if (!allowPath && (u.pathname !== '/' || u.search || u.hash)) {
    throw new ConfigError(`${field}: ${describe(v)} must be scheme://host[:port] with no path`);
  }
  return allowPath ? v : `${u.protocol}//${u.host}`;
}

/** The config from the file's text; throws ConfigError naming the field. */
export function parseConfig(text: string): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`not JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  const top = object(raw, '(top level)');
  only(top, '', ['name', 'listen', 'flaredb', 's3', 'counterKey', 'metadataUrl']);

  const name = string(top, 'name', '', { re: NAME_RE, what: 'a name of 1-63 letters, digits, ".", "_" or "-"' });

  let listen = DEFAULT_LISTEN;
  if (has(top, 'listen')) {
    const l = object(top.listen, 'listen');
    only(l, 'listen', ['host', 'port']);
    listen = {
      host: has(l, 'host') ? host(l, 'host', 'listen.') : DEFAULT_LISTEN.host,
      port: has(l, 'port') ? port(l, 'port', 'listen.') : DEFAULT_LISTEN.port,
    };
  }

  if (!has(top, 'flaredb')) throw new ConfigError('flaredb: required');
  const f = object(top.flaredb, 'flaredb');
  only(f, 'flaredb', ['sentinels', 'masterName', 'password']);
  if (!has(f, 'sentinels')) throw new ConfigError('flaredb.sentinels: required');
  if (!Array.isArray(f.sentinels) || f.sentinels.length === 0) {
    throw new ConfigError(`flaredb.sentinels: expected a non-empty array of {host, port}, got ${describe(f.sentinels)}`);
  }
  const sentinels = f.sentinels.map((s: unknown, i: number) => hostPort(s, `flaredb.sentinels[${i}]`));
  const flaredb = {
    sentinels,
    masterName: string(f, 'masterName', 'flaredb.', { re: NAME_RE, what: 'a Sentinel master name' }),
    password: string(f, 'password', 'flaredb.'),
  };

  if (!has(top, 's3')) throw new ConfigError('s3: required');
  const s = object(top.s3, 's3');
  only(s, 's3', ['endpoint', 'region', 'bucket', 'accessKeyId', 'secretAccessKey', 'forcePathStyle']);
  let forcePathStyle = true;
  if (has(s, 'forcePathStyle')) {
    if (typeof s.forcePathStyle !== 'boolean') throw new ConfigError(`s3.forcePathStyle: expected true or false, got ${describe(s.forcePathStyle)}`);
    forcePathStyle = s.forcePathStyle;
  }
  const bucket = string(s, 'bucket', 's3.', { re: BUCKET_RE, what: 'an S3 bucket name (3-63 of a-z, 0-9, ".", "-")' });
  if (bucket.includes('..')) throw new ConfigError(`s3.bucket: "${bucket}" holds ".."`);
  const s3 = {
    endpoint: url(string(s, 'endpoint', 's3.'), 's3.endpoint', false),
    region: has(s, 'region') ? string(s, 'region', 's3.', { re: /^[a-z0-9-]{1,32}$/, what: 'a region name like us-east-1' }) : DEFAULT_REGION,
    bucket,
    accessKeyId: string(s, 'accessKeyId', 's3.'),
    secretAccessKey: string(s, 'secretAccessKey', 's3.'),
    forcePathStyle,
  };

  const counterKey = string(top, 'counterKey', '', { re: KEY_RE, what: 'a key of 1-200 letters, digits and : . _ { } / -' });

  let metadataUrl: string | null = null;
  if (has(top, 'metadataUrl') && top.metadataUrl !== null) {
    metadataUrl = url(string(top, 'metadataUrl', ''), 'metadataUrl', true);
    if (!metadataUrl.startsWith('http:')) throw new ConfigError(`metadataUrl: ${describe(metadataUrl)} must be http`);
  }

  return { name, listen, flaredb, s3, counterKey, metadataUrl };
}

/** The --config file from argv (`--config FILE` or `--config=FILE`); throws ConfigError on anything else. */
export function configPath(argv: string[]): string {
  let file: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--config' && argv[i + 1] !== undefined && file === undefined) file = argv[++i];
    else if (a.startsWith('--config=') && file === undefined) file = a.slice('--config='.length);
    else throw new ConfigError(`usage: webapp.js --config <file> (unexpected argument ${JSON.stringify(a)})`);
  }
  if (!file) throw new ConfigError('usage: webapp.js --config <file>');
  return file;
}
