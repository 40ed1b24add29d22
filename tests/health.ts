/**
 * Setup file of the cluster suites: after each test file, every node that
 * was up when the file started must still be up, with no new kernel alarm
 * (panic, oops, BUG, OOM kill, call trace, I/O error) on its console or in
 * its kernel log and no failed unit. Otherwise the file fails with what was
 * found, so a test that broke a node cannot pass.
 */
import { afterAll, beforeAll, inject } from 'vitest';
import { NodeError } from '../harness/errors.js';
import { type ConsoleMark, alarmLines, consoleSince, markConsole } from '../harness/health.js';
import { NEMESIS_COMMENT } from '../harness/nemesis.js';
import { TestCluster } from '../fixtures/cluster.js';

interface Before {
  console?: ConsoleMark;
  bootId?: string;
  cursor?: string;
}

const cluster = new TestCluster(inject('cluster'));
const before = new Map<string, Before>();

beforeAll(async () => {
  await Promise.all(
    cluster.nodeNames.map(async (name) => {
      const node = cluster.tryNode(name);
      if (!node?.vm.pid()) return;
      const mark: Before = { console: markConsole(node.vm.logFile) };
      // swallow-ok: a node that does not answer here gets no mark; the afterAll reads its whole boot and reports it unreachable.
      const r = await node.execute('cat /proc/sys/kernel/random/boot_id; journalctl -k -n 1 --show-cursor --no-pager -o cat', 30_000).catch(() => undefined);
      if (r?.code === 0) {
        const [bootId, ...rest] = r.stdout.trim().split('\n');
        mark.bootId = bootId.trim();
        mark.cursor = rest.join('\n').match(/-- cursor: (\S+)/)?.[1];
      }
      before.set(name, mark);
    }),
  );
}, 120_000);

afterAll(async () => {
  const problems: string[] = [];
  await Promise.all(
    [...before].map(async ([name, mark]) => {
      const node = cluster.tryNode(name)!;
      const found: string[] = alarmLines(consoleSince(node.vm.logFile, mark.console)).map((l) => `console: ${l}`);
      if (!node.vm.pid()) {
        found.push('QEMU is not running (it was when this file started)');
      } else if ((await node.vm.state()) === 'paused') {
        found.push('the VM is paused (QMP stop): a nemesis pause outlived its test');
      } else {
        try {
          // One round trip; a node booted again during the file has its whole new boot read.
          const since = mark.cursor ? `--after-cursor=${mark.cursor}` : '-b';
          const [, failed = '', kernel = '', nemesis = '0'] = (
            await node.succeed(
              `b=$(cat /proc/sys/kernel/random/boot_id); echo "$b"; echo @@; systemctl list-units --failed --plain --no-legend; echo @@; ` +
                `if [ "$b" = '${mark.bootId ?? ''}' ]; then s="${since}"; else s=-b; fi; journalctl -k --no-pager -o short-monotonic $s; echo @@; ` +
                `if command -v iptables >/dev/null; then iptables -S | grep -c -e '--comment ${NEMESIS_COMMENT}' || true; else echo 0; fi`,
              60_000,
            )
          ).split(/^@@\n/m);
          // A partition must not outlive its test (harness/nemesis.ts heals on test end).
          if (Number(nemesis.trim()) > 0) found.push(`${nemesis.trim()} nemesis rule(s) left in iptables (${NEMESIS_COMMENT}): a partition outlived its test`);
          for (const unit of failed.split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean)) {
            found.push(`failed unit: ${unit}\n${await node.journal(unit, 15)}`);
          }
          found.push(...alarmLines(kernel).map((l) => `kernel: ${l}`));
        } catch (e) {
          found.push(`not reachable for the health check: ${(e as Error).message.split('\n')[0]}`);
        }
      }
      if (found.length > 0) problems.push(`${name}:\n  ${[...new Set(found)].join('\n  ')}`);
    }),
  );
  if (problems.length > 0) {
    const first = problems[0].split(':')[0];
    throw new NodeError(first, `unhealthy after this test file (health check as kola runs after every test)`, {
      expected: 'every node still up, no new kernel alarm on its console or in its kernel log, no failed unit',
      lastSeen: problems.join('\n'),
    });
  }
}, 180_000);
