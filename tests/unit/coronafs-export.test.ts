/**
 * CoronaFS's "is the export served" answer: definite only where the NBD
 * server (or the node's refusal) answered; anything else throws with what
 * qemu-nbd printed, so "export gone" can never be read from a broken probe.
 * The outputs are qemu-nbd 7.2's (Debian 12), as printed against a
 * qemu-storage-daemon, a closed port, an unresolvable and a silent host.
 */
import { describe, expect, test } from 'vitest';
import { exportListed } from '../../stacks/reference/coronafs/index.js';

const exp = { host: '10.100.0.24', port: 10810, name: 'demo-webapp-root' };
const listing = (...names: string[]) =>
  [`exports available: ${names.length}`, ...names.flatMap((n) => [` export: '${n}'`, '  size:  1048576', '  flags: 0x58f ( readonly flush fua df multi cache )', '  min block: 1'])].join('\n') + '\n';
const ran = (code: number | null, stdout: string, stderr = '', timedOut = false) => ({ code, stdout, stderr, timedOut });

describe('coronafs exportListed', () => {
  test('the server lists the export: served', () => {
    expect(exportListed('node05', exp, ran(0, listing('other', 'demo-webapp-root')))).toBe(true);
  });

  test('the server answers without it (another export, or none): not served', () => {
    expect(exportListed('node05', exp, ran(0, listing('demo-webapp-root-old')))).toBe(false);
    expect(exportListed('node05', exp, ran(0, listing()))).toBe(false);
  });

  test("the node refuses the connection on the export's port: not served (nothing listens)", () => {
    expect(exportListed('node05', exp, ran(1, '', "qemu-nbd: Failed to connect to '10.100.0.24:10810': Connection refused\n"))).toBe(false);
  });

  test('anything else is no answer: it throws with the output, never "gone"', () => {
    const cases = [
      ran(1, '', 'qemu-nbd: Failed to read initial magic: Unable to read from socket: Connection reset by peer\n'),
      ran(1, '', "qemu-nbd: Failed to connect to '10.100.0.24:10810': No route to host\n"),
      ran(1, '', 'qemu-nbd: address resolution failed for nonexist.invalid:10810: Name or service not known\n'),
      // Another port refused is not this export's answer.
      ran(1, '', "qemu-nbd: Failed to connect to '10.100.0.24:10811': Connection refused\n"),
      ran(124, '', ''),
      ran(null, '', '', true),
      ran(127, '', 'bash: qemu-nbd: command not found\n'),
      // Exit 0 without the server's list: not an answer either.
      ran(0, 'garbage\n'),
    ];
    for (const r of cases) expect(() => exportListed('node05', exp, r), JSON.stringify(r)).toThrow(/node05: coronafs: no answer from the NBD server of demo-webapp-root at 10\.100\.0\.24:10810/);
    expect(() => exportListed('node05', exp, ran(124, '', ''))).toThrow(/no answer within 30 s; exit 124/);
    expect(() => exportListed('node05', exp, ran(1, '', 'qemu-nbd: ... Connection reset by peer'))).toThrow(/last seen: exit 1: qemu-nbd: \.\.\. Connection reset by peer/);
  });
});
