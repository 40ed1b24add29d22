#!/usr/bin/env node
/**
 * A bounded register workload on flaredb (Redis with Sentinel), run on a
 * node outside the Redis set: several concurrent clients, each asking one
 * Sentinel, read and write a few keys under a fresh prefix, and every
 * operation is recorded as invoke / ok / fail / info with one monotonic
 * clock (harness/consistency/history.ts reads it). It stops by itself at its
 * time or operation limit, or once its stop file exists, and prints the
 * history as one JSON document on stdout.
 *
 * Plain Node (18+), no dependencies (a small RESP client below): the
 * harness copies this file and recorder.mjs to the node instead of
 * bundling them.
 *
 * Each operation asks its client's Sentinel for the primary (as a
 * Sentinel-aware client does), then opens one connection to it:
 * - read: GET. Any error is a fail (a read changes nothing).
 * - write: SET with a value no other write uses, then WAIT for `replicas`
 *   acknowledgements for at most `waitMs`. ok only when WAIT counted
 *   enough replicas ("acknowledged": the write is on that many replicas).
 *   SET answered OK but WAIT counted fewer: info (applied on that primary,
 *   on no replica yet: it may be lost). Refused before it was applied (no
 *   primary known, connection refused, an error reply such as READONLY):
 *   fail. Any other error (timeout, reset) is info. A client that saw info
 *   goes on as a new process, as in Jepsen.
 *
 *   node redis-registers.mjs '{"sentinels":["10.0.0.11:26379"],"master":"flaredb",
 *     "passwordFile":"/run/ultracloud/secret","clients":6,"keys":6,"timeLimitS":60,
 *     "opLimit":4000,"opTimeoutMs":3000,"replicas":1,"waitMs":1000,
 *     "prefix":"ultracloud-faults:run1","seed":1}'
 *
 * "stopFile": a path; the clients stop once it exists. "startedFile": a
 * path the script writes once its clients begin. "thinkMs": each
 * client waits this long between operations (0: none).
 */
import fs from 'node:fs';
import net from 'node:net';
import { startRecorder } from './recorder.mjs';

const { cfg, events, now, rand, another, run } = startRecorder('redis-registers', ['sentinels', 'master', 'passwordFile', 'clients', 'keys', 'timeLimitS', 'opLimit', 'opTimeoutMs', 'replicas', 'waitMs', 'prefix']);
const password = fs.readFileSync(cfg.passwordFile, 'utf8').trim();

/** A reply the server sent as an error (-ERR, -READONLY ...): it refused the command. */
class ReplyError extends Error {}

/** One RESP reply from the start of `buf`: [value, bytes used], or undefined while incomplete. */
function parseReply(buf, at = 0) {
  const eol = buf.indexOf('\r\n', at);
  if (eol < 0) return undefined;
  const type = String.fromCharCode(buf[at]);
  const line = buf.toString('utf8', at + 1, eol);
  const next = eol + 2;
  if (type === '+') return [line, next];
  if (type === '-') return [new ReplyError(line), next];
  if (type === ':') return [Number(line), next];
  if (type === '$') {
    const n = Number(line);
    if (n < 0) return [null, next];
    if (buf.length < next + n + 2) return undefined;
    return [buf.toString('utf8', next, next + n), next + n + 2];
  }
  if (type === '*') {
    const n = Number(line);
    if (n < 0) return [null, next];
    const items = [];
    let pos = next;
    for (let i = 0; i < n; i++) {
      const r = parseReply(buf, pos);
      if (!r) return undefined;
      items.push(r[0]);
      pos = r[1];
    }
    return [items, pos];
  }
  throw new Error(`RESP: unexpected type byte ${JSON.stringify(type)}`);
}

