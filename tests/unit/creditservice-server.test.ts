import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { HttpError, UnavailableError, withTimeout } from '../../services/creditservice/src/errors.js';
import { MemoryLedger } from '../../services/creditservice/src/memory-ledger.js';
import { MAX_BODY_BYTES, logLine, readBody, writeResponse } from '../../services/creditservice/src/server.js';
import { REPEAT_EVERY, checkHealth, waitFor } from '../../services/creditservice/src/service.js';
import { sdNotify, statusArg, type ExecFile } from '../../services/creditservice/src/systemd.js';
import { FakeDirectory, rejection } from '../../services/creditservice/src/testing.js';
import { JwksCache } from '../../services/creditservice/src/token.js';

describe('creditservice request bodies', () => {
  it('reads a body in chunks', async () => {
    const body = await readBody(Readable.from([Buffer.from('{"amo'), Buffer.from('unt":1}')]), undefined);
    expect(body.toString()).toBe('{"amount":1}');
  });

  it('16 KiB is fine, one byte more is 413', async () => {
    expect(MAX_BODY_BYTES).toBe(16384);
    expect((await readBody(Readable.from([Buffer.alloc(16384, 0x20)]), '16384')).length).toBe(16384);
    const e = await rejection(readBody(Readable.from([Buffer.alloc(10000), Buffer.alloc(6385)]), undefined));
    expect(e).toBeInstanceOf(HttpError);
    expect((e as HttpError).status).toBe(413);
    expect((e as HttpError).headers).toEqual({ connection: 'close' });
    expect(e.message).toBe('body over 16384 bytes');
  });

  it('413 at once from Content-Length, without reading', async () => {
    let read = false;
    const stream = new Readable({
      read() {
        read = true;
        this.push(null);
      },
    });
    const e = await rejection(readBody(stream, '20000'));
    expect((e as HttpError).status).toBe(413);
    expect(read).toBe(false);
  });

  it('does not destroy the stream on 413 (the answer still has to go out)', async () => {
    const stream = new Readable({ read() {} });
    const p = readBody(stream, undefined);
    stream.push(Buffer.alloc(10000));
    stream.push(Buffer.alloc(10000));
    await rejection(p);
    expect(stream.destroyed).toBe(false);
    expect(stream.isPaused()).toBe(true);
  });
});

describe('creditservice responses and log lines', () => {
  it('one log line: method, path, status, caller, ms; 5xx with its reason', () => {
    expect(logLine('GET', '/v1/balance?x=1', { status: 200, headers: {}, body: {}, caller: 'alice' }, 12)).toBe(
      'GET /v1/balance 200 alice 12ms',
    );
    expect(logLine('GET', '/nope', { status: 404, headers: {}, body: {} }, 0)).toBe('GET /nope 404 - 0ms');
    expect(
      logLine('POST', '/v1/reservations', { status: 503, headers: {}, body: {}, caller: 'bob', error: 'ledger unavailable: x' }, 10001),
    ).toBe('POST /v1/reservations 503 bob 10001ms (ledger unavailable: x)');
  });

  it('writes JSON with its length and extra headers', () => {
    const written: { status?: number; headers?: Record<string, unknown>; body?: string } = {};
    const res = {
      writeHead(status: number, headers: Record<string, unknown>) {
        written.status = status;
        written.headers = headers;
      },
      end(body: string) {
        written.body = body;
      },
    };
    writeResponse(res as never, { status: 401, headers: { 'www-authenticate': 'Bearer' }, body: { error: 'missing bearer token' } });
    expect(written).toEqual({
      status: 401,
      headers: { 'content-type': 'application/json', 'content-length': 33, 'www-authenticate': 'Bearer' },
      body: '{"error":"missing bearer token"}\n',
    });
  });

  it('writes a 204 (a metered write) with its headers and no body or content headers', () => {
    const written: { status?: number; headers?: Record<string, unknown>; body?: unknown } = {};
    const res = {
      writeHead(status: number, headers: Record<string, unknown>) {
        written.status = status;
        written.headers = headers;
      },
      end(body?: unknown) {
        written.body = body;
      },
    };
    writeResponse(res as never, { status: 204, headers: { 'x-ultracloud-samples': '3' }, body: undefined });
    expect(written).toEqual({ status: 204, headers: { 'x-ultracloud-samples': '3' }, body: undefined });
  });
});

