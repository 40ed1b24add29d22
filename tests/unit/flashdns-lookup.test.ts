/**
 * flashdns lookups read the reply's status, so "record gone" can tell a
 * server that says "no such name" from one that is broken: the parser fed
 * dig 9.18's real output (`+nocmd +noall +comments +answer`, as Debian 12's
 * bind9-dnsutils prints it for each status, and for no reply), and the
 * "gone" wait fed servers that answer each way.
 */
import { describe, expect, it } from 'vitest';
import { describeLookup, expectRecordServed, goneVerdict, waitRecordGone } from '../../fixtures/dns.js';
import { CommandError, NodeError, WaitTimeoutError } from '../../harness/errors.js';
import type { Node } from '../../harness/remote/node.js';
import type { DnsLookup } from '../../stacks/contracts.js';
import { flashdnsOps, parseDig } from '../../stacks/reference/flashdns/index.js';

/** The reply header dig prints for `status` (PowerDNS: authoritative, no recursion, EDNS). */
function header(status: string, answers: number): string {
  return [
    ';; Got answer:',
    `;; ->>HEADER<<- opcode: QUERY, status: ${status}, id: 46419`,
    `;; flags: qr aa rd; QUERY: 1, ANSWER: ${answers}, AUTHORITY: ${answers || status !== 'NOERROR' ? 0 : 1}, ADDITIONAL: 1`,
    ';; WARNING: recursion requested but not available',
    '',
    ';; OPT PSEUDOSECTION:',
    '; EDNS: version: 0, flags:; udp: 1232',
  ].join('\n');
}

const DIG = {
  one: `${header('NOERROR', 1)}\n;; ANSWER SECTION:\nmatrix-lb.ultracloud.test.\t60\tIN\tA\t10.100.0.241\n\n`,
  two: `${header('NOERROR', 2)}\n;; ANSWER SECTION:\nmatrix-lb.ultracloud.test.\t60\tIN\tA\t10.100.0.241\nmatrix-lb.ultracloud.test.\t60\tIN\tA\t10.100.0.242\n\n`,
  txt: `${header('NOERROR', 1)}\n;; ANSWER SECTION:\ndown-1.ultracloud.test.\t60\tIN\tTXT\t"while down"\n\n`,
  soa: `${header('NOERROR', 1)}\n;; ANSWER SECTION:\nultracloud.test.\t3600\tIN\tSOA\tns1.ultracloud.test. hostmaster.ultracloud.test. 3 30 15 604800 60\n\n`,
  empty: `${header('NOERROR', 0)}\n`,
  nxdomain: `${header('NXDOMAIN', 0)}\n`,
  servfail: `${header('SERVFAIL', 0)}\n`,
  refused: `${header('REFUSED', 0)}\n`,
  // dig exits 9 after these: no reply within +time x +tries, or the port unreachable.
  timeout: ';; communications error to 10.100.0.12#53: timed out\n;; communications error to 10.100.0.12#53: timed out\n;; no servers could be reached\n',
  unreachable: ';; communications error to 10.100.0.12#53: connection refused\n;; communications error to 10.100.0.12#53: connection refused\n;; no servers could be reached\n',
};

describe('parseDig: the status and the answer records, never just "no lines"', () => {
  it('reads NOERROR with its records', () => {
    expect(parseDig(DIG.one)).toEqual({ status: 'NOERROR', answers: [{ name: 'matrix-lb.ultracloud.test.', ttl: 60, type: 'A', data: '10.100.0.241' }] });
    expect(parseDig(DIG.two).answers.map((a) => a.data)).toEqual(['10.100.0.241', '10.100.0.242']);
    expect(parseDig(DIG.txt).answers).toEqual([{ name: 'down-1.ultracloud.test.', ttl: 60, type: 'TXT', data: '"while down"' }]);
    expect(parseDig(DIG.soa).answers[0].data).toBe('ns1.ultracloud.test. hostmaster.ultracloud.test. 3 30 15 604800 60');
  });

  it('tells NOERROR without a record, NXDOMAIN, SERVFAIL and REFUSED apart, where `dig +short` printed nothing for each', () => {
    expect(parseDig(DIG.empty)).toEqual({ status: 'NOERROR', answers: [] });
    expect(parseDig(DIG.nxdomain)).toEqual({ status: 'NXDOMAIN', answers: [] });
    expect(parseDig(DIG.servfail)).toEqual({ status: 'SERVFAIL', answers: [] });
    expect(parseDig(DIG.refused)).toEqual({ status: 'REFUSED', answers: [] });
  });

  it('makes no reply its own status, saying what dig saw', () => {
    expect(parseDig(DIG.timeout)).toEqual({ status: 'NO_REPLY', answers: [], detail: 'communications error to 10.100.0.12#53: timed out; communications error to 10.100.0.12#53: timed out; no servers could be reached' });
    expect(parseDig(DIG.unreachable).status).toBe('NO_REPLY');
  });

  it('refuses output it cannot read instead of calling it empty', () => {
    expect(() => parseDig('')).toThrow(/neither a reply header nor/);
    expect(() => parseDig("dig: couldn't get address for 'nowhere': not found\n")).toThrow(/neither a reply header nor/);
    expect(() => parseDig(`${header('NOERROR', 1)}\n;; ANSWER SECTION:\ngarbage\n`)).toThrow(/answer record it could not read: garbage/);
    expect(() => parseDig(header('RESERVED11', 0))).toThrow(/unknown status RESERVED11/);
  });
});

