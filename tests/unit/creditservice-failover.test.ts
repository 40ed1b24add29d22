/**
 * creditservice across flaredb failovers, without a Redis: RedisLedger
 * replaces a client that ioredis gave up on (status `end`), and
 * watchFailovers() drops only an established connection to a replaced
 * primary. creditservice-sentinel.test.ts runs the same on real binaries.
 */
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { loadConfig, type HostPort } from '../../services/creditservice/src/config.js';
import { UnavailableError } from '../../services/creditservice/src/errors.js';
import {
  RedisLedger,
  SWITCH_MASTER,
  mustReconnect,
  switchMasterTarget,
  watchFailovers,
  type ReplicationWait,
  type SentinelSubscriber,
  type WatchedClient,
} from '../../services/creditservice/src/redis-ledger.js';
import { rejection } from '../../services/creditservice/src/testing.js';

/** Just enough of an ioredis client for RedisLedger: PING, HGETALL, the defined scripts, `end`. */
class FakeRedis extends EventEmitter {
  status = 'ready';
  readonly defined: string[] = [];
  disconnected = false;
  constructor(readonly n: number) {
    super();
  }
  defineCommand(name: string): void {
    this.defined.push(name);
    (this as unknown as Record<string, unknown>)[name] = async () => {
      if (this.status === 'end') throw new Error('Connection is closed.');
      return [7, 2]; // creditSetBalance's reply: balance, reserved
    };
  }
  async ping(): Promise<string> {
    if (this.status === 'end') throw new Error('Connection is closed.');
    return 'PONG';
  }
  async hgetall(): Promise<Record<string, string>> {
    if (this.status === 'end') throw new Error('Connection is closed.');
    return { balance: String(this.n), reserved: '0' };
  }
  /** What ioredis does once it has given up: status `end`, then the event. */
  end(): void {
    this.status = 'end';
    this.emit('end');
  }
  disconnect(): void {
    this.disconnected = true;
    this.end();
  }
  /** WAIT's answer; `duringWait` runs before it (a reconnect, say). */
  replicasCounted = 1;
  duringWait = () => {};
  readonly waits: [number, number][] = [];
  async wait(replicas: number, timeoutMs: number): Promise<number> {
    this.waits.push([replicas, timeoutMs]);
    this.duringWait();
    return this.replicasCounted;
  }
}

function fakeLedger(wait?: ReplicationWait) {
  const clients: FakeRedis[] = [];
  const logs: string[] = [];
  const ledger = new RedisLedger(
    () => {
      const c = new FakeRedis(clients.length + 1);
      clients.push(c);
      return c as unknown as Redis;
    },
    (line) => logs.push(line),
    wait,
  );
  return { ledger, clients, logs };
}