describe('creditservice start-up and health', () => {
  it('waitFor retries every interval and logs a reason when it changes', async () => {
    const logs: string[] = [];
    const statuses: string[] = [];
    const sleeps: number[] = [];
    const reasons = ['ECONNREFUSED', 'ECONNREFUSED', 'ETIMEDOUT'];
    let n = 0;
    const attempts = await waitFor(
      'IAM',
      async () => {
        const r = reasons[n++];
        if (r) throw new UnavailableError('directory', r);
      },
      { log: (l) => logs.push(l), status: (s) => statuses.push(s), sleep: async (ms) => void sleeps.push(ms) },
    );
    expect(attempts).toBe(4);
    expect(sleeps).toEqual([2000, 2000, 2000]);
    expect(logs).toEqual(['waiting for IAM: ECONNREFUSED', 'waiting for IAM: ETIMEDOUT', 'reached IAM after 4 attempts']);
    expect(statuses).toEqual(['waiting for IAM: ECONNREFUSED', 'waiting for IAM: ETIMEDOUT']);
  });

  it('waitFor repeats an unchanged reason every 30 s', async () => {
    const logs: string[] = [];
    let n = 0;
    await waitFor(
      'Redis',
      async () => {
        if (++n <= REPEAT_EVERY * 2) throw new Error('Connection is closed.');
      },
      { log: (l) => logs.push(l), sleep: async () => {} },
    );
    expect(logs.filter((l) => l === 'waiting for Redis: Connection is closed.')).toHaveLength(3);
  });

  it('waitFor succeeds silently at the first attempt', async () => {
    const logs: string[] = [];
    expect(await waitFor('Redis', async () => {}, { log: (l) => logs.push(l) })).toBe(1);
    expect(logs).toEqual([]);
  });

  it('checkHealth: ok when flaredb pings, the JWKS is there and a bind works', async () => {
    const ledger = new MemoryLedger();
    const directory = new FakeDirectory();
    const jwks = new JwksCache(['http://n1/jwks'], async () => ({ keys: [{ kty: 'EC', crv: 'P-256', x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU', y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0', kid: 'k' }] }));
    expect(await checkHealth(ledger, jwks, directory)).toEqual({ redis: 'ok', iam: 'ok' });
    ledger.down = 'Connection is closed.';
    directory.down = 'ldap://10.100.0.11:389: connect ECONNREFUSED';
    expect(await checkHealth(ledger, jwks, directory)).toEqual({
      redis: 'Connection is closed.',
      iam: 'ldap://10.100.0.11:389: connect ECONNREFUSED',
    });
  });

  it('checkHealth: a JWKS never fetched is tried, and a hang is cut short', async () => {
    const ledger = new MemoryLedger();
    ledger.ping = () => new Promise(() => {});
    const jwks = new JwksCache(['http://n1/jwks'], async () => {
      throw new Error('connect EHOSTUNREACH');
    });
    expect(await checkHealth(ledger, jwks, new FakeDirectory(), 50)).toEqual({
      redis: 'no answer within 50 ms',
      iam: 'http://n1/jwks: connect EHOSTUNREACH',
    });
  });

  it('withTimeout passes results and errors through', async () => {
    expect(await withTimeout(Promise.resolve(3), 10, () => new Error('t'))).toBe(3);
    expect((await rejection(withTimeout(Promise.reject(new Error('e')), 10, () => new Error('t')))).message).toBe('e');
    expect((await rejection(withTimeout(new Promise(() => {}), 10, () => new Error('t')))).message).toBe('t');
  });
});

describe('creditservice systemd readiness', () => {
  function recorder(fail?: Error) {
    const calls: [string, string[]][] = [];
    const exec: ExecFile = (file, args, done) => {
      calls.push([file, args]);
      setImmediate(() => done(fail ?? null));
    };
    return { calls, exec };
  }

  it('runs systemd-notify --ready when NOTIFY_SOCKET is set', async () => {
    const r = recorder();
    expect(await sdNotify(['--ready'], { NOTIFY_SOCKET: '/run/systemd/notify' }, r.exec)).toBe(true);
    expect(r.calls).toEqual([['systemd-notify', ['--ready']]]);
  });

  it('does nothing outside systemd', async () => {
    const r = recorder();
    expect(await sdNotify(['--ready'], {}, r.exec)).toBe(false);
    expect(r.calls).toEqual([]);
  });

  it('reports a failing systemd-notify', async () => {
    const r = recorder(new Error('spawn systemd-notify ENOENT'));
    expect((await rejection(sdNotify(['--ready'], { NOTIFY_SOCKET: '/x' }, r.exec))).message).toBe('spawn systemd-notify ENOENT');
  });

  it('STATUS= is one bounded line', () => {
    expect(statusArg('waiting for IAM:\n  a\tb')).toBe('--status=waiting for IAM: a b');
    expect(statusArg('x'.repeat(500))).toHaveLength('--status='.length + 200);
  });
});
