import { EqualityFilter, type Entry, type SearchOptions } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../services/creditservice/src/config.js';
import {
  LdapDirectory,
  firstValue,
  parseQuota,
  type LdapClientLike,
} from '../../services/creditservice/src/directory.js';
import { UnavailableError } from '../../services/creditservice/src/errors.js';
import { rejection } from '../../services/creditservice/src/testing.js';

const BASE = 'dc=ultracloud,dc=test';
const config = loadConfig({}, () => 'secret0').ldap;
const URLS = config.urls;

interface Server {
  down?: string;
  /** Fails every search after the bind (the server went away). */
  dropAfterBind?: boolean;
}

/**
 * A directory of three servers: a fake ldapts Client per connection that
 * checks the bind and answers the two searches creditservice makes.
 */
class FakeLdap {
  servers = new Map<string, Server>(URLS.map((u) => [u, {}]));
  people = new Map<string, Entry>([
    ['alice', { dn: `uid=alice,ou=people,${BASE}`, ultracloudAccount: ['acct-alice'], ultracloudQuota: ['100'] }],
    ['bob', { dn: `uid=bob,ou=people,${BASE}`, ultracloudaccount: 'acct-bob', ultracloudquota: '50' }],
    ['carol', { dn: `uid=carol,ou=people,${BASE}` }],
    ['svc-platform', { dn: `uid=svc-platform,ou=services,${BASE}` }],
  ]);
  operators: string[] | null = [`uid=alice,ou=people,${BASE}`];
  log: string[] = [];
  open = 0;

  client = (url: string): LdapClientLike => {
    const server = this.servers.get(url)!;
    let bound = false;
    return {
      bind: async (dn, password) => {
        this.log.push(`bind ${url}`);
        if (server.down) throw new Error(server.down);
        if (dn !== config.bindDn || password !== 'svc-platform-secret0') {
          throw Object.assign(new Error('Invalid Credentials Code: 0x31'), { code: 49 });
        }
        bound = true;
        this.open++;
      },
      search: async (base: string, opts: SearchOptions) => {
        if (!bound) throw new Error('not bound');
        if (server.dropAfterBind) throw new Error('Connection closed');
        const f = opts.filter as EqualityFilter;
        expect(f).toBeInstanceOf(EqualityFilter);
        this.log.push(`search ${base} ${opts.scope} (${f.attribute}=${String(f.value)})`);
        if (base === BASE) {
          expect(opts.scope).toBe('sub');
          expect(f.attribute).toBe('uid');
          const e = this.people.get(String(f.value));
          return { searchEntries: e ? [e] : [] };
        }
        if (base === config.operatorsDn) {
          expect(opts.scope).toBe('base');
          expect(f.attribute).toBe('member');
          if (this.operators === null) throw Object.assign(new Error('No Such Object Code: 0x20'), { code: 32 });
          return { searchEntries: this.operators.includes(String(f.value)) ? [{ dn: config.operatorsDn, cn: 'operators' }] : [] };
        }
        throw new Error(`unexpected base ${base}`);
      },
      unbind: async () => {
        if (bound) this.open--;
        bound = false;
      },
    };
  };
}

const flush = () => new Promise((r) => setImmediate(r));

