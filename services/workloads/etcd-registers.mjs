#!/usr/bin/env node
/**
 * A bounded register workload on chainfire (etcd's v3 JSON gateway), run on
 * a node outside the quorum: several concurrent clients, each bound to one
 * member, do reads, writes and compare-and-sets on a few keys under a fresh
 * prefix, and every operation is recorded as invoke / ok / fail / info with
 * one monotonic clock (harness/consistency/history.ts reads it). It stops by
 * itself at its time or operation limit and prints the history as one JSON
 * document on stdout.
 *
 * Plain Node (18+), no dependencies: the harness copies this file and
 * recorder.mjs (the clock, limits and output it shares with the other
 * workloads) to the node instead of bundling them.
 *
 * Outcomes: a read that errs is a fail (a read changes nothing); a write or
 * cas refused before it was sent (connection refused) is a fail; any other
 * error (timeout, reset, an etcd error such as "request timed out") is info:
 * it may have happened. A client that saw info goes on as a new process.
 *
 *   node etcd-registers.mjs '{"endpoints":["10.0.0.11:2379"],"clients":5,
 *     "keys":3,"timeLimitS":40,"opLimit":2000,"opTimeoutMs":1500,
 *     "serializable":false,"prefix":"/uc-faults/run1","seed":1}'
 *
 * "serializable": true reads every member's local state (no quorum: stale
 * under a partition, on purpose); a list of endpoints does so through those
 * only. "stopFile": a path; the clients stop once it exists (the harness
 * ends the run when what it waits for is done; the limits still bound it).
 * "startedFile": a path the script writes once its clients begin.
 */
import { httpRequest, startRecorder } from './recorder.mjs';

const { cfg, events, now, rand, another, run } = startRecorder('etcd-registers', ['endpoints', 'clients', 'keys', 'timeLimitS', 'opLimit', 'opTimeoutMs', 'prefix']);
const b64 = (s) => Buffer.from(String(s)).toString('base64');
const unb64 = (s) => Buffer.from(s, 'base64').toString();
const keyName = (k) => `${cfg.prefix}/r${k}`;

/** One POST to a member's JSON gateway: its answer, or an error naming the status and etcd's message. */
async function post(endpoint, path, body) {
  const res = await httpRequest(`http://${endpoint}/v3/${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), timeoutMs: cfg.opTimeoutMs });
  let json;
  try {
    json = JSON.parse(res.text);
  } catch {
    throw new Error(`HTTP ${res.status}: not JSON: ${res.text.slice(0, 200)}`);
  }
  if (res.status !== 200 || json.error !== undefined || json.code !== undefined) throw new Error(`HTTP ${res.status}: ${json.message ?? json.error ?? res.text.slice(0, 200)}`);
  return json;
}

const ops = {
  async read(endpoint, key) {
    const serializable = Array.isArray(cfg.serializable) ? cfg.serializable.includes(endpoint) : !!cfg.serializable;
    const j = await post(endpoint, 'kv/range', { key: b64(keyName(key)), serializable });
    const kv = j.kvs?.[0];
    return kv ? Number(unb64(kv.value ?? '')) : null;
  },
  async write(endpoint, key, value) {
    await post(endpoint, 'kv/put', { key: b64(keyName(key)), value: b64(value) });
    return undefined;
  },
  async cas(endpoint, key, [from, to]) {
    const j = await post(endpoint, 'kv/txn', {
      compare: [{ key: b64(keyName(key)), target: 'VALUE', result: 'EQUAL', value: b64(from) }],
      success: [{ request_put: { key: b64(keyName(key)), value: b64(to) } }],
    });
    // proto3 JSON leaves a false field out.
    return j.succeeded === true;
  },
};

function refusedBeforeSending(e) {
  const code = e?.cause?.code ?? e?.code;
  return code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
}

async function client(index) {
  const endpoint = cfg.endpoints[index % cfg.endpoints.length];
  let process_ = index;
  while (another()) {
    const key = `r${Math.floor(rand() * cfg.keys)}`;
    const k = Number(key.slice(1));
    const dice = rand();
    const f = dice < 0.5 ? 'read' : dice < 0.8 ? 'write' : 'cas';
    const value = f === 'read' ? undefined : f === 'write' ? Math.floor(rand() * 5) : [Math.floor(rand() * 5), Math.floor(rand() * 5)];
    events.push({ process: process_, type: 'invoke', f, key, value, time: now(), endpoint });
    try {
      const out = await ops[f](endpoint, k, value);
      events.push({ process: process_, type: 'ok', f, key, value: out, time: now() });
    } catch (e) {
      const error = `${e?.name === 'TimeoutError' ? 'timeout' : e?.message ?? e}${e?.cause?.code ? ` (${e.cause.code})` : ''}`;
      const type = f === 'read' || refusedBeforeSending(e) ? 'fail' : 'info';
      events.push({ process: process_, type, f, key, time: now(), error });
      if (type === 'info') process_ += cfg.clients;
      // A failing member answers at once: do not spin on it.
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

await run(client, { endpoints: cfg.endpoints, serializable: cfg.serializable ?? false });
