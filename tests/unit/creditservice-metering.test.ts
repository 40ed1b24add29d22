/**
 * Metered remote write: the remote-write decoder (snappy block + the
 * WriteRequest fields that count), and POST /v1/metered/nightlight/write
 * on the in-memory ledger with a fake NightLight receiver. The bodies are
 * what the prometheus-remote-write client really sends (captured from its
 * fetch), so the decoder is checked against another implementation's
 * encoder (snappyjs, protobufjs).
 */
import { pushTimeseries } from 'prometheus-remote-write';
import { describe, expect, it } from 'vitest';
import { loadConfig, ConfigError } from '../../services/creditservice/src/config.js';
import { METERED_WRITE_PATH, reservationHeader } from '../../services/creditservice/src/http.js';
import {
  RemoteWriteError,
  snappyUncompress,
  summarizeRemoteWrite,
  summarizeWriteRequest,
} from '../../services/creditservice/src/remote-write.js';
import { MAX_BODY_BYTES, MAX_WRITE_BODY_BYTES, bodyLimit } from '../../services/creditservice/src/server.js';
import { harness, type Harness } from '../../services/creditservice/src/testing.js';
import { UnavailableError } from '../../services/creditservice/src/errors.js';

type Series = { labels: { __name__: string; [k: string]: string }; samples: { value: number; timestamp: number }[] };

/** The body prometheus-remote-write would POST for `series`. */
async function remoteWriteBody(series: Series[]): Promise<Buffer> {
  let captured: Buffer | undefined;
  await pushTimeseries(series, {
    url: 'http://receiver.invalid/api/v1/write',
    fetch: async (_url, init) => {
      captured = Buffer.from(init!.body as unknown as Uint8Array);
      return { status: 204, statusText: 'No Content', text: async () => '' };
    },
  });
  return captured!;
}

const series = (name: string, n: number, extra: Record<string, string> = {}): Series => ({
  labels: { __name__: name, ...extra },
  samples: Array.from({ length: n }, (_, i) => ({ value: i * 1.5, timestamp: 1_700_000_000_000 + i * 1000 })),
});

