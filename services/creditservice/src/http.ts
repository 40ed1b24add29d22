/**
 * The API as a function from a request (method, URL, headers, body) to a
 * response (status, headers, JSON body): routes, input validation, token
 * and directory checks, and the mapping of every failure to a status code.
 * No sockets here (server.ts adapts it to node:http), so the unit tests
 * call it directly with fake ledgers and identities.
 */
import { randomUUID } from 'node:crypto';
import type { Directory, Identity } from './directory.js';
import { AuthError, HttpError, UnavailableError, reasonOf } from './errors.js';
import { ACCOUNT_RE, MAX_AMOUNT, RESERVATION_ID_RE, type AccountState, type Ledger, type Reservation, type SettleAction } from './ledger.js';
import type { Nightlight } from './nightlight.js';
import { RemoteWriteError, summarizeRemoteWrite } from './remote-write.js';
import { bearerToken, type Authenticator, type Caller } from './token.js';

/** The header naming the reservation a metered write draws on. */
export const RESERVATION_HEADER = 'x-ultracloud-reservation';
/** Path of the metered remote write (the gateway maps /nightlight/api/v1/write here). */
export const METERED_WRITE_PATH = '/v1/metered/nightlight/write';
/** Credits one remote-written sample costs. */
export const CREDITS_PER_SAMPLE = 1;

export interface AppRequest {
  method: string;
  /** Path and query, as node:http gives it. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface AppResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** For the log line: the caller's preferred_username, when known. */
  caller?: string;
  /** For the log line: why a request failed with 5xx. */
  error?: string;
}

/** 'ok' or the reason that part is not reachable. */
export interface HealthReport {
  redis: string;
  iam: string;
}

export interface AppDeps {
  ledger: Ledger;
  auth: Authenticator;
  directory: Directory;
  health: () => Promise<HealthReport>;
  /** Where metered remote writes go once paid for. */
  nightlight: Nightlight;
  now?: () => number;
  newId?: () => string;
  log?: (line: string) => void;
}

export type App = (req: AppRequest) => Promise<AppResponse>;

// ---- input validation (pure) ----

/** The body as a JSON object; 400 otherwise. */
export function parseJsonBody(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, `malformed JSON: ${reasonOf(err)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, `body must be a JSON object, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Record<string, unknown>;
}

