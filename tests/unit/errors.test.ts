import { describe, expect, it } from 'vitest';
import { CommandError, HostError, NodeError, UsageError, WaitTimeoutError, formatNodeError, tail } from '../../harness/errors.js';

describe('NodeError', () => {
  it('leads with the node name and carries expected, last seen and console tail sections', () => {
    const e = new NodeError('node03', 'ssh.service did not start', {
      expected: 'ssh.service active',
      lastSeen: 'activating',
      consoleTail: '[  1.0] booting\n[  2.0] systemd',
    });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('NodeError');
    expect(e.node).toBe('node03');
    expect(e.summary).toBe('ssh.service did not start');
    expect(e.message.startsWith('node03: ssh.service did not start\n')).toBe(true);
    expect(e.message).toContain('\n  expected: ssh.service active\n');
    expect(e.message).toContain('\n  last seen: activating\n');
    expect(e.message).toContain('\n  --- node03 vm.log (tail) ---\n    [  1.0] booting\n    [  2.0] systemd');
  });

  it('is only the summary line without evidence', () => {
    expect(new NodeError('node01', 'gone').message).toBe('node01: gone');
  });

  it('puts the journal before the console tail', () => {
    const msg = new NodeError('node02', 'x', { journal: 'j1', consoleTail: 'c1' }).message;
    expect(msg).toBe('node02: x\n  --- journal ---\n    j1\n  --- node02 vm.log (tail) ---\n    c1');
  });

  it('shows an empty last seen as (nothing) and indents a multi-line one', () => {
    expect(new NodeError('node01', 'x', { lastSeen: '' }).message).toBe('node01: x\n  last seen: (nothing)');
    expect(new NodeError('node01', 'x', { lastSeen: 'a\nb' }).message).toBe('node01: x\n  last seen: \n    a\n    b');
  });

  it('WaitTimeoutError is a NodeError with its own name', () => {
    const e = new WaitTimeoutError('node05', 'timed out', { expected: 'running' });
    expect(e).toBeInstanceOf(NodeError);
    expect(e.name).toBe('WaitTimeoutError');
    expect(e.message).toBe('node05: timed out\n  expected: running');
  });
});

describe('CommandError', () => {
  it('leads with the node, names the command and exit code, and shows its output as last seen', () => {
    const e = new CommandError('node04', 'systemctl is-active foo', 3, 'inactive', 'warning: x', { consoleTail: 'tail line' });
    expect(e).toBeInstanceOf(NodeError);
    expect(e.name).toBe('CommandError');
    expect(e.code).toBe(3);
    expect(e.command).toBe('systemctl is-active foo');
    expect(e.message.startsWith('node04: command failed (exit 3): systemctl is-active foo\n')).toBe(true);
    expect(e.message).toContain('  last seen: \n    inactive\n    warning: x');
    expect(e.message).toContain('--- node04 vm.log (tail) ---\n    tail line');
  });

  it('says signal when there is no exit code, and (nothing) when there was no output', () => {
    const e = new CommandError('node01', 'sleep 99', null, '', '');
    expect(e.message).toBe('node01: command failed (exit signal): sleep 99\n  last seen: (nothing)');
  });

  it('keeps only the last 20 lines of output', () => {
    const out = Array.from({ length: 30 }, (_, i) => `line${i}`).join('\n');
    const e = new CommandError('node01', 'seq', 1, out, '');
    expect(e.message).toContain('line29');
    expect(e.message).toContain('line10');
    expect(e.message).not.toContain('line9\n');
    expect(e.evidence.lastSeen?.split('\n')).toHaveLength(20);
  });

  it('lets explicit evidence override last seen', () => {
    const e = new CommandError('node01', 'true', 1, 'out', 'err', { lastSeen: 'custom', expected: 'exit 0' });
    expect(e.message).toBe('node01: command failed (exit 1): true\n  expected: exit 0\n  last seen: custom');
  });
});

describe('helpers and plain errors', () => {
  it('tail keeps the last n lines', () => {
    expect(tail('a\nb\nc', 2)).toBe('b\nc');
    expect(tail('a\nb', 5)).toBe('a\nb');
    expect(tail('', 3)).toBe('');
  });

  it('formatNodeError matches NodeError', () => {
    expect(formatNodeError('n', 's', { expected: 'e' })).toBe(new NodeError('n', 's', { expected: 'e' }).message);
  });

  it('UsageError and HostError carry their names', () => {
    expect(new UsageError('bad').name).toBe('UsageError');
    expect(new HostError('bad').name).toBe('HostError');
    expect(new UsageError('bad')).toBeInstanceOf(Error);
  });
});
