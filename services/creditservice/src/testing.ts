/**
 * In-memory stand-ins for creditservice's backends, for the unit tests
 * (tests/unit/creditservice-*.test.ts): tokens are plain strings mapped to
 * users, the directory is a map, the ledger is MemoryLedger. Not imported by
 * main.ts, so not in the bundle.
 */
import type { Directory, Identity } from './directory.js';
import { AuthError, UnavailableError } from './errors.js';
import { createApp, type AppRequest, type AppResponse, type HealthReport } from './http.js';
import { MemoryLedger } from './memory-ledger.js';
import type { Nightlight, WriteAnswer } from './nightlight.js';
import type { Authenticator, Caller } from './token.js';

/** Token "tok-<user>" is <user>; "expired" and anything else are rejected. */
export class FakeAuth implements Authenticator {
  down: string | null = null;
  async verify(token: string): Promise<Caller> {
    if (this.down !== null) throw new UnavailableError('jwks', this.down);
    if (token === 'expired') throw new AuthError('token expired');
    const m = /^tok-(.+)$/.exec(token);
    if (!m) throw new AuthError('token signature verification failed');
    return { username: m[1]!, claims: { preferred_username: m[1]! } };
  }
}

export class FakeDirectory implements Directory {
  readonly entries = new Map<string, Identity>();
  down: string | null = null;
  lookups = 0;

  constructor() {
    this.set('alice', { account: 'acct-alice', quota: 100, operator: true });
    this.set('bob', { account: 'acct-bob', quota: 50, operator: false });
    this.set('svc-platform', { account: null, quota: null, operator: false }, 'ou=services');
  }

  set(uid: string, v: Omit<Identity, 'uid' | 'dn'>, ou = 'ou=people'): void {
    this.entries.set(uid, { uid, dn: `uid=${uid},${ou},dc=ultracloud,dc=test`, ...v });
  }

  async lookup(uid: string): Promise<Identity | null> {
    this.lookups++;
    if (this.down !== null) throw new UnavailableError('directory', this.down);
    const e = this.entries.get(uid);
    return e ? { ...e } : null;
  }

  async check(): Promise<void> {
    if (this.down !== null) throw new UnavailableError('directory', this.down);
  }
}

/** NightLight's receiver: records the bodies it took; `answer` or `down` change what it does. */
export class FakeNightlight implements Nightlight {
  readonly received: Buffer[] = [];
  answer: WriteAnswer = { status: 204, body: '' };
  down: string | null = null;
  async write(body: Buffer): Promise<WriteAnswer> {
    if (this.down !== null) throw new UnavailableError('nightlight', this.down);
    if (this.answer.status >= 200 && this.answer.status < 300) this.received.push(body);
    return { ...this.answer };
  }
}

export interface Harness {
  ledger: MemoryLedger;
  directory: FakeDirectory;
  auth: FakeAuth;
  nightlight: FakeNightlight;
  health: HealthReport;
  logs: string[];
  call(method: string, url: string, opts?: { token?: string | null; body?: unknown; raw?: string | Buffer; headers?: Record<string, string> }): Promise<AppResponse>;
}

export function harness(): Harness {
  const ledger = new MemoryLedger();
  const directory = new FakeDirectory();
  const auth = new FakeAuth();
  const nightlight = new FakeNightlight();
  const health: HealthReport = { redis: 'ok', iam: 'ok' };
  const logs: string[] = [];
  let n = 0;
  const app = createApp({
    ledger,
    auth,
    directory,
    nightlight,
    health: async () => ({ ...health }),
    now: () => 1_700_000_000_000,
    newId: () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`,
    log: (line) => logs.push(line),
  });
  return {
    ledger,
    directory,
    auth,
    nightlight,
    health,
    logs,
    call(method, url, opts = {}) {
      const token = opts.token === undefined ? 'tok-alice' : opts.token;
      const headers: AppRequest['headers'] = { ...opts.headers };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      const body =
        opts.raw !== undefined ? Buffer.from(opts.raw) : opts.body === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(opts.body));
      return app({ method, url, headers, body });
    },
  };
}

/** The error a promise rejects with; fails if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('did not reject');
}