/** body[field] as an integer in min..MAX_AMOUNT; 400 naming the field otherwise. */
export function requireInteger(body: Record<string, unknown>, field: string, min: 0 | 1): number {
  const kind = min === 1 ? 'a positive integer' : 'a non-negative integer';
  if (!Object.prototype.hasOwnProperty.call(body, field) || body[field] === undefined) throw new HttpError(400, `${field}: required (${kind})`);
  const v = body[field];
  if (typeof v !== 'number') throw new HttpError(400, `${field}: must be ${kind}, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  if (!Number.isInteger(v)) throw new HttpError(400, `${field}: must be ${kind}, got ${v}`);
  if (v < min) throw new HttpError(400, `${field}: must be ${kind}, got ${v}`);
  if (v > MAX_AMOUNT) throw new HttpError(400, `${field}: must be at most ${MAX_AMOUNT}, got ${v}`);
  return v;
}

/**
 * body.id, the client's own reservation id (an idempotency key), if sent;
 * 400 naming the field when it is not one.
 */
export function optionalReservationId(body: Record<string, unknown>): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(body, 'id') || body.id === undefined) return undefined;
  const v = body.id;
  if (typeof v !== 'string' || !RESERVATION_ID_RE.test(v)) {
    const got = typeof v === 'string' ? JSON.stringify(v) : v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v;
    throw new HttpError(400, `id: must be 1-64 letters, digits or '-', got ${got}`);
  }
  return v;
}

export function parseAccountParam(raw: string): string {
  if (!ACCOUNT_RE.test(raw)) {
    throw new HttpError(400, `account: must be 1-128 characters of letters, digits, '.', '_', '@', '-', got ${JSON.stringify(raw)}`);
  }
  return raw;
}

// ---- views ----

export function accountView(s: AccountState): { account: string; balance: number; reserved: number; available: number } {
  return { account: s.account, balance: s.balance, reserved: s.reserved, available: s.balance - s.reserved };
}

export function reservationView(r: Reservation): { id: string; account: string; amount: number; state: string; used: number } {
  return { id: r.id, account: r.account, amount: r.amount, state: r.state, used: r.used ?? 0 };
}

/** The reservation id of a metered write's header; 402 when there is none (a write must be paid for). */
export function reservationHeader(headers: AppRequest['headers']): string {
  const raw = headers[RESERVATION_HEADER];
  const value = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!value) {
    throw new HttpError(402, `a metered write needs a reservation: send its id in X-Ultracloud-Reservation (POST /v1/reservations makes one)`);
  }
  return value;
}

const STATE_WORDS: Record<string, string> = { committed: 'committed', rolled_back: 'rolled back', reserved: 'reserved' };

// ---- routes ----

interface Ctx {
  req: AppRequest;
  params: string[];
  /** Set once the token is checked, for the log line. */
  caller?: string;
}

type Handler = (ctx: Ctx) => Promise<AppResponse>;

interface Route {
  pattern: RegExp;
  methods: Partial<Record<string, Handler>>;
}

function json(status: number, body: unknown): AppResponse {
  return { status, headers: {}, body };
}

export function createApp(deps: AppDeps): App {
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomUUID;
  const log = deps.log ?? (() => {});

  async function authenticate(ctx: Ctx): Promise<Caller> {
    const caller = await deps.auth.verify(bearerToken(ctx.req.headers.authorization));
    ctx.caller = caller.username;
    return caller;
  }

  async function identify(caller: Caller): Promise<Identity> {
    const identity = await deps.directory.lookup(caller.username);
    if (!identity) throw new HttpError(403, `no directory entry with uid ${JSON.stringify(caller.username)}`);
    return identity;
  }

  function accountOf(identity: Identity): string {
    if (!identity.account) throw new HttpError(403, `${identity.uid} has no ultracloudAccount in the directory`);
    return identity.account;
  }

  function reservationIdParam(raw: string): string {
    if (!RESERVATION_ID_RE.test(raw)) throw new HttpError(404, `no reservation ${JSON.stringify(raw)}`);
    return raw;
  }

  /** The reservation if the caller may see or settle it: its account's holder, or an operator. */
  async function ownReservation(identity: Identity, id: string): Promise<Reservation> {
    if (!identity.operator) accountOf(identity);
    const r = await deps.ledger.getReservation(id);
    if (!r) throw new HttpError(404, `no reservation ${id}`);
    if (!identity.operator && r.account !== identity.account) {
      throw new HttpError(403, `reservation ${id} belongs to another account`);
    }
    return r;
  }

  const healthz: Handler = async () => {
    const h = await deps.health();
    const ok = h.redis === 'ok' && h.iam === 'ok';
    return json(ok ? 200 : 503, { status: ok ? 'ok' : 'unavailable', redis: h.redis, iam: h.iam });
  };

  const getBalance: Handler = async (ctx) => {
    const identity = await identify(await authenticate(ctx));
    const account = accountOf(identity);
    const state = await deps.ledger.getAccount(account);
    return json(200, { ...accountView(state), quota: identity.quota });
  };

  const getAccount: Handler = async (ctx) => {
    const caller = await authenticate(ctx);
    const account = parseAccountParam(ctx.params[0]!);
    const identity = await identify(caller);
    if (!identity.operator && identity.account !== account) {
      throw new HttpError(403, `only operators may read another account`);
    }
    return json(200, accountView(await deps.ledger.getAccount(account)));
  };

  const putAccountBalance: Handler = async (ctx) => {
    const caller = await authenticate(ctx);
    const account = parseAccountParam(ctx.params[0]!);
    const balance = requireInteger(parseJsonBody(ctx.req.body), 'balance', 0);
    const identity = await identify(caller);
    if (!identity.operator) throw new HttpError(403, `only operators may set a balance (${identity.uid} is not in cn=operators)`);
    const state = await deps.ledger.setBalance(account, balance);
    log(`balance of ${account} set to ${balance} by ${identity.uid}`);
    return json(200, accountView(state));
  };

  const postReservation: Handler = async (ctx) => {
    const caller = await authenticate(ctx);
    const body = parseJsonBody(ctx.req.body);
    const amount = requireInteger(body, 'amount', 1);
    // A client's own id lets it find out, after a 503, whether the reservation was made.
    const id = optionalReservationId(body) ?? newId();
    const identity = await identify(caller);
    const account = accountOf(identity);
    if (identity.quota === null) throw new HttpError(403, `${identity.uid} has no ultracloudQuota in the directory`);
    const quota = identity.quota;
    const out = await deps.ledger.reserve({ id, account, amount, quota, user: identity.uid, now: now() });
    if (out.kind === 'exists') throw new HttpError(409, `reservation ${id} already exists`);
    const { balance, reserved } = out.state;
    switch (out.kind) {
      case 'overdraw':
        throw new HttpError(
          409,
          `insufficient credit: amount ${amount} > available ${balance - reserved} (balance ${balance}, reserved ${reserved})`,
        );
      case 'quota':
        throw new HttpError(403, `quota exceeded: reserved ${reserved} + amount ${amount} > quota ${quota}`);
      case 'ok':
        return json(201, reservationView(out.reservation));
    }
  };

  const getReservation: Handler = async (ctx) => {
    const caller = await authenticate(ctx);
    const id = reservationIdParam(ctx.params[0]!);
    const identity = await identify(caller);
    return json(200, reservationView(await ownReservation(identity, id)));
  };

  const settle =
    (action: SettleAction): Handler =>
    async (ctx) => {
      const caller = await authenticate(ctx);
      const id = reservationIdParam(ctx.params[0]!);
      const identity = await identify(caller);
      await ownReservation(identity, id);
      const out = await deps.ledger.settle(id, action, now());
      switch (out.kind) {
        case 'not_found':
          throw new HttpError(404, `no reservation ${id}`);
        case 'settled':
          throw new HttpError(409, `reservation ${id} is already ${STATE_WORDS[out.reservationState] ?? out.reservationState}`);
        case 'ok':
          return json(200, accountView(out.state));
      }
    };

  /**
   * A remote write metered against a reservation: one credit per sample is
   * drawn on the caller's reservation (atomically, only while it is
   * reserved and has enough left), then the body goes to NightLight. A
   * refused write never reaches NightLight; a write NightLight did not
   * take gives its credits back.
   */
  const meteredWrite: Handler = async (ctx) => {
    const caller = await authenticate(ctx);
    const rawId = reservationHeader(ctx.req.headers);
    let cost: number;
    let series: number;
    try {
      const summary = summarizeRemoteWrite(ctx.req.body);
      cost = summary.samples * CREDITS_PER_SAMPLE;
      series = summary.series;
    } catch (err) {
      if (err instanceof RemoteWriteError) throw new HttpError(400, `not a remote-write request: ${err.message}`);
      throw err;
    }
    if (cost === 0) throw new HttpError(400, 'the remote-write request carries no samples');
    const identity = await identify(caller);
    const id = reservationIdParam(rawId);
    const r = await ownReservation(identity, id);
    // A draw no replica has yet throws (503): its outcome is unknown, so NightLight never sees the write.
    const out = await deps.ledger.meter(id, r.account, cost);
    switch (out.kind) {
      case 'not_found':
        throw new HttpError(404, `no reservation ${id}`);
      case 'settled':
        throw new HttpError(409, `reservation ${id} is already ${STATE_WORDS[out.reservationState] ?? out.reservationState}: reserve credits again`);
      case 'exhausted':
        throw new HttpError(
          402,
          `reservation ${id} is exhausted: the write costs ${cost} (${CREDITS_PER_SAMPLE} per sample), ${out.amount - out.used} of ${out.amount} left`,
        );
      case 'ok':
        break;
    }
    const refund = async (why: string) => {
      try {
        await deps.ledger.unmeter(id, cost);
      } catch (err) {
        log(`metered write on ${id}: could not give back ${cost} credits after ${why}: ${reasonOf(err)}`);
      }
    };
    let answer;
    try {
      answer = await deps.nightlight.write(ctx.req.body);
    } catch (err) {
      await refund('no answer from nightlight');
      if (err instanceof UnavailableError) throw new HttpError(502, err.message);
      throw err;
    }
    if (answer.status < 200 || answer.status > 299) {
      await refund(`nightlight answered ${answer.status}`);
      const status = answer.status >= 400 && answer.status < 500 ? answer.status : 502;
      throw new HttpError(status, `nightlight refused the write: ${answer.status} ${answer.body}`.trim());
    }
    return {
      status: 204,
      headers: {
        'x-ultracloud-samples': String(cost / CREDITS_PER_SAMPLE),
        'x-ultracloud-series': String(series),
        'x-ultracloud-reservation-used': String(out.used),
        'x-ultracloud-reservation-left': String(out.amount - out.used),
      },
      body: undefined,
    };
  };

  const routes: Route[] = [
    { pattern: /^\/healthz$/, methods: { GET: healthz } },
    { pattern: /^\/v1\/balance$/, methods: { GET: getBalance } },
    { pattern: /^\/v1\/accounts\/([^/]+)\/balance$/, methods: { GET: getAccount, PUT: putAccountBalance } },
    { pattern: /^\/v1\/reservations$/, methods: { POST: postReservation } },
    { pattern: /^\/v1\/reservations\/([^/]+)$/, methods: { GET: getReservation } },
    { pattern: /^\/v1\/reservations\/([^/]+)\/commit$/, methods: { POST: settle('commit') } },
    { pattern: /^\/v1\/reservations\/([^/]+)\/rollback$/, methods: { POST: settle('rollback') } },
    { pattern: /^\/v1\/metered\/nightlight\/write$/, methods: { POST: meteredWrite } },
  ];

  return async (req) => {
    const ctx: Ctx = { req, params: [] };
    let res: AppResponse;
    try {
      res = await dispatch(ctx);
    } catch (err) {
      res = errorResponse(err);
      if (res.status === 500) log(`internal error on ${req.method} ${req.url}: ${err instanceof Error ? err.stack : String(err)}`);
    }
    res.headers['cache-control'] = 'no-store';
    if (ctx.caller !== undefined) res.caller = ctx.caller;
    return res;
  };

  async function dispatch(ctx: Ctx): Promise<AppResponse> {
    const path = ctx.req.url.split('?')[0]!;
    for (const route of routes) {
      const m = route.pattern.exec(path);
      if (!m) continue;
      const handler = route.methods[ctx.req.method];
      if (!handler) {
        const allow = Object.keys(route.methods).join(', ');
        throw new HttpError(405, `method ${ctx.req.method} not allowed on ${path} (allowed: ${allow})`, { allow });
      }
      try {
        ctx.params = m.slice(1).map((p) => decodeURIComponent(p));
      } catch {
        throw new HttpError(400, `bad percent-encoding in path ${path}`);
      }
      return handler(ctx);
    }
    throw new HttpError(404, `no route ${path}`);
  }
}

/** Any failure as a response: HttpError as is, 401 for tokens, 503 for backends, 500 for bugs. */
export function errorResponse(err: unknown): AppResponse {
  if (err instanceof HttpError) {
    const res: AppResponse = { status: err.status, headers: { ...err.headers }, body: { error: err.message } };
    if (err.status >= 500) res.error = err.message;
    return res;
  }
  if (err instanceof AuthError) {
    return {
      status: 401,
      headers: { 'www-authenticate': err.tokenPresent ? 'Bearer error="invalid_token"' : 'Bearer' },
      body: { error: err.message },
    };
  }
  if (err instanceof UnavailableError) {
    return { status: 503, headers: {}, body: { error: err.message }, error: err.message };
  }
  return { status: 500, headers: {}, body: { error: 'internal error' }, error: reasonOf(err) };
}
