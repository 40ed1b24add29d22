/**
 * A small typed client of etcd's v3 JSON gateway (chainfire: etcd 3.4 on
 * the control plane), over node:http: KV range/put/delete/txn, leases
 * (grant, keepalive, revoke) and a streamed watch. Keys and values are
 * base64 in the gateway's JSON; this wrapper takes and gives strings.
 * Each call tries the endpoints in turn (the first that answers wins and
 * is tried first next time), so one member down is not an outage.
 *
 * Why not the `etcd3` package: it speaks gRPC through @grpc/grpc-js and
 * loads etcd's .proto files from its own folder at run time
 * (@grpc/proto-loader), which a single esbuild bundle does not carry, and
 * would add about 1 MB of JavaScript for Node to parse at every start on
 * a TCG guest. The gateway is part of etcd itself and needs nothing.
 */
import http from 'node:http';

export const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
export const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

/** The key range that holds every key starting with `prefix` (etcd's range_end). */
export function prefixEnd(prefix: string): string {
  const buf = Buffer.from(prefix, 'utf8');
  for (let i = buf.length - 1; i >= 0; i--) {
    if (buf[i] < 0xff) {
      const end = Buffer.from(buf.subarray(0, i + 1));
      end[i]++;
      return end.toString('base64');
    }
  }
  return Buffer.from([0]).toString('base64');
}

export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  lease: string;
}

export interface EtcdError extends Error {
  code?: number;
}

export type Compare =
  | { key: string; target: 'CREATE'; createRevision: number; result?: 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL' }
  | { key: string; target: 'VALUE'; value: string; result?: 'EQUAL' | 'NOT_EQUAL' };
export type Op = { put: { key: string; value: string; lease?: string } } | { del: { key: string; prefix?: boolean } } | { range: { key: string; prefix?: boolean } };

interface RawKv {
  key: string;
  value?: string;
  create_revision?: string;
  mod_revision?: string;
  lease?: string;
}
const kv = (r: RawKv): KeyValue => ({
  key: unb64(r.key),
  value: unb64(r.value),
  createRevision: Number(r.create_revision ?? 0),
  modRevision: Number(r.mod_revision ?? 0),
  lease: r.lease ?? '0',
});

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  kv: KeyValue;
}

export class Etcd {
  private preferred = 0;

  constructor(
    readonly endpoints: string[],
    private readonly timeoutMs = 10_000,
  ) {
    if (endpoints.length === 0) throw new Error('etcd: no endpoints');
  }

  /** POST `path` with `body` to the first endpoint that answers; a gRPC error in the answer throws (with its code). */
  async call<T>(path: string, body: unknown): Promise<T> {
    let last: Error | undefined;
    for (let i = 0; i < this.endpoints.length; i++) {
      const idx = (this.preferred + i) % this.endpoints.length;
      try {
        const res = await post(this.endpoints[idx] + path, JSON.stringify(body), this.timeoutMs);
        const json = JSON.parse(res.body || '{}') as { error?: string; message?: string; code?: number };
        if (res.status !== 200 || json.error) {
          const err: EtcdError = new Error(`etcd ${path} at ${this.endpoints[idx]}: ${json.message ?? json.error ?? `HTTP ${res.status}`}`);
          err.code = json.code;
          // "no leader" or a timeout on this member: another member may do better.
          if (res.status >= 500 || json.code === 14 || json.code === 4) {
            last = err;
            continue;
          }
          throw err;
        }
        this.preferred = idx;
        return json as T;
      } catch (e) {
        if ((e as EtcdError).code !== undefined && (e as EtcdError).code !== 14 && (e as EtcdError).code !== 4) throw e;
        last = e as Error;
      }
    }
    throw last ?? new Error('etcd: no endpoint answered');
  }

  async get(key: string): Promise<KeyValue | undefined> {
    const r = await this.call<{ kvs?: RawKv[] }>('/v3/kv/range', { key: b64(key) });
    return r.kvs?.[0] ? kv(r.kvs[0]) : undefined;
  }

  /** Every key under `prefix` and the store's revision at that read. */
  async list(prefix: string): Promise<{ kvs: KeyValue[]; revision: number }> {
    const r = await this.call<{ kvs?: RawKv[]; header: { revision: string } }>('/v3/kv/range', { key: b64(prefix), range_end: prefixEnd(prefix) });
    return { kvs: (r.kvs ?? []).map(kv), revision: Number(r.header.revision) };
  }

  async put(key: string, value: string, lease?: string): Promise<void> {
    await this.call('/v3/kv/put', { key: b64(key), value: b64(value), ...(lease ? { lease } : {}) });
  }

