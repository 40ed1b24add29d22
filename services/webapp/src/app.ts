/**
 * The API as a function from (method, url) to (status, headers, JSON body),
 * over three small interfaces: the counter store (FlareDB), the object
 * store (LightningStor) and the node lookup (metadata URL). No sockets
 * here: server.ts adapts it to node:http, flaredb.ts, objects.ts and
 * metadata.ts implement the interfaces, and the unit tests drive it with
 * in-memory ones.
 *
 * A visit, in this order (see README.md, "Consistency"):
 *   1. read {counter, lastSnapshot} from FlareDB;
 *   2. PUT the snapshot of counter+1 under a key unique to this attempt;
 *   3. compare-and-set the hash to {counter+1, that key} in one Lua script
 *      (only if the counter is still what step 1 read), then WAIT for one
 *      replica on the same connection;
 *   4. 200 only when the CAS applied and a replica acknowledged it.
 * An S3 failure stops before the counter moves; a lost race deletes its
 * own object and starts over (a few times); a CAS whose outcome is unknown
 * keeps its object (the counter may name it).
 */
import { randomBytes } from 'node:crypto';
import { BackendError, CommitError, HttpError, reasonOf } from './errors.js';
import { snapshotBody, snapshotKey } from './snapshot.js';
import { stateDocument, type CounterState, type NodeLookup, type ProcessInfo, type StateDocument } from './state.js';

export type CommitResult =
  /** Applied; `replicas` acknowledged it within the WAIT timeout. */
  | { kind: 'committed'; replicas: number }
  /** Not applied: the counter was no longer `expected`. */
  | { kind: 'lost'; current: number };

/** The counter in FlareDB. Failures throw BackendError('flaredb', ...); commit throws CommitError. */
export interface CounterStore {
  read(): Promise<CounterState>;
  /** Atomically: if counter == expected, set counter = next and lastSnapshot = key; then wait for a replica. */
  commit(expected: number, next: number, key: string, at: string): Promise<CommitResult>;
}

/** The snapshot bucket. Failures throw BackendError('lightningstor', ...). */
export interface ObjectStore {
  /** Resolves once the bucket exists (creates it if missing). */
  ready(): Promise<void>;
  put(key: string, body: string): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface AppDeps {
  info: ProcessInfo;
  store: CounterStore;
  objects: ObjectStore;
  node: () => Promise<NodeLookup>;
  /** ISO time now. */
  now?: () => string;
  /** 8 random lowercase hex digits (or more). */
  random?: () => string;
  log?: (line: string) => void;
  /** Attempts per visit when the CAS loses a race (another writer moved the counter). */
  maxAttempts?: number;
}

export interface AppResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** For the log line: why a request failed. */
  error?: string;
  /** For the log line: where a visit's time went ("read 12ms put 310ms cas+wait 25ms"). */
  timing?: string;
}

export interface App {
  handle(method: string, url: string): Promise<AppResponse>;
  /** Visits answered 200 by this process. */
  readonly visitsServed: number;
}

export const MIN_REPLICAS = 1;
export const DEFAULT_MAX_ATTEMPTS = 5;

const ROUTES: Record<string, string> = { '/state': 'GET', '/visit': 'POST' };

function json(status: number, body: unknown, headers: Record<string, string> = {}): AppResponse {
  return { status, headers, body };
}

/** Any failure as a JSON error response; 500 for what is not an HttpError. */
export function errorResponse(err: unknown): AppResponse {
  if (err instanceof HttpError) return { status: err.status, headers: err.headers, body: { error: err.message }, error: err.message };
  const message = `internal error: ${reasonOf(err)}`;
  return { status: 500, headers: {}, body: { error: message }, error: message };
}

/** Route of a request: the handler's name, or the 404/405 response. */
export function route(method: string, url: string): 'state' | 'visit' | AppResponse {
  const path = url.split('?')[0]!;
  const allowed = ROUTES[path];
  if (allowed === undefined) return json(404, { error: `no such resource ${path} (GET /state, POST /visit)` });
  if (method !== allowed) return json(405, { error: `${method} is not allowed on ${path} (use ${allowed})` }, { allow: allowed });
  return path === '/state' ? 'state' : 'visit';
}

function randomHex(): string {
  return randomBytes(4).toString('hex');
}

export function createApp(deps: AppDeps): App {
  const now = deps.now ?? (() => new Date().toISOString());
  const random = deps.random ?? randomHex;
  const log = deps.log ?? (() => {});
  const maxAttempts = deps.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  let visitsServed = 0;
  // Visits of this process run one at a time: they would only race each other.
  let queue: Promise<unknown> = Promise.resolve();

  async function state(): Promise<StateDocument> {
    const [s, where] = await Promise.all([deps.store.read(), deps.node()]);
    return stateDocument(deps.info, s, where, visitsServed);
  }

  async function removeOrphan(key: string, why: string): Promise<void> {
    try {
      await deps.objects.delete(key);
      log(`visit: deleted orphan snapshot ${key} (${why})`);
    } catch (err) {
      log(`visit: could not delete orphan snapshot ${key} (${why}): ${reasonOf(err)}`);
    }
  }

  async function visit(phases: string[]): Promise<StateDocument> {
    let t = Date.now();
    const lap = (name: string) => {
      const now = Date.now();
      phases.push(`${name} ${now - t}ms`);
      t = now;
    };
    await deps.objects.ready();
    const where = await deps.node();
    lap('node');
    for (let attempt = 1; attempt <= maxAttempts; attempt++) {
      const current = await deps.store.read();
      lap('read');
      const next = current.counter + 1;
      const key = snapshotKey(next, random());
      const at = now();
      // 1. the snapshot first: an S3 failure ends the visit with the counter untouched
      await deps.objects.put(key, snapshotBody({ counter: next, at, node: where.node, bootId: deps.info.bootId, name: deps.info.name }));
      lap('put');
      // 2. then the counter, only if nobody moved it since the read
      let result: CommitResult;
      try {
        result = await deps.store.commit(current.counter, next, key, at);
        lap('cas+wait');
      } catch (err) {
        if (err instanceof CommitError && err.applied === 'no') await removeOrphan(key, 'the compare-and-set failed');
        else log(`visit: kept snapshot ${key}: the compare-and-set may have applied (${reasonOf(err)})`);
        throw err;
      }
      if (result.kind === 'lost') {
        await removeOrphan(key, `lost the race: counter moved from ${current.counter} to ${result.current}`);
        continue;
      }
      if (result.replicas < MIN_REPLICAS) {
        throw new BackendError(
          'flaredb',
          `counter ${next} is written on the primary but no replica acknowledged it in time: the write is not yet replicated (this visit may or may not count)`,
        );
      }
      visitsServed++;
      return stateDocument(deps.info, { counter: next, lastSnapshot: key }, where, visitsServed);
    }
    throw new BackendError('flaredb', `the counter moved under ${maxAttempts} attempts in a row (other writers); try again`);
  }

  return {
    get visitsServed() {
      return visitsServed;
    },
    async handle(method, url) {
      const r = route(method, url);
      if (typeof r !== 'string') return r;
      const phases: string[] = [];
      try {
        if (r === 'state') return json(200, await state());
        const go = () => visit(phases);
        const run = queue.then(go, go);
        queue = run.catch(() => {});
        return { ...json(200, await run), timing: phases.join(' ') };
      } catch (err) {
        return phases.length ? { ...errorResponse(err), timing: phases.join(' ') } : errorResponse(err);
      }
    },
  };
}
