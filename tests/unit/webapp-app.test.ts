/**
 * The web app's routes and its visit rule, on in-memory stand-ins for
 * FlareDB (a hash with compare-and-set and a replica count) and the bucket:
 * the snapshot first, the counter only after it, never without it, 200
 * only once a replica has the write.
 */
import { describe, expect, it } from 'vitest';
import { createApp, route, type CommitResult, type CounterStore, type ObjectStore } from '../../services/webapp/src/app.js';
import { BackendError, CommitError } from '../../services/webapp/src/errors.js';
import type { CounterState, NodeLookup } from '../../services/webapp/src/state.js';

const INFO = { name: 'webapp-demo', bootId: 'b00t', hostname: 'webapp-demo', startedAt: '2026-11-30T10:00:00.000Z' };

class MemStore implements CounterStore {
  state: CounterState = { counter: 0, lastSnapshot: null };
  replicas = 1;
  readFails: string | null = null;
  commitFails: CommitError | null = null;
  /** Moves the counter (another writer) right before the next `n` commits. */
  racesLeft = 0;
  commits = 0;
  async read(): Promise<CounterState> {
    if (this.readFails) throw new BackendError('flaredb', this.readFails);
    return { ...this.state };
  }
  async commit(expected: number, next: number, key: string): Promise<CommitResult> {
    this.commits++;
    if (this.racesLeft > 0) {
      this.racesLeft--;
      this.state = { counter: this.state.counter + 1, lastSnapshot: `snapshots/other-${this.state.counter + 1}` };
    }
    if (this.commitFails) {
      if (this.commitFails.applied === 'unknown') this.state = { counter: next, lastSnapshot: key };
      throw this.commitFails;
    }
    if (this.state.counter !== expected) return { kind: 'lost', current: this.state.counter };
    this.state = { counter: next, lastSnapshot: key };
    return { kind: 'committed', replicas: this.replicas };
  }
}

class MemBucket implements ObjectStore {
  objects = new Map<string, string>();
  putFails: string | null = null;
  readyFails: string | null = null;
  deleted: string[] = [];
  async ready(): Promise<void> {
    if (this.readyFails) throw new BackendError('lightningstor', this.readyFails);
  }
  async put(key: string, body: string): Promise<void> {
    if (this.putFails) throw new BackendError('lightningstor', this.putFails);
    this.objects.set(key, body);
  }
  async delete(key: string): Promise<void> {
    this.deleted.push(key);
    this.objects.delete(key);
  }
}

function setup(node: NodeLookup = { node: 'node04' }) {
  const store = new MemStore();
  const bucket = new MemBucket();
  const logs: string[] = [];
  let n = 0;
  const app = createApp({
    info: INFO,
    store,
    objects: bucket,
    node: async () => node,
    now: () => '2026-11-30T10:30:00.000Z',
    random: () => (++n).toString(16).padStart(8, '0'),
    log: (l) => logs.push(l),
  });
  return { app, store, bucket, logs };
}

describe('routes', () => {
  it('GET /state, POST /visit; 404 and 405 (with Allow) as JSON for the rest', () => {
    expect(route('GET', '/state')).toBe('state');
    expect(route('GET', '/state?pretty=1')).toBe('state');
    expect(route('POST', '/visit')).toBe('visit');
    expect(route('GET', '/')).toEqual({ status: 404, headers: {}, body: { error: 'no such resource / (GET /state, POST /visit)' } });
    expect(route('GET', '/visit')).toEqual({ status: 405, headers: { allow: 'POST' }, body: { error: 'GET is not allowed on /visit (use POST)' } });
    expect(route('DELETE', '/state')).toEqual({ status: 405, headers: { allow: 'GET' }, body: { error: 'DELETE is not allowed on /state (use GET)' } });
  });
});

