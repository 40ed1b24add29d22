/** Snapshot keys and bodies, the FlareDB hash, the state document, the CAS reply, S3 error lines. */
import { describe, expect, it } from 'vitest';
import { CAS_LUA, mustReconnect, parseCasReply, switchMasterTarget } from '../../services/webapp/src/flaredb.js';
import { describeS3Error } from '../../services/webapp/src/objects.js';
import { requestLine, stamp } from '../../services/webapp/src/server.js';
import { counterOfKey, parseSnapshot, snapshotBody, snapshotKey } from '../../services/webapp/src/snapshot.js';
import { parseCounterFields, parseNodeName, stateDocument } from '../../services/webapp/src/state.js';

const INFO = { name: 'webapp-demo', bootId: 'f307e708-745e-4d49-99b6-03011a18ad66', hostname: 'webapp-demo', startedAt: '2026-11-30T10:00:00.000Z' };

describe('snapshot objects', () => {
  it('keys: zero-padded counter (sorting as numbers) and the attempt suffix', () => {
    expect(snapshotKey(1, '77c2cdad')).toBe('snapshots/0000000001-77c2cdad.json');
    expect(snapshotKey(1234567, 'deadbeef00')).toBe('snapshots/0001234567-deadbeef00.json');
    const keys = [9, 10, 100, 2].map((n) => snapshotKey(n, 'abcdef01'));
    expect([...keys].sort()).toEqual([2, 9, 10, 100].map((n) => snapshotKey(n, 'abcdef01')));
    expect(counterOfKey('snapshots/0000000042-77c2cdad.json')).toBe(42);
    expect(counterOfKey('snapshots/42-77c2cdad.json')).toBeNull();
    expect(counterOfKey('other/0000000042-77c2cdad.json')).toBeNull();
  });

  it('refuses counters and suffixes that would make a bad key', () => {
    expect(() => snapshotKey(0, '77c2cdad')).toThrow('outside 1-9999999999');
    expect(() => snapshotKey(1.5, '77c2cdad')).toThrow(RangeError);
    expect(() => snapshotKey(10_000_000_000, '77c2cdad')).toThrow(RangeError);
    expect(() => snapshotKey(1, 'XYZ')).toThrow('8-32 lowercase hex digits');
    expect(() => snapshotKey(1, '../../a')).toThrow(RangeError);
  });

  it('the body: {counter, at, node, bootId, name}, one JSON line, and back', () => {
    const s = { counter: 5, at: '2026-11-30T10:30:21.298Z', node: 'node04', bootId: INFO.bootId, name: 'webapp-demo' };
    const body = snapshotBody(s);
    expect(body).toBe(`{"counter":5,"at":"2026-11-30T10:30:21.298Z","node":"node04","bootId":"${INFO.bootId}","name":"webapp-demo"}\n`);
    expect(parseSnapshot(body)).toEqual(s);
    expect(parseSnapshot(snapshotBody({ ...s, node: null })).node).toBeNull();
    expect(() => parseSnapshot('{"counter":0}')).toThrow('bad counter');
    expect(() => parseSnapshot('{"counter":1,"at":"soon"}')).toThrow('bad at');
  });
});

describe('the counter hash', () => {
  it('missing: counter 0, no snapshot', () => {
    expect(parseCounterFields(null, null)).toEqual({ counter: 0, lastSnapshot: null });
  });
  it('set: the counter and its snapshot', () => {
    expect(parseCounterFields('12', 'snapshots/0000000012-2c3facf7.json')).toEqual({ counter: 12, lastSnapshot: 'snapshots/0000000012-2c3facf7.json' });
  });
  it('never reads garbage as a number or 0', () => {
    expect(() => parseCounterFields('abc', 'x')).toThrow(`the hash's counter field holds "abc", not a non-negative integer`);
    expect(() => parseCounterFields('-1', 'x')).toThrow('not a non-negative integer');
    expect(() => parseCounterFields('007', 'x')).toThrow('not a non-negative integer');
    expect(() => parseCounterFields('3', null)).toThrow("the hash's counter is 3 but it names no lastSnapshot");
    expect(() => parseCounterFields(null, 'snapshots/x')).toThrow('no counter');
  });
});

