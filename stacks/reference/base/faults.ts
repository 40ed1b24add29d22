import type { ProveRow } from '../../../harness/prove.js';
import type { StackOps } from '../../contracts.js';
import { commands, fileMovedAside, protocolChecks, unitsStopped } from '../../faults.js';

/** Faults base claims to catch (`cluster prove`), with the checks that must go red. */
export const faults: ProveRow<StackOps>[] = [
  {
    id: 'base-networkd-stopped',
    owner: 'base',
    ...unitsStopped('node03', ['systemd-networkd.service']),
    suite: 'smoke',
    file: 'tests/smoke/boot.test.ts',
    checks: ['node03 > runs the units its stack requires'],
    names: /systemd-networkd\.service/,
  },
  {
    id: 'base-icmp-dropped',
    owner: 'base',
    ...commands('ICMP to node03 dropped on node03 (iptables DROP)', 'node03', 'iptables -I INPUT -p icmp -m comment --comment ultracloud-prove -j DROP', 'while iptables -D INPUT -p icmp -m comment --comment ultracloud-prove -j DROP 2>/dev/null; do :; done'),
    suite: 'smoke',
    file: 'tests/smoke/boot.test.ts',
    checks: ['node01 > reaches every other node over the cluster network'],
    names: /node03 unreachable/,
    quick: true,
  },
  {
    id: 'base-failed-unit',
    owner: 'base',
    ...commands('a failed unit (ultracloud-prove-fail) on node02', 'node02', 'systemd-run --unit=ultracloud-prove-fail --quiet false; sleep 1', 'systemctl reset-failed ultracloud-prove-fail 2>/dev/null; true'),
    suite: 'smoke',
    file: 'tests/smoke/boot.test.ts',
    checks: ['node02 > is running, not degraded'],
    names: /ultracloud-prove-fail/,
  },
  {
    id: 'base-sftp-server-gone',
    owner: 'base',
    ...fileMovedAside('node04', '/usr/lib/openssh/sftp-server'),
    suite: 'smoke',
    file: 'tests/smoke/boot.test.ts',
    checks: ['node04 > takes a file over SFTP and hands it back'],
    names: /sftp|subsystem|channel/i,
  },
];