describe('creditservice directory (LDAP)', () => {
  it('reads account, quota and operator status of a uid', async () => {
    const ldap = new FakeLdap();
    const dir = new LdapDirectory(config, ldap.client);
    expect(await dir.lookup('alice')).toEqual({
      uid: 'alice',
      dn: `uid=alice,ou=people,${BASE}`,
      account: 'acct-alice',
      quota: 100,
      operator: true,
    });
    expect(ldap.log).toEqual([
      'bind ldap://10.100.0.11:389',
      `search ${BASE} sub (uid=alice)`,
      `search cn=operators,ou=groups,${BASE} base (member=uid=alice,ou=people,${BASE})`,
    ]);
    await flush();
    expect(ldap.open).toBe(0);
  });

  it('attribute names in any case; single values or lists', async () => {
    const dir = new LdapDirectory(config, new FakeLdap().client);
    expect(await dir.lookup('bob')).toMatchObject({ account: 'acct-bob', quota: 50, operator: false });
  });

  it('an entry without the attributes: account and quota null', async () => {
    const dir = new LdapDirectory(config, new FakeLdap().client);
    expect(await dir.lookup('svc-platform')).toEqual({
      uid: 'svc-platform',
      dn: `uid=svc-platform,ou=services,${BASE}`,
      account: null,
      quota: null,
      operator: false,
    });
  });

  it('no entry: null', async () => {
    const dir = new LdapDirectory(config, new FakeLdap().client);
    expect(await dir.lookup('mallory')).toBeNull();
  });

  it('reads again on every lookup (a changed quota shows at once)', async () => {
    const ldap = new FakeLdap();
    const dir = new LdapDirectory(config, ldap.client);
    expect((await dir.lookup('alice'))?.quota).toBe(100);
    ldap.people.get('alice')!.ultracloudQuota = ['7'];
    expect((await dir.lookup('alice'))?.quota).toBe(7);
  });

  it('no operators group: nobody is an operator', async () => {
    const ldap = new FakeLdap();
    ldap.operators = null;
    expect((await new LdapDirectory(config, ldap.client).lookup('alice'))?.operator).toBe(false);
  });

  it('tries the URLs in order until one binds, then starts with that one', async () => {
    const ldap = new FakeLdap();
    ldap.servers.get(URLS[0]!)!.down = 'connect ECONNREFUSED 10.100.0.11:389';
    const dir = new LdapDirectory(config, ldap.client);
    await dir.check();
    expect(ldap.log).toEqual(['bind ldap://10.100.0.11:389', 'bind ldap://10.100.0.12:389']);
    ldap.log = [];
    await dir.lookup('alice');
    expect(ldap.log[0]).toBe('bind ldap://10.100.0.12:389');
    // node02 fails too: node03, then back to node01 when it returns
    ldap.servers.get(URLS[1]!)!.down = 'connect ETIMEDOUT';
    ldap.log = [];
    await dir.check();
    expect(ldap.log).toEqual(['bind ldap://10.100.0.12:389', 'bind ldap://10.100.0.11:389', 'bind ldap://10.100.0.13:389']);
  });

  it('no server binds: UnavailableError with each reason', async () => {
    const ldap = new FakeLdap();
    for (const s of ldap.servers.values()) s.down = 'connect ECONNREFUSED';
    const e = await rejection(new LdapDirectory(config, ldap.client).lookup('alice'));
    expect(e).toBeInstanceOf(UnavailableError);
    expect((e as UnavailableError).reason).toBe(
      'ldap://10.100.0.11:389: connect ECONNREFUSED; ldap://10.100.0.12:389: connect ECONNREFUSED; ldap://10.100.0.13:389: connect ECONNREFUSED',
    );
  });

  it('a wrong service password is reported per server', async () => {
    const ldap = new FakeLdap();
    const dir = new LdapDirectory({ ...config, bindPassword: 'wrong' }, ldap.client);
    const e = await rejection(dir.check());
    expect((e as UnavailableError).reason).toMatch(/^ldap:\/\/10\.100\.0\.11:389: Invalid Credentials/);
  });

  it('a server that drops the connection after the bind: retried once, on the next server', async () => {
    const ldap = new FakeLdap();
    ldap.servers.get(URLS[0]!)!.dropAfterBind = true;
    const dir = new LdapDirectory(config, ldap.client);
    expect((await dir.lookup('alice'))?.account).toBe('acct-alice');
    expect(ldap.log.filter((l) => l.startsWith('bind'))).toEqual(['bind ldap://10.100.0.11:389', 'bind ldap://10.100.0.12:389']);
    // every server drops: 503 after the one retry
    for (const s of ldap.servers.values()) s.dropAfterBind = true;
    const e = await rejection(dir.lookup('alice'));
    expect(e).toBeInstanceOf(UnavailableError);
    expect((e as UnavailableError).reason).toBe('Connection closed');
    await flush();
    expect(ldap.open).toBe(0);
  });

  it('values and quotas', () => {
    expect(firstValue({ dn: 'x', a: ['1', '2'] }, 'A')).toBe('1');
    expect(firstValue({ dn: 'x', a: Buffer.from('z') }, 'a')).toBe('z');
    expect(firstValue({ dn: 'x', a: [] }, 'a')).toBeNull();
    expect(firstValue({ dn: 'x' }, 'dn')).toBeNull();
    expect(parseQuota('100')).toBe(100);
    expect(parseQuota(' 0 ')).toBe(0);
    expect(parseQuota('-5')).toBe(-5);
    expect(parseQuota('1.5')).toBeNull();
    expect(parseQuota('lots')).toBeNull();
    expect(parseQuota(null)).toBeNull();
  });
});