describe('the state document', () => {
  it('names the VM, the counter, the newest snapshot, where it runs and this process', () => {
    const doc = stateDocument(INFO, { counter: 3, lastSnapshot: 'snapshots/0000000003-1bc896c4.json' }, { node: 'node05' }, 2);
    expect(doc).toEqual({
      name: 'webapp-demo',
      counter: 3,
      lastSnapshot: 'snapshots/0000000003-1bc896c4.json',
      node: 'node05',
      bootId: INFO.bootId,
      hostname: 'webapp-demo',
      startedAt: '2026-11-30T10:00:00.000Z',
      visitsServed: 2,
    });
    expect('nodeError' in doc).toBe(false);
  });
  it('node null carries nodeError', () => {
    const doc = stateDocument(INFO, { counter: 0, lastSnapshot: null }, { node: null, nodeError: 'metadata http://10.252.0.2/node: no answer within 2 s' }, 0);
    expect(doc.node).toBeNull();
    expect(doc.nodeError).toBe('metadata http://10.252.0.2/node: no answer within 2 s');
  });
  it('the metadata answer: a node name on the first line', () => {
    expect(parseNodeName('node04\n')).toEqual({ node: 'node04' });
    expect(parseNodeName('  node05  ')).toEqual({ node: 'node05' });
    expect(parseNodeName('<html>oops</html>')).toEqual({ node: null, nodeError: 'metadata answered "<html>oops</html>", not a node name' });
    expect(parseNodeName('').node).toBeNull();
  });
});

describe('FlareDB pieces', () => {
  it('the CAS script checks the counter before it writes both fields in one go', () => {
    expect(CAS_LUA).toContain("redis.call('HGET', KEYS[1], 'counter')");
    expect(CAS_LUA.indexOf('if cur ~= ARGV[1]')).toBeLessThan(CAS_LUA.indexOf("redis.call('HSET'"));
    expect(CAS_LUA).toContain("'counter', ARGV[2], 'lastSnapshot', ARGV[3]");
  });
  it('CAS replies', () => {
    expect(parseCasReply([1, '7'])).toEqual({ applied: true });
    expect(parseCasReply([0, '8', 'snapshots/0000000008-aa.json'])).toEqual({ applied: false, current: 8, lastSnapshot: 'snapshots/0000000008-aa.json' });
    expect(() => parseCasReply('OK')).toThrow('unexpected compare-and-set reply "OK"');
    expect(() => parseCasReply([0, 'x', ''])).toThrow("the hash's counter holds");
  });
  it('+switch-master messages of our master name only', () => {
    expect(switchMasterTarget('flaredb 10.100.0.11 6379 10.100.0.12 6379', 'flaredb')).toEqual({ host: '10.100.0.12', port: 6379 });
    expect(switchMasterTarget('other 10.100.0.11 6379 10.100.0.12 6379', 'flaredb')).toBeNull();
    expect(switchMasterTarget('flaredb 10.100.0.12 6379', 'flaredb')).toBeNull();
  });
  it('only an established connection to another address is dropped', () => {
    const to = { host: '10.100.0.12', port: 6379 };
    const at = (host: string, status = 'ready', writable = true) => ({ status, stream: { remoteAddress: host, remotePort: 6379, writable } });
    expect(mustReconnect(at('10.100.0.11'), to)).toBe(true);
    expect(mustReconnect(at('10.100.0.12'), to)).toBe(false);
    expect(mustReconnect(at('10.100.0.11', 'reconnecting'), to)).toBe(false);
    expect(mustReconnect(at('10.100.0.11', 'ready', false), to)).toBe(false);
  });
});

describe('log and error lines', () => {
  it('S3 errors name what answered, or the network error', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.100.0.12:8080'), { code: 'ECONNREFUSED' });
    expect(describeS3Error(refused)).toEqual({ reason: 'ECONNREFUSED 10.100.0.12:8080', answered: false });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(describeS3Error(reset)).toEqual({ reason: 'socket hang up (ECONNRESET)', answered: false });
    const denied = Object.assign(new Error('Access Denied.'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    expect(describeS3Error(denied)).toEqual({ reason: 'HTTP 403 AccessDenied: Access Denied.', answered: true });
    const bare = Object.assign(new Error('UnknownError'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } });
    expect(describeS3Error(bare)).toEqual({ reason: 'HTTP 404 NotFound', answered: true });
  });
  it('one line per request, with the error of a failed one; timestamps for the serial console', () => {
    expect(requestLine('POST', '/visit?x=1', { status: 200, headers: {}, body: {} }, 512)).toBe('POST /visit 200 512ms');
    expect(requestLine('POST', '/visit', { status: 503, headers: {}, body: {}, error: 'lightningstor: PutObject ...' }, 9)).toBe('POST /visit 503 9ms (lightningstor: PutObject ...)');
    expect(requestLine('POST', '/visit', { status: 200, headers: {}, body: {}, timing: 'node 3ms read 5ms put 300ms cas+wait 20ms' }, 330)).toBe(
      'POST /visit 200 330ms [node 3ms read 5ms put 300ms cas+wait 20ms]',
    );
    expect(stamp('hello', new Date('2026-11-30T10:00:00Z'))).toBe('2026-11-30T10:00:00.000Z webapp: hello');
  });
});