describe('creditservice RedisLedger: a client that reached end is replaced', () => {
  it('uses a fresh client, with the Lua commands defined again, after end', async () => {
    const { ledger, clients, logs } = fakeLedger();
    const scripts = ['creditReserve', 'creditSettle', 'creditSetBalance', 'creditMeter', 'creditUnmeter'];
    expect(clients).toHaveLength(1);
    expect(clients[0]!.defined).toEqual(scripts);
    expect(await ledger.getAccount('acct-a')).toEqual({ account: 'acct-a', balance: 1, reserved: 0 });

    clients[0]!.end();
    expect(clients).toHaveLength(2);
    expect(clients[1]!.defined).toEqual(scripts);
    expect(ledger.client).toBe(clients[1]);
    expect(logs).toEqual(['redis: the client closed for good (ioredis status end); starting a new one']);
    await ledger.ping();
    expect(await ledger.getAccount('acct-a')).toEqual({ account: 'acct-a', balance: 2, reserved: 0 });
    expect(await ledger.setBalance('acct-a', 7)).toEqual({ account: 'acct-a', balance: 7, reserved: 2 });
  });

  it('any number of times: one new client and one log line per end', async () => {
    const { ledger, clients, logs } = fakeLedger();
    for (let i = 0; i < 10; i++) ledger.client.emit('end');
    expect(clients).toHaveLength(11);
    expect(logs).toHaveLength(10);
    expect(ledger.client).toBe(clients[10]);
    expect((await ledger.getAccount('acct-a')).balance).toBe(11);
  });

  it('an end from a client already replaced changes nothing', () => {
    const { clients } = fakeLedger();
    const first = clients[0]!;
    first.end();
    first.emit('end'); // once() already fired; a stray second event
    expect(clients).toHaveLength(2);
  });

  it('after close() (shutdown) an end starts nothing', async () => {
    const { ledger, clients, logs } = fakeLedger();
    ledger.close();
    expect(clients[0]!.disconnected).toBe(true);
    expect(clients).toHaveLength(1);
    expect(logs).toEqual([]);
    const e = await rejection(ledger.ping());
    expect(e).toBeInstanceOf(UnavailableError);
    expect(e.message).toBe('ledger unavailable: Connection is closed.');
  });

  it('with a real ioredis client that gives up (no sentinel answers, no retry)', async () => {
    // A port nobody listens on: take one, close it.
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const made: Redis[] = [];
    const logs: string[] = [];
    const ledger = new RedisLedger(
      () => {
        // The first three end at once (sentinelRetryStrategy null is ioredis'
        // way to give up); the fourth waits, lazily, for a first command.
        const r =
          made.length < 3
            ? new Redis({ sentinels: [{ host: '127.0.0.1', port }], name: 'flaredb', sentinelRetryStrategy: () => null })
            : new Redis({ host: '127.0.0.1', port, lazyConnect: true });
        r.on('error', () => {});
        made.push(r);
        return r;
      },
      (line) => logs.push(line),
    );
    try {
      const deadline = Date.now() + 10_000;
      while (made.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(made.slice(0, 3).map((r) => r.status)).toEqual(['end', 'end', 'end']);
      expect(ledger.client).toBe(made[3]);
      expect(ledger.client.status).toBe('wait');
      expect(logs).toHaveLength(3);
    } finally {
      ledger.close();
    }
  });
});

describe('creditservice RedisLedger: a change is acknowledged once replicated (WAIT)', () => {
  it('WAITs on the same client after a change; fewer replicas than asked is 503, outcome unknown', async () => {
    const { ledger, clients } = fakeLedger({ replicas: 2, timeoutMs: 700 });
    const c = clients[0]!;
    c.replicasCounted = 2;
    expect(await ledger.setBalance('acct-a', 7)).toEqual({ account: 'acct-a', balance: 7, reserved: 2 });
    expect(c.waits).toEqual([[2, 700]]);
    await ledger.getAccount('acct-a'); // reads need no WAIT
    expect(c.waits).toHaveLength(1);
    c.replicasCounted = 1;
    const e = await rejection(ledger.setBalance('acct-a', 7));
    expect(e).toBeInstanceOf(UnavailableError);
    expect(e.message).toBe(
      'ledger unavailable: not replicated: WAIT counted 1 of 2 replicas within 700 ms; the change may or may not survive a failover',
    );
  });

  it('a connection made between the change and WAIT\'s answer is "not replicated" (its WAIT would count writes it never made)', async () => {
    const { ledger, clients } = fakeLedger({ replicas: 1, timeoutMs: 1000 });
    const c = clients[0]!;
    c.emit('connect'); // the first connection: before the change, fine
    expect((await ledger.setBalance('acct-a', 7)).balance).toBe(7);
    c.duringWait = () => c.emit('connect'); // a reconnect (same client)
    const e = await rejection(ledger.setBalance('acct-a', 7));
    expect(e.message).toBe(
      'ledger unavailable: not replicated: the connection to flaredb changed before WAIT answered; the change may or may not survive a failover',
    );
  });

  it('no WAIT with 0 replicas (and by default)', async () => {
    for (const wait of [{ replicas: 0, timeoutMs: 1000 }, undefined]) {
      const { ledger, clients } = fakeLedger(wait);
      clients[0]!.replicasCounted = 0;
      expect((await ledger.setBalance('acct-a', 7)).balance).toBe(7);
      expect(clients[0]!.waits).toEqual([]);
    }
  });
});

describe('creditservice failover watcher', () => {
  const to: HostPort = { host: '10.100.0.13', port: 6379 };
  const client = (status: string, remoteAddress?: string, remotePort?: number, writable = true): WatchedClient & { drops: number } => {
    const c = {
      status,
      stream: remoteAddress === undefined ? undefined : { remoteAddress, remotePort, writable },
      drops: 0,
      disconnect(reconnect?: boolean) {
        expect(reconnect).toBe(true);
        c.drops++;
      },
    };
    return c;
  };

  it('reads +switch-master for its own master only', () => {
    expect(switchMasterTarget('flaredb 10.100.0.12 6379 10.100.0.13 6379', 'flaredb')).toEqual(to);
    expect(switchMasterTarget('other 10.100.0.12 6379 10.100.0.13 6379', 'flaredb')).toBeNull();
    expect(switchMasterTarget('flaredb 10.100.0.12 6379', 'flaredb')).toBeNull();
    expect(switchMasterTarget('flaredb 10.100.0.12 6379 10.100.0.13 x', 'flaredb')).toBeNull();
  });

  it('drops only an established connection to another address', () => {
    expect(mustReconnect(client('ready', '10.100.0.12', 6379), to)).toBe(true);
    expect(mustReconnect(client('connect', '10.100.0.12', 6379), to)).toBe(true);
    expect(mustReconnect(client('ready', '10.100.0.13', 6380), to)).toBe(true);
    // already on the new primary
    expect(mustReconnect(client('ready', '10.100.0.13', 6379), to)).toBe(false);
    // asking the sentinels already: interrupting that is what ends an ioredis client
    for (const status of ['connecting', 'reconnecting', 'close', 'wait', 'end']) {
      expect(mustReconnect(client(status, '10.100.0.12', 6379), to), status).toBe(false);
    }
    // being closed already (a second sentinel reporting the same switch)
    expect(mustReconnect(client('ready', '10.100.0.12', 6379, false), to)).toBe(false);
  });

  class FakeSubscriber extends EventEmitter implements SentinelSubscriber {
    channels: string[] = [];
    disconnected = false;
    async subscribe(channel: string): Promise<unknown> {
      this.channels.push(channel);
      return 1;
    }
    disconnect(): void {
      this.disconnected = true;
    }
  }

  it('subscribes on every sentinel and reconnects the current client on a switch', () => {
    const config = loadConfig({}, () => 'cafe');
    const subs = new Map<string, FakeSubscriber>();
    let current = client('ready', '10.100.0.12', 6379);
    const logs: string[] = [];
    const w = watchFailovers(
      config,
      () => current,
      (l) => logs.push(l),
      (s) => {
        const sub = new FakeSubscriber();
        subs.set(`${s.host}:${s.port}`, sub);
        return sub;
      },
    );
    expect([...subs.keys()]).toEqual(['10.100.0.11:26379', '10.100.0.12:26379', '10.100.0.13:26379']);
    for (const s of subs.values()) expect(s.channels).toEqual([SWITCH_MASTER]);

    const s1 = subs.get('10.100.0.11:26379')!;
    s1.emit('message', SWITCH_MASTER, 'other 10.100.0.12 6379 10.100.0.13 6379');
    s1.emit('message', '+sdown', 'flaredb 10.100.0.12 6379 10.100.0.13 6379');
    expect(current.drops).toBe(0);
    s1.emit('message', SWITCH_MASTER, 'flaredb 10.100.0.12 6379 10.100.0.13 6379');
    expect(current.drops).toBe(1);
    expect(logs).toEqual(['redis: sentinel 10.100.0.11:26379 switched flaredb to 10.100.0.13:6379: reconnecting']);

    // The ledger may have replaced its client meanwhile: the watcher asks for the current one.
    current = client('reconnecting', '10.100.0.12', 6379);
    subs.get('10.100.0.13:26379')!.emit('message', SWITCH_MASTER, 'flaredb 10.100.0.12 6379 10.100.0.13 6379');
    expect(current.drops).toBe(0);

    // A subscriber's errors are logged, not thrown.
    s1.emit('error', new Error('connect ECONNREFUSED 10.100.0.11:26379'));
    expect(logs.at(-1)).toBe('sentinel subscriber: connect ECONNREFUSED 10.100.0.11:26379');

    w.close();
    for (const s of subs.values()) expect(s.disconnected).toBe(true);
  });
});