/** A snappy literal-only block of `data` (the simplest valid encoding). */
function snappyLiteral(data: Buffer): Buffer {
  const parts: number[] = [];
  let n = data.length;
  do {
    parts.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  if (data.length === 0) return Buffer.from(parts);
  if (data.length <= 60) return Buffer.concat([Buffer.from(parts), Buffer.from([(data.length - 1) << 2]), data]);
  return Buffer.concat([Buffer.from(parts), Buffer.from([60 << 2, data.length - 1]), data]);
}

describe('creditservice remote-write decoder', () => {
  it('counts series and samples of what a real client sends', async () => {
    const body = await remoteWriteBody([series('a_metric', 3, { run: 'x' }), series('b_metric', 1), series('c_metric', 5, { job: 'j'.repeat(200) })]);
    expect(summarizeRemoteWrite(body)).toEqual({ series: 3, samples: 9, names: ['a_metric', 'b_metric', 'c_metric'] });
  });

  it('undoes snappy back-references (long repeated labels, many series)', async () => {
    const many = Array.from({ length: 200 }, (_, i) => series('ultracloud_repeated_metric_name', 2, { instance: `node-${i % 7}`, pad: 'abc'.repeat(50) }));
    const body = await remoteWriteBody(many);
    // The client compressed it: far smaller than 200 series of ~200 bytes.
    expect(body.length).toBeLessThan(10_000);
    expect(summarizeRemoteWrite(body)).toMatchObject({ series: 200, samples: 400 });
  });

  it('decodes literal blocks and overlapping copies by the format description', () => {
    expect(snappyUncompress(snappyLiteral(Buffer.from('hello')))).toEqual(Buffer.from('hello'));
    const long = Buffer.from('x'.repeat(100));
    expect(snappyUncompress(snappyLiteral(long))).toEqual(long);
    // "ab" then a 1-byte-offset copy of length 6 at offset 2: "abababab".
    const copy = Buffer.from([8, 1 << 2, 0x61, 0x62, 0b000_010_01, 2]);
    expect(snappyUncompress(copy).toString()).toBe('abababab');
  });

  it('refuses what is not a snappy block of a WriteRequest', () => {
    const cases: [Buffer, RegExp][] = [
      [Buffer.alloc(0), /empty body/],
      [Buffer.from([5, 4 << 2, 0x61]), /literal runs past the input/],
      [Buffer.from([8, 1 << 2, 0x61, 0x62, 0b000_010_01, 9]), /copy offset 9 outside the output/],
      [Buffer.from([9, 1 << 2, 0x61, 0x62]), /output is 2 bytes, announced 9/],
      [Buffer.from([0xff, 0xff, 0xff, 0xff, 0x7f]), /over \d+ bytes/],
      [snappyLiteral(Buffer.from([0x0a, 0x05, 0x01])), /field 1 runs past the end/],
      [snappyLiteral(Buffer.from([0x0b])), /unsupported wire type 3/],
      [snappyLiteral(Buffer.from('{"not":"protobuf"}')), /WriteRequest|TimeSeries|Label/],
    ];
    for (const [body, msg] of cases) {
      let err: unknown;
      try {
        summarizeRemoteWrite(body);
      } catch (e) {
        err = e;
      }
      expect(err, body.toString('hex')).toBeInstanceOf(RemoteWriteError);
      expect((err as Error).message, body.toString('hex')).toMatch(msg);
    }
  });

  it('an empty WriteRequest has no samples; metadata is not metered', () => {
    expect(summarizeWriteRequest(Buffer.alloc(0))).toEqual({ series: 0, samples: 0, names: [] });
    // field 3 (metadata), length 2, some bytes: skipped.
    expect(summarizeWriteRequest(Buffer.from([0x1a, 0x02, 0x08, 0x01]))).toEqual({ series: 0, samples: 0, names: [] });
  });
});

describe('creditservice metered-write plumbing', () => {
  it('NightLight\'s receiver URL: default, override, one http URL only', () => {
    const read = () => 'feedbeef';
    expect(loadConfig({}, read).nightlightWriteUrl).toBe('http://127.0.0.1:9090/api/v1/write');
    expect(loadConfig({ CREDIT_NIGHTLIGHT_WRITE_URL: 'http://10.0.0.1:9090/api/v1/write' }, read).nightlightWriteUrl).toBe('http://10.0.0.1:9090/api/v1/write');
    expect(() => loadConfig({ CREDIT_NIGHTLIGHT_WRITE_URL: 'http://a/w,http://b/w' }, read)).toThrow(/one URL, got 2/);
    expect(() => loadConfig({ CREDIT_NIGHTLIGHT_WRITE_URL: 'https://a/w' }, read)).toThrow(ConfigError);
  });

  it('a metered write may carry 1 MiB; everything else 16 KiB', () => {
    expect(bodyLimit(METERED_WRITE_PATH)).toBe(MAX_WRITE_BODY_BYTES);
    expect(bodyLimit(`${METERED_WRITE_PATH}?x=1`)).toBe(MAX_WRITE_BODY_BYTES);
    expect(bodyLimit('/v1/reservations')).toBe(MAX_BODY_BYTES);
    expect(MAX_WRITE_BODY_BYTES).toBe(1024 * 1024);
  });

  it('the reservation header: 402 when missing, trimmed otherwise', () => {
    expect(reservationHeader({ 'x-ultracloud-reservation': ' abc ' })).toBe('abc');
    expect(reservationHeader({ 'x-ultracloud-reservation': ['r1', 'r2'] })).toBe('r1');
    expect(() => reservationHeader({})).toThrow(/needs a reservation/);
  });
});

describe('POST /v1/metered/nightlight/write', () => {
  async function reserved(h: Harness, amount: number, token = 'tok-bob'): Promise<string> {
    const r = await h.call('PUT', '/v1/accounts/acct-bob/balance', { body: { balance: 1000 } });
    expect(r.status).toBe(200);
    await h.call('PUT', '/v1/accounts/acct-alice/balance', { body: { balance: 1000 } });
    const res = await h.call('POST', '/v1/reservations', { token, body: { amount } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return (res.body as { id: string }).id;
  }
  const write = (h: Harness, id: string | undefined, body: Buffer, token: string | null = 'tok-bob') =>
    h.call('POST', METERED_WRITE_PATH, { token, raw: body, headers: id === undefined ? {} : { 'x-ultracloud-reservation': id } });

  it('draws one credit per sample, forwards the body unchanged and says what is left', async () => {
    const h = harness();
    const id = await reserved(h, 5);
    const body = await remoteWriteBody([series('m', 2), series('n', 1)]);
    const r = await write(h, id, body);
    expect(r.status, JSON.stringify(r.body)).toBe(204);
    expect(r.headers).toMatchObject({
      'x-ultracloud-samples': '3',
      'x-ultracloud-series': '2',
      'x-ultracloud-reservation-used': '3',
      'x-ultracloud-reservation-left': '2',
    });
    expect(h.nightlight.received).toEqual([body]);
    expect((await h.call('GET', `/v1/reservations/${id}`, { token: 'tok-bob' })).body).toMatchObject({ amount: 5, used: 3, state: 'reserved' });
    expect(r.caller).toBe('bob');
  });

  it('a write larger than what is left is refused with 402 and never reaches NightLight', async () => {
    const h = harness();
    const id = await reserved(h, 4);
    expect((await write(h, id, await remoteWriteBody([series('m', 3)]))).status).toBe(204);
    const r = await write(h, id, await remoteWriteBody([series('m2', 2)]));
    expect(r.status).toBe(402);
    expect((r.body as { error: string }).error).toBe(`reservation ${id} is exhausted: the write costs 2 (1 per sample), 1 of 4 left`);
    expect(h.nightlight.received).toHaveLength(1);
    // What is left still buys a write that fits.
    expect((await write(h, id, await remoteWriteBody([series('m3', 1)]))).status).toBe(204);
    expect(h.nightlight.received).toHaveLength(2);
  });

  it('a settled reservation buys nothing (409); the balance moves by the reserved amount on commit', async () => {
    const h = harness();
    const id = await reserved(h, 5);
    await write(h, id, await remoteWriteBody([series('m', 2)]));
    const c = await h.call('POST', `/v1/reservations/${id}/commit`, { token: 'tok-bob' });
    expect(c.body).toMatchObject({ balance: 995, reserved: 0 });
    const r = await write(h, id, await remoteWriteBody([series('m', 1)]));
    expect(r.status).toBe(409);
    expect((r.body as { error: string }).error).toMatch(/is already committed/);
    expect(h.nightlight.received).toHaveLength(1);
  });

  it('refuses without a token (401), without a reservation (402), with a bad body (400) or no samples (400)', async () => {
    const h = harness();
    const id = await reserved(h, 5);
    const good = await remoteWriteBody([series('m', 1)]);
    expect((await write(h, id, good, null)).status).toBe(401);
    expect((await write(h, id, good, 'forged')).status).toBe(401);
    const none = await write(h, undefined, good);
    expect(none.status).toBe(402);
    expect((none.body as { error: string }).error).toMatch(/needs a reservation/);
    const bad = await write(h, id, Buffer.from('{"samples": 1}'));
    expect(bad.status).toBe(400);
    expect((bad.body as { error: string }).error).toMatch(/^not a remote-write request: /);
    const empty = await write(h, id, snappyLiteral(Buffer.alloc(0)));
    expect(empty.status).toBe(400);
    expect((empty.body as { error: string }).error).toBe('the remote-write request carries no samples');
    expect(h.nightlight.received).toHaveLength(0);
    expect((await h.call('GET', `/v1/reservations/${id}`, { token: 'tok-bob' })).body).toMatchObject({ used: 0 });
  });

  it('another account\'s reservation (403), an unknown one (404); an operator may draw on any', async () => {
    const h = harness();
    const alices = await reserved(h, 5, 'tok-alice');
    const body = await remoteWriteBody([series('m', 1)]);
    const foreign = await write(h, alices, body, 'tok-bob');
    expect(foreign.status).toBe(403);
    expect((foreign.body as { error: string }).error).toBe(`reservation ${alices} belongs to another account`);
    expect((await write(h, '00000000-0000-4000-8000-00000000ffff', body)).status).toBe(404);
    expect((await write(h, 'not a uuid!', body)).status).toBe(404);
    const bobs = await reserved(h, 5);
    expect((await write(h, bobs, body, 'tok-alice')).status).toBe(204);
  });

  it('a draw no replica has yet: 503 (outcome unknown), and the write never reaches NightLight', async () => {
    const h = harness();
    const id = await reserved(h, 5);
    // As RedisLedger does when WAIT counts too few replicas: the primary drew, then it throws.
    const meter = h.ledger.meter.bind(h.ledger);
    h.ledger.meter = async (...args) => {
      await meter(...args);
      throw new UnavailableError('ledger', 'not replicated: WAIT counted 0 of 1 replicas within 1000 ms; the change may or may not survive a failover');
    };
    const r = await write(h, id, await remoteWriteBody([series('m', 2)]));
    expect(r.status).toBe(503);
    expect((r.body as { error: string }).error).toMatch(/^ledger unavailable: not replicated: /);
    expect(h.nightlight.received).toEqual([]);
  });

  it('NightLight down: 502 naming it, and the credits are given back', async () => {
    const h = harness();
    const id = await reserved(h, 3);
    h.nightlight.down = 'http://127.0.0.1:9090/api/v1/write: connect ECONNREFUSED 127.0.0.1:9090';
    const r = await write(h, id, await remoteWriteBody([series('m', 2)]));
    expect(r.status).toBe(502);
    expect((r.body as { error: string }).error).toBe('nightlight unavailable: http://127.0.0.1:9090/api/v1/write: connect ECONNREFUSED 127.0.0.1:9090');
    expect(r.error).toMatch(/nightlight unavailable/);
    expect((await h.call('GET', `/v1/reservations/${id}`, { token: 'tok-bob' })).body).toMatchObject({ used: 0 });
  });

  it('NightLight refuses (4xx passed on, 5xx as 502): the credits are given back', async () => {
    const h = harness();
    const id = await reserved(h, 3);
    h.nightlight.answer = { status: 400, body: 'out of order sample' };
    const r = await write(h, id, await remoteWriteBody([series('m', 2)]));
    expect(r.status).toBe(400);
    expect((r.body as { error: string }).error).toBe('nightlight refused the write: 400 out of order sample');
    h.nightlight.answer = { status: 500, body: 'tsdb full' };
    const r5 = await write(h, id, await remoteWriteBody([series('m', 2)]));
    expect(r5.status).toBe(502);
    expect((await h.call('GET', `/v1/reservations/${id}`, { token: 'tok-bob' })).body).toMatchObject({ used: 0 });
    h.nightlight.answer = { status: 204, body: '' };
    expect((await write(h, id, await remoteWriteBody([series('m', 3)]))).status).toBe(204);
  });

  it('concurrent writes never draw more than the reservation holds', async () => {
    const h = harness();
    const id = await reserved(h, 10);
    const body = await remoteWriteBody([series('m', 1)]);
    const codes = (await Promise.all(Array.from({ length: 25 }, () => write(h, id, body)))).map((r) => r.status);
    expect(codes.filter((c) => c === 204)).toHaveLength(10);
    expect(codes.filter((c) => c === 402)).toHaveLength(15);
    expect(h.nightlight.received).toHaveLength(10);
  });

  it('GET is not allowed on the write route (405)', async () => {
    const h = harness();
    expect((await h.call('GET', METERED_WRITE_PATH)).status).toBe(405);
  });
});