/** A client node whose dig prints `stdout` and exits `code`; records the commands. */
function digNode(stdout: string, code: number, seen: string[] = []): Node {
  const execute = async (cmd: string) => {
    seen.push(cmd);
    return { stdout, stderr: '', code, timedOut: false };
  };
  return { name: 'node06', execute } as unknown as Node;
}

describe('the reference flashdns lookup and query', () => {
  it('asks dig for the header and the answer section, and passes no reply through as NO_REPLY', async () => {
    const cmds: string[] = [];
    expect(await flashdnsOps.lookup(digNode(DIG.one, 0, cmds), '10.100.0.12', 'matrix-lb.ultracloud.test.', 'A')).toMatchObject({ status: 'NOERROR' });
    expect(cmds[0]).toBe('dig +nocmd +noall +comments +answer +time=5 +tries=2 +notcp @10.100.0.12 matrix-lb.ultracloud.test. A');
    expect(await flashdnsOps.lookup(digNode(DIG.timeout, 9), '10.100.0.12', 'x.ultracloud.test.', 'A', 'tcp')).toMatchObject({ status: 'NO_REPLY' });
  });

  it('throws when dig itself fails (a usage error is no answer)', async () => {
    await expect(flashdnsOps.lookup(digNode('', 10), '10.100.0.12', 'bad..name', 'A')).rejects.toBeInstanceOf(CommandError);
  });

  it('query keeps the +short lines, empty only for NXDOMAIN or no record, and throws naming any other status', async () => {
    expect(await flashdnsOps.query(digNode(DIG.txt, 0), '10.100.0.13', 'down-1.ultracloud.test.', 'TXT', 'udp')).toEqual(['while down']);
    expect(await flashdnsOps.query(digNode(DIG.nxdomain, 0), '10.100.0.13', 'x.ultracloud.test.', 'A', 'udp')).toEqual([]);
    expect(await flashdnsOps.query(digNode(DIG.empty, 0), '10.100.0.13', 'x.ultracloud.test.', 'A', 'udp')).toEqual([]);
    await expect(flashdnsOps.query(digNode(DIG.servfail, 0), '10.100.0.13', 'x.ultracloud.test.', 'A', 'udp')).rejects.toThrow(/10\.100\.0\.13 answered SERVFAIL for x\.ultracloud\.test\. A/);
    await expect(flashdnsOps.query(digNode(DIG.timeout, 9), '10.100.0.13', 'x.ultracloud.test.', 'A', 'udp')).rejects.toThrow(/answered NO_REPLY[\s\S]*timed out/);
  });
});

const FQDN = 'matrix-lb.ultracloud.test.';
const SERVERS = [
  { name: 'node01', clusterIp: '10.100.0.11' },
  { name: 'node02', clusterIp: '10.100.0.12' },
  { name: 'node03', clusterIp: '10.100.0.13' },
];
/** flashdns whose servers each answer the parse of `outputs[ip]`. */
function servers(outputs: Record<string, string>, asked: string[] = []) {
  return {
    async lookup(_via: Node, ip: string): Promise<DnsLookup> {
      asked.push(ip);
      return parseDig(outputs[ip]);
    },
  };
}
const via = {} as Node;