describe('GET /state', () => {
  it('the stored counter, the newest snapshot, the node and this process', async () => {
    const { app, store } = setup();
    store.state = { counter: 4, lastSnapshot: 'snapshots/0000000004-f12ce3fa.json' };
    const r = await app.handle('GET', '/state');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ ...INFO, counter: 4, lastSnapshot: 'snapshots/0000000004-f12ce3fa.json', node: 'node04', visitsServed: 0 });
  });

  it('FlareDB unreachable: 503 naming it, never a counter of 0', async () => {
    const { app, store } = setup();
    store.readFails = 'reading webapp:demo: no connection to the primary of "flaredb" within 5 s';
    const r = await app.handle('GET', '/state');
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('2');
    expect(r.body).toEqual({ error: 'flaredb: reading webapp:demo: no connection to the primary of "flaredb" within 5 s' });
  });

  it('no node from the metadata URL: node null and why', async () => {
    const { app } = setup({ node: null, nodeError: 'metadata http://10.252.0.2/node: no answer within 2 s' });
    const r = await app.handle('GET', '/state');
    expect(r.body).toMatchObject({ node: null, nodeError: 'metadata http://10.252.0.2/node: no answer within 2 s' });
  });
});

describe('POST /visit', () => {
  it('writes the snapshot, then moves the counter to it, and answers the new state', async () => {
    const { app, store, bucket } = setup();
    const r1 = await app.handle('POST', '/visit');
    const r2 = await app.handle('POST', '/visit');
    expect(r1.status).toBe(200);
    expect(r2.body).toEqual({ ...INFO, counter: 2, lastSnapshot: 'snapshots/0000000002-00000002.json', node: 'node04', visitsServed: 2 });
    expect(store.state).toEqual({ counter: 2, lastSnapshot: 'snapshots/0000000002-00000002.json' });
    expect([...bucket.objects.keys()]).toEqual(['snapshots/0000000001-00000001.json', 'snapshots/0000000002-00000002.json']);
    expect(JSON.parse(bucket.objects.get('snapshots/0000000002-00000002.json')!)).toEqual({
      counter: 2,
      at: '2026-11-30T10:30:00.000Z',
      node: 'node04',
      bootId: 'b00t',
      name: 'webapp-demo',
    });
    expect(app.visitsServed).toBe(2);
    expect(r2.timing).toMatch(/^node \d+ms read \d+ms put \d+ms cas\+wait \d+ms$/);
  });

  it('S3 fails: 503 naming lightningstor, the counter untouched', async () => {
    const { app, store, bucket } = setup();
    await app.handle('POST', '/visit');
    bucket.putFails = 'PutObject webapp-demo/snapshots/0000000002-00000002.json at http://10.100.0.12:8080: ECONNREFUSED 10.100.0.12:8080';
    const r = await app.handle('POST', '/visit');
    expect(r.status).toBe(503);
    expect((r.body as { error: string }).error).toMatch(/^lightningstor: PutObject .* ECONNREFUSED/);
    expect(store.commits).toBe(1);
    expect(store.state.counter).toBe(1);
    expect(app.visitsServed).toBe(1);
  });

  it('the bucket is not there (yet): 503 naming lightningstor before anything is read or written', async () => {
    const { app, store, bucket } = setup();
    bucket.readyFails = 'HeadBucket webapp-demo at http://10.100.0.12:8080: ECONNREFUSED 10.100.0.12:8080';
    const r = await app.handle('POST', '/visit');
    expect(r.status).toBe(503);
    expect((r.body as { error: string }).error).toMatch(/^lightningstor: HeadBucket/);
    expect(store.commits).toBe(0);
    expect(bucket.objects.size).toBe(0);
  });

  it('FlareDB unreachable at the read: 503, nothing written', async () => {
    const { app, store, bucket } = setup();
    store.readFails = 'reading webapp:demo: connect ECONNREFUSED';
    const r = await app.handle('POST', '/visit');
    expect(r.status).toBe(503);
    expect(bucket.objects.size).toBe(0);
  });

  it('a lost race: its own object deleted, then it tries again on the new counter', async () => {
    const { app, store, bucket, logs } = setup();
    store.racesLeft = 2;
    const r = await app.handle('POST', '/visit');
    expect(r.status).toBe(200);
    expect(store.state).toEqual({ counter: 3, lastSnapshot: 'snapshots/0000000003-00000003.json' });
    expect(bucket.deleted).toEqual(['snapshots/0000000001-00000001.json', 'snapshots/0000000002-00000002.json']);
    expect([...bucket.objects.keys()]).toEqual(['snapshots/0000000003-00000003.json']);
    expect(logs[0]).toBe('visit: deleted orphan snapshot snapshots/0000000001-00000001.json (lost the race: counter moved from 0 to 1)');
  });

  it('losing every attempt: 503, only others moved the counter', async () => {
    const { app, store, bucket } = setup();
    store.racesLeft = 99;
    const r = await app.handle('POST', '/visit');
    expect(r.status).toBe(503);
    expect(r.body).toEqual({ error: 'flaredb: the counter moved under 5 attempts in a row (other writers); try again' });
    expect(store.commits).toBe(5);
    expect(bucket.objects.size).toBe(0);
  });

  it('no replica acknowledged the write: 503 saying so (the counter is there, with its snapshot)', async () => {
    const { app, store, bucket } = setup();
    store.replicas = 0;
    const r = await app.handle('POST', '/visit');
    expect(r.status).toBe(503);
    expect((r.body as { error: string }).error).toBe(
      'flaredb: counter 1 is written on the primary but no replica acknowledged it in time: the write is not yet replicated (this visit may or may not count)',
    );
    expect(bucket.objects.has(store.state.lastSnapshot!)).toBe(true);
    expect(app.visitsServed).toBe(0);
  });

  it('a CAS Redis refused (READONLY): 503, its object deleted', async () => {
    const { app, store, bucket } = setup();
    store.commitFails = new CommitError("setting k counter 0 -> 1: READONLY You can't write against a read only replica.", 'no');
    const r = await app.handle('POST', '/visit');
    expect(r.status).toBe(503);
    expect((r.body as { error: string }).error).toMatch(/^flaredb: setting k counter 0 -> 1: READONLY/);
    expect(bucket.objects.size).toBe(0);
    expect(store.state.counter).toBe(0);
  });

  it('a CAS whose outcome is unknown (connection lost): 503, its object kept, so a counter it moved still has its snapshot', async () => {
    const { app, store, bucket } = setup();
    store.commitFails = new CommitError('setting k counter 0 -> 1: Connection is closed. (the update may or may not have applied)', 'unknown');
    const r = await app.handle('POST', '/visit');
    expect(r.status).toBe(503);
    expect(store.state.counter).toBe(1);
    expect(bucket.objects.has(store.state.lastSnapshot!)).toBe(true);
    expect(bucket.deleted).toEqual([]);
  });

  it('concurrent visits of one process run one after the other: no lost races, every one counted', async () => {
    const { app, store, bucket } = setup();
    const rs = await Promise.all(Array.from({ length: 5 }, () => app.handle('POST', '/visit')));
    expect(rs.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(rs.map((r) => (r.body as { counter: number }).counter)).toEqual([1, 2, 3, 4, 5]);
    expect(store.commits).toBe(5);
    expect(bucket.deleted).toEqual([]);
  });

  it('a failed visit does not block the next one', async () => {
    const { app, bucket } = setup();
    bucket.putFails = 'down';
    const failed = app.handle('POST', '/visit');
    const next = app.handle('POST', '/visit');
    expect((await failed).status).toBe(503);
    bucket.putFails = null;
    // queued behind the failed one, it runs once that one is over
    expect((await next).status).toBe(200);
  });

  it('a bug is a 500 JSON error, not a crash', async () => {
    const { app, store } = setup();
    store.read = async () => {
      throw new TypeError('boom');
    };
    // The timing is the handler's own clock (0 ms idle, more on a loaded host): its shape, not its value.
    expect(await app.handle('POST', '/visit')).toEqual({
      status: 500,
      headers: {},
      body: { error: 'internal error: boom' },
      error: 'internal error: boom',
      timing: expect.stringMatching(/^node \d+ms$/),
    });
  });
});
