/**
 * Configuration: CREDIT_* variables (from /run/ultracloud/creditservice.env,
 * written by the role's setup script) plus the cluster secret from
 * CREDIT_SECRET_FILE. Pure functions; main turns a ConfigError into one line
 * on stderr and exit code 2 (the unit has RestartPreventExitStatus=2).
 */

/** Bad configuration: never retried, the service exits 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

export interface HostPort {
  host: string;
  port: number;
}

export interface Config {
  listen: HostPort;
  redis: {
    sentinels: HostPort[];
    masterName: string;
    /** Redis `requirepass` (the cluster secret). The sentinels need none. */
    password: string;
  };
  iam: {
    jwksUrls: string[];
    issuer: string;
    /** Seconds of clock skew allowed on `exp`/`nbf`. */
    clockToleranceS: number;
  };
  ldap: {
    urls: string[];
    base: string;
    bindDn: string;
    bindPassword: string;
    /** DN of the group whose members are operators. */
    operatorsDn: string;
  };
  /** Per-command Redis timeout: a request fails with 503 rather than waiting longer. */
  redisCommandTimeoutMs: number;
  /**
   * A change is acknowledged once `replicas` replicas have it (Redis WAIT,
   * up to `timeoutMs`); otherwise 503. 0 replicas: no WAIT.
   */
  redisWait: { replicas: number; timeoutMs: number };
  /** NightLight's remote-write receiver, where metered writes go once paid for. */
  nightlightWriteUrl: string;
}

/** The values the node06 env file carries; used for any variable that is unset or empty. */
export const DEFAULTS = {
  CREDIT_LISTEN: '127.0.0.1:8085',
  CREDIT_REDIS_SENTINELS: '10.100.0.11:26379,10.100.0.12:26379,10.100.0.13:26379',
  CREDIT_REDIS_MASTER: 'flaredb',
  CREDIT_SECRET_FILE: '/run/ultracloud/secret',
  CREDIT_JWKS_URLS:
    'http://10.100.0.11:4593/api/oidc/jwks,http://10.100.0.12:4593/api/oidc/jwks,http://10.100.0.13:4593/api/oidc/jwks',
  CREDIT_ISSUER: 'http://iam.ultracloud.test:4593/api/oidc',
  CREDIT_LDAP_URLS: 'ldap://10.100.0.11:389,ldap://10.100.0.12:389,ldap://10.100.0.13:389',
  CREDIT_LDAP_BASE: 'dc=ultracloud,dc=test',
  CREDIT_CLOCK_TOLERANCE_S: '30',
  CREDIT_REDIS_TIMEOUT_MS: '10000',
  CREDIT_REDIS_WAIT_REPLICAS: '1',
  CREDIT_REDIS_WAIT_MS: '1000',
  CREDIT_NIGHTLIGHT_WRITE_URL: 'http://127.0.0.1:9090/api/v1/write',
} as const;

export type ConfigVar = keyof typeof DEFAULTS;

/** The service account the directory is read as; its password is `svc-platform-<secret>`. */
export const BIND_UID = 'svc-platform';

function get(env: Record<string, string | undefined>, name: ConfigVar): string {
  const v = env[name]?.trim();
  return v ? v : DEFAULTS[name];
}

/** `host:port`, `[v6]:port`; the port 1-65535. */
export function parseHostPort(value: string, name: string): HostPort {
  const s = value.trim();
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d+)$/.exec(s) ?? /^([A-Za-z0-9.-]+):(\d+)$/.exec(s);
  if (!m) throw new ConfigError(`${name}: expected host:port, got '${value}'`);
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(`${name}: port out of range 1-65535 in '${value}'`);
  }
  const host = m[1]!;
  if (host.startsWith('.') || host.endsWith('.') || host.startsWith('-')) {
    throw new ConfigError(`${name}: bad host in '${value}'`);
  }
  return { host, port };
}

/** A comma-separated list; empty items are an error (a typo, not intent). */
export function splitList(value: string, name: string): string[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === '')) {
    throw new ConfigError(`${name}: empty item in comma-separated list '${value}'`);
  }
  return items;
}

export function parseHostPortList(value: string, name: string): HostPort[] {
  return splitList(value, name).map((item) => parseHostPort(item, name));
}

/** URLs whose scheme is one of `schemes` (e.g. ['http:', 'https:']) and that carry a host. */
export function parseUrlList(value: string, name: string, schemes: string[]): string[] {
  return splitList(value, name).map((item) => {
    let u: URL;
    try {
      u = new URL(item);
    } catch {
      throw new ConfigError(`${name}: not a URL: '${item}'`);
    }
    if (!schemes.includes(u.protocol)) {
      throw new ConfigError(`${name}: '${item}' must use ${schemes.map((s) => s.replace(/:$/, '')).join(' or ')}`);
    }
    if (!u.hostname) throw new ConfigError(`${name}: no host in '${item}'`);
    return item;
  });
}