  async del(key: string, prefix = false): Promise<number> {
    const r = await this.call<{ deleted?: string }>('/v3/kv/deleterange', { key: b64(key), ...(prefix ? { range_end: prefixEnd(key) } : {}) });
    return Number(r.deleted ?? 0);
  }

  /** Applies `success` when every compare holds, else `failure`; says which, with the range results of the ops run and the store's revision after it (the txn's own when it wrote). */
  async txn(compare: Compare[], success: Op[], failure: Op[] = []): Promise<{ succeeded: boolean; ranges: KeyValue[][]; revision: number }> {
    const cmp = compare.map((c) =>
      c.target === 'CREATE'
        ? { key: b64(c.key), target: 'CREATE', result: c.result ?? 'EQUAL', create_revision: String(c.createRevision) }
        : { key: b64(c.key), target: 'VALUE', result: c.result ?? 'EQUAL', value: b64(c.value) },
    );
    const op = (o: Op) =>
      'put' in o
        ? { request_put: { key: b64(o.put.key), value: b64(o.put.value), ...(o.put.lease ? { lease: o.put.lease } : {}) } }
        : 'del' in o
          ? { request_delete_range: { key: b64(o.del.key), ...(o.del.prefix ? { range_end: prefixEnd(o.del.key) } : {}) } }
          : { request_range: { key: b64(o.range.key), ...(o.range.prefix ? { range_end: prefixEnd(o.range.key) } : {}) } };
    const r = await this.call<{ succeeded?: boolean; header?: { revision?: string }; responses?: { response_range?: { kvs?: RawKv[] } }[] }>('/v3/kv/txn', {
      compare: cmp,
      success: success.map(op),
      failure: failure.map(op),
    });
    return { succeeded: !!r.succeeded, ranges: (r.responses ?? []).filter((x) => x.response_range).map((x) => (x.response_range!.kvs ?? []).map(kv)), revision: Number(r.header?.revision ?? 0) };
  }

  /** A lease; etcd may grant a longer TTL than asked (its minimum is 1.5 election timeouts). */
  async grant(ttlS: number): Promise<{ id: string; ttlS: number }> {
    const r = await this.call<{ ID: string; TTL: string }>('/v3/lease/grant', { TTL: ttlS });
    return { id: r.ID, ttlS: Number(r.TTL) };
  }

  /** Renews the lease once; returns its TTL, 0 when it has expired (it is gone, with its keys). */
  async keepAlive(id: string): Promise<number> {
    const r = await this.call<{ result?: { TTL?: string } }>('/v3/lease/keepalive', { ID: id });
    return Number(r.result?.TTL ?? 0);
  }

  async revoke(id: string): Promise<void> {
    await this.call('/v3/lease/revoke', { ID: id }).catch((e: EtcdError) => {
      if (!/lease not found/.test(e.message)) throw e;
    });
  }

  /**
   * Watches every key under `prefix` from `startRevision` on, calling
   * `onEvents` for each batch, until `signal` aborts or the stream ends
   * (then the promise resolves: the caller re-reads and watches again).
   */
  watch(prefix: string, startRevision: number, onEvents: (events: WatchEvent[]) => void, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify({ create_request: { key: b64(prefix), range_end: prefixEnd(prefix), start_revision: String(startRevision) } });
    const url = new URL(this.endpoints[this.preferred] + '/v3/watch');
    let onAbort = () => {};
    return new Promise<void>((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`etcd watch at ${url.host}: HTTP ${res.statusCode}`));
            return;
          }
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            // The gateway streams one JSON object per message, newline-separated.
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (!line) continue;
              try {
                const msg = JSON.parse(line) as { result?: { events?: { type?: string; kv: RawKv }[]; canceled?: boolean } ; error?: unknown };
                if (msg.error || msg.result?.canceled) {
                  req.destroy();
                  resolve();
                  return;
                }
                const events = (msg.result?.events ?? []).map((e) => ({ type: (e.type === 'DELETE' ? 'DELETE' : 'PUT') as WatchEvent['type'], kv: kv(e.kv) }));
                if (events.length > 0) onEvents(events);
              } catch {
                // A partial or foreign line: ignore, the periodic re-read covers it.
              }
            }
          });
          res.on('end', () => resolve());
          res.on('error', () => resolve());
        },
      );
      req.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      onAbort = () => req.destroy();
      signal.addEventListener('abort', onAbort, { once: true });
      req.end(body);
    }).finally(() => signal.removeEventListener('abort', onAbort));
  }
}

function post(url: string, body: string, timeoutMs: number): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, path: u.pathname, method: 'POST', timeout: timeoutMs, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let data = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (data += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: data }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
    req.on('error', (e) => reject(new Error(`etcd ${u.host}${u.pathname}: ${e.message}`)));
    req.end(body);
  });
}
