import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  DEFAULTS,
  formatHostPort,
  loadConfig,
  parseHostPort,
  parseHostPortList,
  parseUrlList,
  readSecret,
} from '../../services/creditservice/src/config.js';

const SECRET = '0123abcd';
const files = (map: Record<string, string>) => (p: string) => {
  if (p in map) return map[p]!;
  throw Object.assign(new Error(`ENOENT: no such file or directory, open '${p}'`), { code: 'ENOENT' });
};
const withSecret = files({ '/run/ultracloud/secret': SECRET });

function configError(env: Record<string, string | undefined>, readFile = withSecret): string {
  try {
    loadConfig(env, readFile);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('loadConfig did not throw');
}

describe('creditservice config', () => {
  it('defaults to the node06 values, the secret from /run/ultracloud/secret', () => {
    expect(loadConfig({}, withSecret)).toEqual({
      listen: { host: '127.0.0.1', port: 8085 },
      redis: {
        sentinels: [
          { host: '10.100.0.11', port: 26379 },
          { host: '10.100.0.12', port: 26379 },
          { host: '10.100.0.13', port: 26379 },
        ],
        masterName: 'flaredb',
        password: SECRET,
      },
      iam: {
        jwksUrls: [
          'http://10.100.0.11:4593/api/oidc/jwks',
          'http://10.100.0.12:4593/api/oidc/jwks',
          'http://10.100.0.13:4593/api/oidc/jwks',
        ],
        issuer: 'http://iam.ultracloud.test:4593/api/oidc',
        clockToleranceS: 30,
      },
      ldap: {
        urls: ['ldap://10.100.0.11:389', 'ldap://10.100.0.12:389', 'ldap://10.100.0.13:389'],
        base: 'dc=ultracloud,dc=test',
        bindDn: 'uid=svc-platform,ou=services,dc=ultracloud,dc=test',
        bindPassword: `svc-platform-${SECRET}`,
        operatorsDn: 'cn=operators,ou=groups,dc=ultracloud,dc=test',
      },
      redisCommandTimeoutMs: 10_000,
      redisWait: { replicas: 1, timeoutMs: 1000 },
      nightlightWriteUrl: 'http://127.0.0.1:9090/api/v1/write',
    });
  });

  it('reads every variable, trims values and treats empty ones as unset', () => {
    const c = loadConfig(
      {
        CREDIT_LISTEN: ' 0.0.0.0:9000 ',
        CREDIT_REDIS_SENTINELS: '10.0.0.1:1, 10.0.0.2:2',
        CREDIT_REDIS_MASTER: 'mymaster',
        CREDIT_SECRET_FILE: '/tmp/s',
        CREDIT_JWKS_URLS: 'https://iam/jwks',
        CREDIT_ISSUER: 'http://issuer',
        CREDIT_LDAP_URLS: 'ldaps://ldap:636',
        CREDIT_LDAP_BASE: 'dc=example,dc=org',
        CREDIT_CLOCK_TOLERANCE_S: '0',
        CREDIT_REDIS_TIMEOUT_MS: '2500',
        CREDIT_REDIS_WAIT_REPLICAS: '2',
        CREDIT_REDIS_WAIT_MS: '2499',
        CREDIT_ISSUER_UNUSED: '',
      },
      files({ '/tmp/s': 'feed\n' }),
    );
    expect(c.listen).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(c.redis).toEqual({ sentinels: [{ host: '10.0.0.1', port: 1 }, { host: '10.0.0.2', port: 2 }], masterName: 'mymaster', password: 'feed' });
    expect(c.iam).toEqual({ jwksUrls: ['https://iam/jwks'], issuer: 'http://issuer', clockToleranceS: 0 });
    expect(c.ldap.bindDn).toBe('uid=svc-platform,ou=services,dc=example,dc=org');
    expect(c.ldap.bindPassword).toBe('svc-platform-feed');
    expect(c.redisCommandTimeoutMs).toBe(2500);
    expect(c.redisWait).toEqual({ replicas: 2, timeoutMs: 2499 });
    // 0 replicas turns the WAIT off
    expect(loadConfig({ CREDIT_REDIS_WAIT_REPLICAS: '0' }, withSecret).redisWait).toEqual({ replicas: 0, timeoutMs: 1000 });
    expect(loadConfig({ CREDIT_LISTEN: '' }, withSecret).listen).toEqual({ host: '127.0.0.1', port: 8085 });
  });

  it('names the variable in every error', () => {
    expect(configError({ CREDIT_LISTEN: '8085' })).toBe("CREDIT_LISTEN: expected host:port, got '8085'");
    expect(configError({ CREDIT_LISTEN: 'localhost:0' })).toBe("CREDIT_LISTEN: port out of range 1-65535 in 'localhost:0'");
    expect(configError({ CREDIT_LISTEN: 'localhost:70000' })).toMatch(/^CREDIT_LISTEN: port out of range/);
    expect(configError({ CREDIT_REDIS_SENTINELS: '10.0.0.1:26379,,10.0.0.2:26379' })).toMatch(/^CREDIT_REDIS_SENTINELS: empty item/);
    expect(configError({ CREDIT_REDIS_SENTINELS: '10.0.0.1' })).toMatch(/^CREDIT_REDIS_SENTINELS: expected host:port/);
    expect(configError({ CREDIT_REDIS_MASTER: 'a b' })).toMatch(/^CREDIT_REDIS_MASTER: /);
    expect(configError({ CREDIT_JWKS_URLS: 'ldap://x/jwks' })).toBe("CREDIT_JWKS_URLS: 'ldap://x/jwks' must use http or https");
    expect(configError({ CREDIT_JWKS_URLS: 'not a url' })).toBe("CREDIT_JWKS_URLS: not a URL: 'not a url'");
    expect(configError({ CREDIT_LDAP_URLS: 'http://x:389' })).toBe("CREDIT_LDAP_URLS: 'http://x:389' must use ldap or ldaps");
    expect(configError({ CREDIT_LDAP_BASE: 'ultracloud.test' })).toBe("CREDIT_LDAP_BASE: not a DN: 'ultracloud.test'");
    expect(configError({ CREDIT_ISSUER: 'http://a b' })).toMatch(/^CREDIT_ISSUER: /);
    expect(configError({ CREDIT_CLOCK_TOLERANCE_S: '-1' })).toBe("CREDIT_CLOCK_TOLERANCE_S: expected an integer, got '-1'");
    expect(configError({ CREDIT_REDIS_TIMEOUT_MS: '5' })).toBe('CREDIT_REDIS_TIMEOUT_MS: 5 is outside 100-600000');
    expect(configError({ CREDIT_REDIS_WAIT_REPLICAS: '-1' })).toBe("CREDIT_REDIS_WAIT_REPLICAS: expected an integer, got '-1'");
    expect(configError({ CREDIT_REDIS_WAIT_REPLICAS: 'one' })).toBe("CREDIT_REDIS_WAIT_REPLICAS: expected an integer, got 'one'");
    expect(configError({ CREDIT_REDIS_WAIT_REPLICAS: '101' })).toBe('CREDIT_REDIS_WAIT_REPLICAS: 101 is outside 0-100');
    expect(configError({ CREDIT_REDIS_WAIT_MS: '0' })).toBe('CREDIT_REDIS_WAIT_MS: 0 is outside 1-600000');
    expect(configError({ CREDIT_REDIS_WAIT_MS: '1.5' })).toBe("CREDIT_REDIS_WAIT_MS: expected an integer, got '1.5'");
    // cut off by the command timeout, WAIT would never report its count
    expect(configError({ CREDIT_REDIS_WAIT_MS: '10000' })).toBe('CREDIT_REDIS_WAIT_MS: 10000 must be below CREDIT_REDIS_TIMEOUT_MS (10000)');
    expect(configError({ CREDIT_REDIS_WAIT_MS: '1000', CREDIT_REDIS_TIMEOUT_MS: '500' })).toBe(
      'CREDIT_REDIS_WAIT_MS: 1000 must be below CREDIT_REDIS_TIMEOUT_MS (500)',
    );
  });

  it('reports a bad variable before a missing secret file', () => {
    expect(configError({ CREDIT_LISTEN: 'x' }, files({}))).toMatch(/^CREDIT_LISTEN: /);
  });

  it('a missing, empty or odd secret file is a config error', () => {
    expect(configError({}, files({}))).toBe('CREDIT_SECRET_FILE: cannot read /run/ultracloud/secret: ENOENT: no such file or directory');
    expect(configError({}, files({ '/run/ultracloud/secret': '\n' }))).toBe('CREDIT_SECRET_FILE: /run/ultracloud/secret is empty');
    expect(configError({}, files({ '/run/ultracloud/secret': 'ab cd' }))).toMatch(/whitespace inside the secret/);
    expect(readSecret('/s', files({ '/s': 'abc\n' }))).toBe('abc');
  });

  it('parses host:port forms', () => {
    expect(parseHostPort('node01.ultracloud.test:1', 'X')).toEqual({ host: 'node01.ultracloud.test', port: 1 });
    expect(parseHostPort('[::1]:8085', 'X')).toEqual({ host: '::1', port: 8085 });
    expect(formatHostPort({ host: '::1', port: 8085 })).toBe('[::1]:8085');
    expect(formatHostPort({ host: '127.0.0.1', port: 8085 })).toBe('127.0.0.1:8085');
    for (const bad of ['', ':80', 'host:', 'host:port', 'a:b:c', 'host:65536', '.x:1', 'x.:1', 'ho st:1']) {
      expect(() => parseHostPort(bad, 'X'), bad).toThrow(ConfigError);
    }
    expect(parseHostPortList('a:1,b:2', 'X')).toHaveLength(2);
    expect(() => parseHostPortList('a:1,', 'X')).toThrow(/empty item/);
  });

  it('parses URL lists', () => {
    expect(parseUrlList('http://a/x, https://b/y', 'X', ['http:', 'https:'])).toEqual(['http://a/x', 'https://b/y']);
    expect(() => parseUrlList('file:///etc/passwd', 'X', ['http:'])).toThrow(ConfigError);
  });

  it('documents a default for every variable', () => {
    expect(Object.keys(DEFAULTS).sort()).toEqual([
      'CREDIT_CLOCK_TOLERANCE_S',
      'CREDIT_ISSUER',
      'CREDIT_JWKS_URLS',
      'CREDIT_LDAP_BASE',
      'CREDIT_LDAP_URLS',
      'CREDIT_LISTEN',
      'CREDIT_NIGHTLIGHT_WRITE_URL',
      'CREDIT_REDIS_MASTER',
      'CREDIT_REDIS_SENTINELS',
      'CREDIT_REDIS_TIMEOUT_MS',
      'CREDIT_REDIS_WAIT_MS',
      'CREDIT_REDIS_WAIT_REPLICAS',
      'CREDIT_SECRET_FILE',
    ]);
  });
});
