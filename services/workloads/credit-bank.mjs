#!/usr/bin/env node
/**
 * A bounded "bank" workload on creditservice's ledger (Jepsen's bank, in
 * the shape of this ledger), run on the node creditservice listens on:
 * several concurrent clients, each holding one account's access token,
 * reserve credits, draw on their reservations with metered remote writes
 * (one credit per sample), commit or roll the reservations back, and read
 * their account and reservations. Every operation is recorded as invoke /
 * ok / fail / info with one monotonic clock; the harness judges the history
 * against the ledger's end state (harness/consistency/bank.ts).
 *
 * Every reservation id is the client's own (`<prefix>-c<client>-<n>`): a
 * reservation whose POST timed out can be looked up at the end, so each
 * one's fate is known.
 *
 * Outcomes, from creditservice's answers (services/creditservice/README.md):
 * 2xx is ok; a refusal that changes nothing (400, 402, 403, 404, 409; a
 * connection refused before anything was sent) is fail; 503 (the ledger did
 * not answer, or the change is on no replica yet), 5xx, a timeout or a reset
 * is info: it may have happened. A metered write NightLight refused (4xx
 * passed on, 502) had its credits given back: fail.
 *
 *   node credit-bank.mjs '{"url":"http://127.0.0.1:8085","tokenFile":"/run/x/tokens.json",
 *     "clients":6,"timeLimitS":120,"opLimit":5000,"opTimeoutMs":12000,"maxAmount":8,
 *     "maxOpen":4,"prefix":"bank-1a2b","seed":1}'
 *
 * tokenFile: JSON [{"account":"acct-alice","token":"..."}, ...]; client i
 * acts for entry i mod n. The first holder must be an operator (the end
 * state is read with its token). "stopFile", "startedFile", "thinkMs" as in the
 * other workloads (recorder.mjs).
 */
import fs from 'node:fs';
import { httpRequest, startRecorder } from './recorder.mjs';

const FINALS = JSON.parse(process.argv[2] ?? '{}').finals === true;
const { cfg, events, now, rand, another, run } = startRecorder('credit-bank', FINALS ? ['url', 'tokenFile', 'ids', 'opTimeoutMs'] : ['url', 'tokenFile', 'clients', 'timeLimitS', 'opLimit', 'opTimeoutMs', 'maxAmount', 'maxOpen', 'prefix']);
const holders = JSON.parse(fs.readFileSync(cfg.tokenFile, 'utf8'));