describe('"record gone": NXDOMAIN or no record from each server, anything else fails naming it', () => {
  it('judges one answer', () => {
    expect(goneVerdict('node02', FQDN, 'A', parseDig(DIG.nxdomain))).toEqual({ ok: true, seen: 'NXDOMAIN' });
    expect(goneVerdict('node02', FQDN, 'A', parseDig(DIG.empty))).toEqual({ ok: true, seen: 'NOERROR (no record)' });
    expect(goneVerdict('node02', FQDN, 'A', parseDig(DIG.one))).toEqual({ ok: false, seen: 'NOERROR 10.100.0.241' });
    const broken = goneVerdict('node02', FQDN, 'A', parseDig(DIG.servfail));
    expect(broken.ok).toBe(false);
    expect(broken.fail?.message).toMatch(/^node02: answered SERVFAIL for matrix-lb\.ultracloud\.test\. A: the server could not read its zone.*not the record gone/);
    expect(goneVerdict('node03', FQDN, 'A', parseDig(DIG.refused)).fail?.message).toMatch(/^node03: answered REFUSED .*does not serve the zone/);
    expect(goneVerdict('node03', FQDN, 'A', parseDig(DIG.timeout)).fail?.message).toMatch(/^node03: answered NO_REPLY .*sent no reply/);
  });

  it('passes when every server says the name is gone', async () => {
    const asked: string[] = [];
    const dns = servers({ '10.100.0.11': DIG.nxdomain, '10.100.0.12': DIG.empty, '10.100.0.13': DIG.nxdomain }, asked);
    await waitRecordGone(dns, via, SERVERS, FQDN, 'A', { timeoutMs: 5000 });
    expect(asked).toEqual(['10.100.0.11', '10.100.0.12', '10.100.0.13']);
  });

  for (const status of ['servfail', 'refused', 'timeout'] as const) {
    it(`fails at once, not at the deadline, when a secondary answers ${status}`, async () => {
      const dns = servers({ '10.100.0.11': DIG.nxdomain, '10.100.0.12': DIG[status], '10.100.0.13': DIG.nxdomain });
      const started = Date.now();
      const e = await waitRecordGone(dns, via, SERVERS, FQDN, 'A', { timeoutMs: 60_000 }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(Date.now() - started).toBeLessThan(1000);
      expect(e).toBeInstanceOf(NodeError);
      expect(e).not.toBeInstanceOf(WaitTimeoutError);
      expect((e as NodeError).node).toBe('node02');
      expect((e as Error).message).toContain(`answered ${status === 'timeout' ? 'NO_REPLY' : status.toUpperCase()} for ${FQDN} A`);
    });
  }

  it('runs out at the deadline while a server still serves the record, showing it', async () => {
    const dns = servers({ '10.100.0.11': DIG.one });
    const e = await waitRecordGone(dns, via, SERVERS, FQDN, 'A', { timeoutMs: 300 }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e).toBeInstanceOf(WaitTimeoutError);
    expect((e as Error).message).toMatch(/^node01: matrix-lb\.ultracloud\.test\. gone from node01: not within 0s[\s\S]*last seen: NOERROR 10\.100\.0\.241/);
  });
});

describe('"record served" before a delete: NOERROR with the one record from each server', () => {
  it('passes only when each serves it, naming the first that does not and its status', async () => {
    await expectRecordServed(servers({ '10.100.0.11': DIG.one, '10.100.0.12': DIG.one, '10.100.0.13': DIG.one }), via, SERVERS, FQDN, 'A', '10.100.0.241', 'right before the delete');
    await expect(
      expectRecordServed(servers({ '10.100.0.11': DIG.one, '10.100.0.12': DIG.servfail, '10.100.0.13': DIG.one }), via, SERVERS, FQDN, 'A', '10.100.0.241', 'right before the delete'),
    ).rejects.toThrow(/^node02: does not serve matrix-lb\.ultracloud\.test\. A 10\.100\.0\.241 right before the delete[\s\S]*last seen: SERVFAIL/);
    await expect(
      expectRecordServed(servers({ '10.100.0.11': DIG.nxdomain }), via, SERVERS, FQDN, 'A', '10.100.0.241', 'right before the delete'),
    ).rejects.toThrow(/^node01: does not serve[\s\S]*last seen: NXDOMAIN/);
    await expect(expectRecordServed(servers({ '10.100.0.11': DIG.two }), via, SERVERS, FQDN, 'A', '10.100.0.241', 'now')).rejects.toThrow(/last seen: NOERROR 10\.100\.0\.241 \| 10\.100\.0\.242/);
  });

  it('describes each kind of answer in one line', () => {
    expect(describeLookup(parseDig(DIG.txt))).toBe('NOERROR TXT "while down"');
    expect(describeLookup(parseDig(DIG.refused))).toBe('REFUSED');
  });
});