function parseIntVar(value: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new ConfigError(`${name}: expected an integer, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new ConfigError(`${name}: ${n} is outside ${min}-${max}`);
  return n;
}

/** A DN as `attr=value(,attr=value)*`; only a sanity check. */
function parseDn(value: string, name: string): string {
  if (!/^[A-Za-z][A-Za-z0-9-]*=[^,]+(,\s*[A-Za-z][A-Za-z0-9-]*=[^,]+)*$/.test(value)) {
    throw new ConfigError(`${name}: not a DN: '${value}'`);
  }
  return value;
}

/**
 * The cluster secret: the file's content without trailing whitespace. An
 * unreadable or empty file is a configuration error.
 */
export function readSecret(file: string, readFile: (path: string) => string): string {
  let raw: string;
  try {
    raw = readFile(file);
  } catch (err) {
    // "ENOENT: no such file or directory, open '/x'" -> "ENOENT: no such file or directory"
    const why = (err instanceof Error ? err.message : String(err)).split(',')[0];
    throw new ConfigError(`CREDIT_SECRET_FILE: cannot read ${file}: ${why}`);
  }
  const secret = raw.trim();
  if (!secret) throw new ConfigError(`CREDIT_SECRET_FILE: ${file} is empty`);
  if (/\s/.test(secret)) throw new ConfigError(`CREDIT_SECRET_FILE: ${file} holds whitespace inside the secret`);
  return secret;
}

/** Everything from the environment and the secret file; throws ConfigError. */
export function loadConfig(env: Record<string, string | undefined>, readFile: (path: string) => string): Config {
  const listen = parseHostPort(get(env, 'CREDIT_LISTEN'), 'CREDIT_LISTEN');
  const sentinels = parseHostPortList(get(env, 'CREDIT_REDIS_SENTINELS'), 'CREDIT_REDIS_SENTINELS');
  const masterName = get(env, 'CREDIT_REDIS_MASTER');
  if (!/^[A-Za-z0-9._-]+$/.test(masterName)) {
    throw new ConfigError(`CREDIT_REDIS_MASTER: bad master name '${masterName}'`);
  }
  const jwksUrls = parseUrlList(get(env, 'CREDIT_JWKS_URLS'), 'CREDIT_JWKS_URLS', ['http:', 'https:']);
  const issuer = get(env, 'CREDIT_ISSUER');
  if (/\s/.test(issuer)) throw new ConfigError(`CREDIT_ISSUER: whitespace in '${issuer}'`);
  const ldapUrls = parseUrlList(get(env, 'CREDIT_LDAP_URLS'), 'CREDIT_LDAP_URLS', ['ldap:', 'ldaps:']);
  const base = parseDn(get(env, 'CREDIT_LDAP_BASE'), 'CREDIT_LDAP_BASE');
  const clockToleranceS = parseIntVar(get(env, 'CREDIT_CLOCK_TOLERANCE_S'), 'CREDIT_CLOCK_TOLERANCE_S', 0, 3600);
  const redisCommandTimeoutMs = parseIntVar(get(env, 'CREDIT_REDIS_TIMEOUT_MS'), 'CREDIT_REDIS_TIMEOUT_MS', 100, 600_000);
  const waitReplicas = parseIntVar(get(env, 'CREDIT_REDIS_WAIT_REPLICAS'), 'CREDIT_REDIS_WAIT_REPLICAS', 0, 100);
  const waitMs = parseIntVar(get(env, 'CREDIT_REDIS_WAIT_MS'), 'CREDIT_REDIS_WAIT_MS', 1, 600_000);
  // A WAIT the command timeout cuts off would report a timeout instead of the replica count.
  if (waitMs >= redisCommandTimeoutMs) {
    throw new ConfigError(`CREDIT_REDIS_WAIT_MS: ${waitMs} must be below CREDIT_REDIS_TIMEOUT_MS (${redisCommandTimeoutMs})`);
  }
  const writeUrls = parseUrlList(get(env, 'CREDIT_NIGHTLIGHT_WRITE_URL'), 'CREDIT_NIGHTLIGHT_WRITE_URL', ['http:']);
  if (writeUrls.length !== 1) throw new ConfigError(`CREDIT_NIGHTLIGHT_WRITE_URL: one URL, got ${writeUrls.length}`);
  const nightlightWriteUrl = writeUrls[0]!;
  // The secret last: a bad variable is reported even on a machine without the file.
  const secret = readSecret(get(env, 'CREDIT_SECRET_FILE'), readFile);
  return {
    listen,
    redis: { sentinels, masterName, password: secret },
    iam: { jwksUrls, issuer, clockToleranceS },
    ldap: {
      urls: ldapUrls,
      base,
      bindDn: `uid=${BIND_UID},ou=services,${base}`,
      bindPassword: `${BIND_UID}-${secret}`,
      operatorsDn: `cn=operators,ou=groups,${base}`,
    },
    redisCommandTimeoutMs,
    redisWait: { replicas: waitReplicas, timeoutMs: waitMs },
    nightlightWriteUrl,
  };
}

export function formatHostPort(hp: HostPort): string {
  return hp.host.includes(':') ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}