/** One request to the service as `token`: { status, body (parsed JSON, or { error: its text }), headers }. */
async function request(method, path, token, { json, body, headers = {} } = {}) {
  const payload = json !== undefined ? JSON.stringify(json) : body;
  const res = await httpRequest(`${cfg.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(json !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: payload,
    timeoutMs: cfg.opTimeoutMs,
  });
  let parsed;
  try {
    parsed = res.text ? JSON.parse(res.text) : undefined;
  } catch {
    parsed = { error: res.text.slice(0, 200) };
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

// A remote-write body, by hand: protobuf WriteRequest { TimeSeries { labels, samples } } in an uncompressed snappy block.
const varint = (n) => {
  const out = [];
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80);
    n = Math.floor(n / 0x80);
  }
  out.push(n);
  return Buffer.from(out);
};
const field = (no, bytes) => Buffer.concat([varint((no << 3) | 2), varint(bytes.length), bytes]);
const label = (name, value) => field(1, Buffer.concat([field(1, Buffer.from(name)), field(2, Buffer.from(value))]));
function sample(value, ts) {
  const v = Buffer.alloc(9);
  v[0] = (1 << 3) | 1; // field 1, 64-bit
  v.writeDoubleLE(value, 1);
  return field(2, Buffer.concat([v, varint((2 << 3) | 0), varint(ts)]));
}
function snappyLiteral(raw) {
  const parts = [varint(raw.length)];
  for (let at = 0; at < raw.length; at += 65536) {
    const chunk = raw.subarray(at, at + 65536);
    const n = chunk.length - 1;
    parts.push(n < 60 ? Buffer.from([n << 2]) : n < 256 ? Buffer.from([60 << 2, n]) : Buffer.from([61 << 2, n & 0xff, n >> 8]), chunk);
  }
  return Buffer.concat(parts);
}
/** `samples` samples of one series per client (timestamps rising per client: NightLight refuses out-of-order ones). */
function remoteWrite(client, samples, fromTs) {
  const labels = Buffer.concat([label('__name__', 'ultracloud_bank_draw'), label('client', String(client)), label('run', cfg.prefix)]);
  const ss = Array.from({ length: samples }, (_, i) => sample(i + 1, fromTs + i));
  return snappyLiteral(field(1, Buffer.concat([labels, ...ss])));
}

const REFUSED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);

async function client(index) {
  const { account, token } = holders[index % holders.length];
  let process_ = index;
  let made = 0;
  let lastTs = 0;
  /** Reservations this client may still draw on or settle: acknowledged ones, and unknown ones (they may exist). */
  const open = [];
  while (another()) {
    const roll = rand();
    const pick = () => open[Math.floor(rand() * open.length)];
    let op;
    if (open.length === 0 || (open.length < cfg.maxOpen && roll < 0.3)) {
      const id = `${cfg.prefix}-c${index}-${++made}`;
      op = { f: 'reserve', value: { id, amount: 1 + Math.floor(rand() * cfg.maxAmount) } };
    } else if (roll < 0.55) op = { f: 'draw', value: { id: pick(), cost: 1 + Math.floor(rand() * 3) } };
    else if (roll < 0.75) op = { f: 'settle', value: { id: pick(), action: rand() < 0.5 ? 'commit' : 'rollback' } };
    else if (roll < 0.9) op = { f: 'read', value: { account } };
    else op = { f: 'read-reservation', value: { id: pick() } };
    const key = op.value.id ?? account;
    events.push({ process: process_, type: 'invoke', f: op.f, key, account, value: op.value, time: now() });
    let sent = false;
    try {
      let res;
      if (op.f === 'reserve') {
        sent = true;
        res = await request('POST', '/v1/reservations', token, { json: { amount: op.value.amount, id: op.value.id } });
      } else if (op.f === 'draw') {
        lastTs = Math.max(Date.now(), lastTs + 1);
        const body = remoteWrite(index, op.value.cost, lastTs);
        lastTs += op.value.cost;
        sent = true;
        res = await request('POST', '/v1/metered/nightlight/write', token, { body, headers: { 'content-type': 'application/x-protobuf', 'content-encoding': 'snappy', 'x-ultracloud-reservation': op.value.id } });
      } else if (op.f === 'settle') {
        sent = true;
        res = await request('POST', `/v1/reservations/${op.value.id}/${op.value.action}`, token);
      } else if (op.f === 'read') res = await request('GET', `/v1/accounts/${account}/balance`, token);
      else res = await request('GET', `/v1/reservations/${op.value.id}`, token);
      const { status, body } = res;
      const end = { process: process_, f: op.f, key, account, time: 0, status };
      if (status >= 200 && status < 300) {
        const value = op.f === 'draw' ? { samples: Number(res.headers['x-ultracloud-samples']), used: Number(res.headers['x-ultracloud-reservation-used']) } : body;
        events.push({ ...end, type: 'ok', value, time: now() });
        if (op.f === 'reserve') open.push(op.value.id);
      } else if (status >= 500 && status !== 502) {
        // 503: the outcome is unknown (no answer from the ledger, or not on a replica yet).
        events.push({ ...end, type: op.f.startsWith('read') ? 'fail' : 'info', error: `${status} ${body?.error ?? ''}`, time: now() });
        if (!op.f.startsWith('read')) process_ += cfg.clients;
        if (op.f === 'reserve') open.push(op.value.id);
      } else {
        events.push({ ...end, type: 'fail', error: `${status} ${body?.error ?? ''}`, time: now() });
      }
      // A reservation that is settled or does not exist is left alone from now on. One that is used up stays until it is
      // settled (left open it would hold its quota for good); so does one whose settle's outcome is unknown: the next
      // settle finds out (409 when the first one happened).
      const gone = status === 404 || status === 409;
      if ((op.f === 'settle' && status < 500) || (op.f !== 'reserve' && op.f !== 'read' && gone)) open.splice(open.indexOf(op.value.id), 1);
    } catch (e) {
      const code = e?.code ?? '';
      const type = op.f.startsWith('read') || !sent || REFUSED_CODES.has(code) ? 'fail' : 'info';
      events.push({ process: process_, type, f: op.f, key, account, time: now(), error: `${e?.name === 'TimeoutError' ? 'timeout' : e?.message ?? e}${code ? ` (${code})` : ''}` });
      if (type === 'info') process_ += cfg.clients;
      if (op.f === 'reserve' && type === 'info') open.push(op.value.id);
      // A failing server answers at once: do not spin on it.
      await new Promise((r) => setTimeout(r, 100));
    }
    if (cfg.thinkMs) await new Promise((r) => setTimeout(r, cfg.thinkMs));
  }
}

/**
 * The end state, read once the run is over (`"finals": true`): every
 * reservation id the run could have made (`ids`) and each account, through
 * the service as its callers see it.
 */
async function finals() {
  const [{ token }] = holders;
  const reservations = {};
  const queue = [...cfg.ids];
  // A few at a time: every request is a token check and a directory lookup on the service.
  await Promise.all(Array.from({ length: 6 }, async () => {
    for (let id = queue.shift(); id !== undefined; id = queue.shift()) {
      const { status, body } = await request('GET', `/v1/reservations/${id}`, token);
      if (status === 404) reservations[id] = null;
      else if (status === 200) reservations[id] = body;
      else throw new Error(`GET /v1/reservations/${id}: ${status} ${JSON.stringify(body)}`);
    }
  }));
  const accounts = {};
  for (const h of holders) {
    const { status, body } = await request('GET', `/v1/accounts/${h.account}/balance`, token);
    if (status !== 200) throw new Error(`GET /v1/accounts/${h.account}/balance: ${status} ${JSON.stringify(body)}`);
    accounts[h.account] = body;
  }
  return { reservations, accounts };
}

if (cfg.finals) process.stdout.write(`${JSON.stringify(await finals())}\n`);
else await run(client, { endpoints: [cfg.url] });
