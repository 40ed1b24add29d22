/**
 * The IAM directory (OpenLDAP, three providers): a caller's account, quota
 * and operator status, read on every request (no cache), so a changed quota
 * applies to the next request. Each lookup opens a connection, binds as the
 * service account, runs two searches and unbinds; the URLs are tried in
 * order until one binds, starting with the one that worked last.
 */
import { Client, EqualityFilter, type Entry, type SearchOptions } from 'ldapts';
import { UnavailableError, reasonOf } from './errors.js';

export interface Identity {
  /** The uid (= the token's preferred_username). */
  uid: string;
  dn: string;
  /** ultracloudAccount, or null when the entry has none. */
  account: string | null;
  /** ultracloudQuota, or null when the entry has none (or not an integer). */
  quota: number | null;
  /** Member of cn=operators. */
  operator: boolean;
}

export interface Directory {
  /** null when no entry has this uid; throws UnavailableError when no server answers. */
  lookup(uid: string): Promise<Identity | null>;
  /** Resolves when some server accepts the service account's bind. */
  check(): Promise<void>;
}

/** The part of ldapts' Client used here (tests pass fakes). */
export interface LdapClientLike {
  bind(dn: string, password: string): Promise<void>;
  search(base: string, options: SearchOptions): Promise<{ searchEntries: Entry[] }>;
  unbind(): Promise<void>;
}

export type LdapClientFactory = (url: string) => LdapClientLike;

export interface DirectoryConfig {
  urls: string[];
  base: string;
  bindDn: string;
  bindPassword: string;
  operatorsDn: string;
}

export const ACCOUNT_ATTR = 'ultracloudAccount';
export const QUOTA_ATTR = 'ultracloudQuota';

/** LDAP result code noSuchObject (ldapts' error classes do not survive instanceof). */
const NO_SUCH_OBJECT = 32;

export const ldaptsClient: LdapClientFactory = (url) => new Client({ url, connectTimeout: 5000, timeout: 10_000 });

/** The first value of an attribute (names compared case-insensitively), as a string. */
export function firstValue(entry: Entry, attribute: string): string | null {
  const key = Object.keys(entry).find((k) => k !== 'dn' && k.toLowerCase() === attribute.toLowerCase());
  if (key === undefined) return null;
  const v = entry[key];
  const first = Array.isArray(v) ? v[0] : v;
  if (first === undefined) return null;
  return Buffer.isBuffer(first) ? first.toString('utf8') : first;
}

/** ultracloudQuota as a number; null unless it is an integer. */
export function parseQuota(value: string | null): number | null {
  if (value === null || !/^-?\d+$/.test(value.trim())) return null;
  const n = Number(value.trim());
  return Number.isFinite(n) ? n : null;
}

export class LdapDirectory implements Directory {
  private preferred = 0;

  constructor(
    private readonly config: DirectoryConfig,
    private readonly newClient: LdapClientFactory = ldaptsClient,
  ) {}

  /** A bound client; throws UnavailableError listing each URL's failure. */
  private async connect(): Promise<LdapClientLike> {
    const { urls, bindDn, bindPassword } = this.config;
    const order = [this.preferred, ...urls.keys()].filter((i, pos, all) => all.indexOf(i) === pos);
    const failures: string[] = [];
    for (const i of order) {
      const client = this.newClient(urls[i]!);
      try {
        await client.bind(bindDn, bindPassword);
        this.preferred = i;
        return client;
      } catch (err) {
        failures.push(`${urls[i]}: ${reasonOf(err)}`);
        client.unbind().catch(() => {});
      }
    }
    throw new UnavailableError('directory', failures.join('; '));
  }

  async check(): Promise<void> {
    const client = await this.connect();
    await client.unbind().catch(() => {});
  }

  async lookup(uid: string): Promise<Identity | null> {
    // One retry, starting with the next server: this one may have gone away
    // between the bind and the searches.
    try {
      return await this.lookupOnce(uid);
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      this.preferred = (this.preferred + 1) % this.config.urls.length;
      try {
        return await this.lookupOnce(uid);
      } catch (err2) {
        if (err2 instanceof UnavailableError) throw err2;
        throw new UnavailableError('directory', reasonOf(err2));
      }
    }
  }

  private async lookupOnce(uid: string): Promise<Identity | null> {
    const client = await this.connect();
    try {
      let entries: Entry[];
      try {
        ({ searchEntries: entries } = await client.search(this.config.base, {
          scope: 'sub',
          filter: new EqualityFilter({ attribute: 'uid', value: uid }),
          attributes: [ACCOUNT_ATTR, QUOTA_ATTR],
        }));
      } catch (err) {
        if ((err as { code?: unknown }).code === NO_SUCH_OBJECT) return null;
        throw err;
      }
      if (entries.length === 0) return null;
      // Should two entries share the uid, the one that holds an account wins.
      const entry = entries.find((e) => firstValue(e, ACCOUNT_ATTR) !== null) ?? entries[0]!;
      return {
        uid,
        dn: entry.dn,
        account: firstValue(entry, ACCOUNT_ATTR),
        quota: parseQuota(firstValue(entry, QUOTA_ATTR)),
        operator: await this.isOperator(client, entry.dn),
      };
    } finally {
      client.unbind().catch(() => {});
    }
  }

  private async isOperator(client: LdapClientLike, dn: string): Promise<boolean> {
    try {
      const { searchEntries } = await client.search(this.config.operatorsDn, {
        scope: 'base',
        filter: new EqualityFilter({ attribute: 'member', value: dn }),
        attributes: ['cn'],
      });
      return searchEntries.length > 0;
    } catch (err) {
      if ((err as { code?: unknown }).code === NO_SUCH_OBJECT) return false;
      throw err;
    }
  }
}