const encode = (args) => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`;

/**
 * Sends `commands` on one fresh connection to `endpoint` and resolves with
 * their replies in order; `onReply(i, reply)` sees each as it comes (so the
 * caller knows how far it got). Ends at `deadline` (performance.now() ms)
 * with a TimeoutError. A connection of its own: nothing stuck on a
 * partitioned node holds up another operation.
 */
function converse(endpoint, commands, deadline, onReply = () => {}) {
  const [host, port] = endpoint.split(':');
  return new Promise((resolve, reject) => {
    const replies = [];
    let buf = Buffer.alloc(0);
    let timedOut = false;
    const sock = net.connect({ host, port: Number(port) });
    const timer = setTimeout(() => {
      timedOut = true;
      sock.destroy();
    }, Math.max(0, deadline - performance.now()));
    const done = (err) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(replies);
    };
    sock.on('connect', () => sock.write(commands.map(encode).join('')));
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        const r = parseReply(buf);
        if (!r) break;
        buf = buf.subarray(r[1]);
        onReply(replies.length, r[0]);
        replies.push(r[0]);
        if (replies.length === commands.length) return done();
      }
    });
    sock.on('error', (e) => done(timedOut ? Object.assign(new Error('timeout'), { name: 'TimeoutError' }) : e));
    sock.on('close', () => done(timedOut ? Object.assign(new Error('timeout'), { name: 'TimeoutError' }) : Object.assign(new Error(`connection closed after ${replies.length} of ${commands.length} replies`), { code: 'ECLOSED' })));
  });
}

/** The primary this client's Sentinel names now, host:port (a fail when it names none). */
async function primaryOf(sentinel, deadline) {
  const [addr] = await converse(sentinel, [['SENTINEL', 'get-master-addr-by-name', cfg.master]], deadline);
  if (addr instanceof ReplyError) throw addr;
  if (!Array.isArray(addr) || addr.length !== 2) throw new ReplyError(`Sentinel ${sentinel} names no primary for ${cfg.master}`);
  return `${addr[0]}:${addr[1]}`;
}

const keyName = (k) => `${cfg.prefix}:${k}`;

async function client(index) {
  const sentinel = cfg.sentinels[index % cfg.sentinels.length];
  let process_ = index;
  let writes = 0;
  while (another()) {
    const key = `r${Math.floor(rand() * cfg.keys)}`;
    const f = rand() < 0.5 ? 'read' : 'write';
    // Unique per write (client index, its count): a read names the one write it saw.
    const value = f === 'write' ? index * 1_000_000 + ++writes : undefined;
    events.push({ process: process_, type: 'invoke', f, key, value, time: now(), endpoint: sentinel });
    const deadline = performance.now() + cfg.opTimeoutMs;
    // What the server did with the SET: 'unsent' until it is written, 'applied' once it answered OK.
    let set = 'unsent';
    let primary;
    try {
      primary = await primaryOf(sentinel, deadline);
      if (f === 'read') {
        const [, got] = await converse(primary, [['AUTH', password], ['GET', keyName(key)]], deadline);
        if (got instanceof ReplyError) throw got;
        events.push({ process: process_, type: 'ok', f, key, value: got === null ? null : Number(got), time: now(), primary });
      } else {
        set = 'sent';
        const [auth, ok, acked] = await converse(primary, [['AUTH', password], ['SET', keyName(key), value, 'PX', 3_600_000], ['WAIT', cfg.replicas, cfg.waitMs]], deadline, (i, r) => {
          if (i === 0 && r instanceof ReplyError) set = 'refused';
          if (i === 1) set = r instanceof ReplyError ? 'refused' : 'applied';
        });
        if (auth instanceof ReplyError || ok instanceof ReplyError) throw auth instanceof ReplyError ? auth : ok;
        if (acked >= cfg.replicas) events.push({ process: process_, type: 'ok', f, key, time: now(), primary, acked });
        else {
          events.push({ process: process_, type: 'info', f, key, time: now(), primary, acked, error: `applied on ${primary}, WAIT counted ${acked} of ${cfg.replicas} replicas in ${cfg.waitMs} ms` });
          process_ += cfg.clients;
        }
      }
    } catch (e) {
      const code = e?.code ?? '';
      const refused = e instanceof ReplyError || code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
      // A write whose SET was never sent (the Sentinel query failed) or was refused did not happen.
      const type = f === 'read' || set === 'unsent' || set === 'refused' || (refused && set !== 'applied') ? 'fail' : 'info';
      const error = `${e?.name === 'TimeoutError' ? 'timeout' : e?.message ?? e}${code ? ` (${code})` : ''}`;
      events.push({ process: process_, type, f, key, time: now(), error, ...(primary ? { primary } : {}) });
      if (type === 'info') process_ += cfg.clients;
      // A failing server answers at once: do not spin on it.
      await new Promise((r) => setTimeout(r, 100));
    }
    if (cfg.thinkMs) await new Promise((r) => setTimeout(r, cfg.thinkMs));
  }
}

await run(client, { endpoints: cfg.sentinels });
