/** The web app's config file: every field checked, defaults, one clear error naming the field. */
import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_LISTEN, configPath, parseConfig } from '../../services/webapp/src/config.js';

const GOOD = {
  name: 'webapp-demo',
  listen: { host: '0.0.0.0', port: 8080 },
  flaredb: {
    sentinels: [
      { host: '10.100.0.11', port: 26379 },
      { host: '10.100.0.12', port: 26379 },
      { host: '10.100.0.13', port: 26379 },
    ],
    masterName: 'flaredb',
    password: '0123456789abcdef0123456789abcdef',
  },
  s3: {
    endpoint: 'http://10.100.0.11:8080',
    region: 'us-east-1',
    bucket: 'webapp-demo',
    accessKeyId: 'ultracloud:smoke',
    secretAccessKey: '0123456789abcdef0123456789abcdef',
    forcePathStyle: true,
  },
  counterKey: 'webapp:demo:state',
  metadataUrl: 'http://10.252.0.2/node',
};

type Json = Record<string, unknown>;
function withField(path: string, value: unknown): string {
  const doc = JSON.parse(JSON.stringify(GOOD)) as Json;
  const parts = path.split('.');
  let o = doc;
  for (const p of parts.slice(0, -1)) o = o[p] as Json;
  if (value === undefined) delete o[parts.at(-1)!];
  else o[parts.at(-1)!] = value;
  return JSON.stringify(doc);
}
function error(text: string): string {
  try {
    parseConfig(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('parseConfig accepted it');
}

describe('webapp config', () => {
  it('reads a full config as given', () => {
    expect(parseConfig(JSON.stringify(GOOD))).toEqual(GOOD);
  });

  it('defaults: listen 0.0.0.0:8080 (also per field), region us-east-1, path style, no metadata URL', () => {
    const c = parseConfig(withField('listen', undefined));
    expect(c.listen).toEqual(DEFAULT_LISTEN);
    expect(DEFAULT_LISTEN).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(parseConfig(withField('listen', { port: 9000 })).listen).toEqual({ host: '0.0.0.0', port: 9000 });
    expect(parseConfig(withField('s3.region', undefined)).s3.region).toBe('us-east-1');
    expect(parseConfig(withField('s3.forcePathStyle', undefined)).s3.forcePathStyle).toBe(true);
    expect(parseConfig(withField('metadataUrl', undefined)).metadataUrl).toBeNull();
    expect(parseConfig(withField('metadataUrl', null)).metadataUrl).toBeNull();
  });

  it('the endpoint is normalized to scheme://host:port', () => {
    expect(parseConfig(withField('s3.endpoint', 'http://10.100.0.12:8080/')).s3.endpoint).toBe('http://10.100.0.12:8080');
  });

  it.each([
    ['name', undefined, 'name: required'],
    ['name', '', 'name: must not be empty'],
    ['name', 'has space', 'name: "has space" is not a name of 1-63 letters, digits, ".", "_" or "-"'],
    ['listen.port', 0, 'listen.port: expected an integer port 1-65535, got number 0'],
    ['listen.port', '8080', 'listen.port: expected an integer port 1-65535, got "8080"'],
    ['listen.host', 'bad host', 'listen.host: "bad host" is not a host name or IP address'],
    ['listen.extra', 1, 'listen.extra: unknown field (allowed: host, port)'],
    ['flaredb', undefined, 'flaredb: required'],
    ['flaredb', [], 'flaredb: expected an object, got an array'],
    ['flaredb.sentinels', [], 'flaredb.sentinels: expected a non-empty array of {host, port}, got an array'],
    ['flaredb.sentinels', undefined, 'flaredb.sentinels: required'],
    ['flaredb.sentinels', [{ host: '10.100.0.11', port: 26379 }, { host: '10.100.0.12' }], 'flaredb.sentinels[1].port: required'],
    ['flaredb.sentinels', [{ host: '10.100.0.11', port: 70000 }], 'flaredb.sentinels[0].port: expected an integer port 1-65535, got number 70000'],
    ['flaredb.sentinels', ['10.100.0.11:26379'], 'flaredb.sentinels[0]: expected an object, got "10.100.0.11:26379"'],
    ['flaredb.masterName', undefined, 'flaredb.masterName: required'],
    ['flaredb.password', '', 'flaredb.password: must not be empty'],
    ['flaredb.password', 42, 'flaredb.password: expected a string, got number 42'],
    ['flaredb.db', 0, 'flaredb.db: unknown field (allowed: sentinels, masterName, password)'],
    ['s3', undefined, 's3: required'],
    ['s3.endpoint', '10.100.0.11:8080', 's3.endpoint: not a URL: "10.100.0.11:8080"'],
    ['s3.endpoint', 'node01:8080', 's3.endpoint: "node01:8080" must be http or https'],
    ['s3.endpoint', 'http://user:pw@node01:8080', 's3.endpoint: credentials in the URL are not allowed'],
    ['s3.endpoint', 'http://10.100.0.11:8080/bucket', 's3.endpoint: "http://10.100.0.11:8080/bucket" must be scheme://host[:port] with no path'],
    ['s3.endpoint', 'not a url', 's3.endpoint: not a URL: "not a url"'],
    ['s3.bucket', 'Webapp', 's3.bucket: "Webapp" is not an S3 bucket name (3-63 of a-z, 0-9, ".", "-")'],
    ['s3.bucket', 'ab', 's3.bucket: "ab" is not an S3 bucket name (3-63 of a-z, 0-9, ".", "-")'],
    ['s3.bucket', 'a..b', 's3.bucket: "a..b" holds ".."'],
    ['s3.accessKeyId', undefined, 's3.accessKeyId: required'],
    ['s3.secretAccessKey', null, 's3.secretAccessKey: expected a string, got null'],
    ['s3.forcePathStyle', 'yes', 's3.forcePathStyle: expected true or false, got "yes"'],
    ['s3.region', 'US East', 's3.region: "US East" is not a region name like us-east-1'],
    ['counterKey', undefined, 'counterKey: required'],
    ['counterKey', 'a key', 'counterKey: "a key" is not a key of 1-200 letters, digits and : . _ { } / -'],
    ['metadataUrl', 'https://10.252.0.2/node', 'metadataUrl: "https://10.252.0.2/node" must be http'],
    ['metadataUrl', 'ftp://10.252.0.2/node', 'metadataUrl: "ftp://10.252.0.2/node" must be http or https'],
    ['metadataUrl', 5, 'metadataUrl: expected a string, got number 5'],
    ['extra', true, 'extra: unknown field (allowed: name, listen, flaredb, s3, counterKey, metadataUrl)'],
  ])('%s = %j: "%s"', (field, value, message) => {
    expect(error(withField(field, value))).toBe(message);
  });

  it('not JSON, or not an object', () => {
    expect(error('{name:')).toMatch(/^not JSON: /);
    expect(error('[]')).toBe('(top level): expected an object, got an array');
  });

  it('never echoes a long value whole', () => {
    expect(error(withField('name', 'x'.repeat(100)))).toBe(`name: "${'x'.repeat(40)}..." is not a name of 1-63 letters, digits, ".", "_" or "-"`);
  });

  it('--config FILE or --config=FILE, nothing else', () => {
    expect(configPath(['--config', '/run/webapp/config.json'])).toBe('/run/webapp/config.json');
    expect(configPath(['--config=/x.json'])).toBe('/x.json');
    expect(() => configPath([])).toThrow('usage: webapp.js --config <file>');
    expect(() => configPath(['--config'])).toThrow('unexpected argument "--config"');
    expect(() => configPath(['--config', 'a', '--config', 'b'])).toThrow('unexpected argument "--config"');
    expect(() => configPath(['--port', '1'])).toThrow('unexpected argument "--port"');
  });
});
