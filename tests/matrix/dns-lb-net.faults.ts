import type { ProveRow } from '../../harness/prove.js';
import type { StackOps } from '../../stacks/contracts.js';
import { commands, unitsStopped } from '../../stacks/faults.js';

/** Faults the dns-lb-net scenario claims to catch (`cluster prove`): the step named must be the first to go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'dns-lb-net-secondary-down',
    owner: 'dns-lb-net',
    ...unitsStopped('node03', ['pdns.service']),
    suite: 'matrix',
    file: 'tests/matrix/dns-lb-net.test.ts',
    scenario: true,
    checks: ['dns-lb-net > fiberlb publishes a VIP for both guests and flashdns a name for the VIP, on the primary and both secondaries'],
    names: /node03/,
  },
  {
    // The zone breaks on a secondary while the record is being removed (a watcher on node02: once the primary
    // no longer has the record, node02's backend table is renamed away): "record gone" must fail naming node02's
    // broken answer, where `dig +short` (empty for NXDOMAIN, SERVFAIL and no reply alike) read it as gone.
    id: 'dns-lb-net-secondary-broken-on-delete',
    owner: 'dns-lb-net',
    ...commands(
      'node02 broken (its records table renamed away) from the moment the record leaves the primary',
      'node02',
      `cat > /run/ultracloud-prove-dns.sh <<'SH'
q() { dig +short +time=1 +tries=1 @10.100.0.11 matrix-lb.ultracloud.test A; }
until [ -n \"$(q)\" ]; do sleep 0.2; done
until [ -z \"$(q)\" ]; do sleep 0.1; done
sqlite3 /var/lib/powerdns/pdns.sqlite3 'ALTER TABLE records RENAME TO records_prove'
pdns_control purge >/dev/null
SH
systemd-run --unit=ultracloud-prove-dns --collect --quiet bash /run/ultracloud-prove-dns.sh`,
      `systemctl stop ultracloud-prove-dns 2>/dev/null; db=/var/lib/powerdns/pdns.sqlite3; if [ \"$(sqlite3 $db \"select count(*) from sqlite_master where name='records_prove'\")\" = 1 ]; then sqlite3 $db 'ALTER TABLE records_prove RENAME TO records'; fi; rm -f /run/ultracloud-prove-dns.sh; systemctl restart pdns.service`,
    ),
    suite: 'matrix',
    file: 'tests/matrix/dns-lb-net.test.ts',
    scenario: true,
    checks: ['dns-lb-net > removing the service removes the DNS record and the LB frontend'],
    // PowerDNS 4.7 with its records table gone sends no reply at all (seen here) rather than SERVFAIL: either is "broken, not gone".
    names: /node02: answered (SERVFAIL|NO_REPLY)/,
  },
];
