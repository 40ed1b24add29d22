import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEAL_RULES, NEMESIS_COMMENT, Nemesis, partitionRules } from '../../harness/nemesis.js';
import type { Node } from '../../harness/remote/node.js';

const IPS: Record<string, string> = { node01: '10.0.0.11', node02: '10.0.0.12', node03: '10.0.0.13' };

/** Nodes that record the commands they are given (and fail the ones `failing` matches). */
function fakeNodes(failing?: RegExp) {
  const log: string[] = [];
  const vmLog: string[] = [];
  const node = (name: string) =>
    ({
      name,
      spec: { name, clusterIp: IPS[name] },
      vm: {
        setLink: async (nd: string, up: boolean) => void vmLog.push(`${name} set_link ${nd} ${up}`),
        pause: async () => void vmLog.push(`${name} stop`),
        resume: async () => void vmLog.push(`${name} cont`),
      },
      succeed: async (cmd: string) => {
        log.push(`${name}: ${cmd}`);
        if (failing?.test(cmd)) throw new Error(`${name}: failed: ${cmd}`);
        return '';
      },
    }) as unknown as Node;
  return { node, log, vmLog };
}

describe('nemesis', () => {
  it('partition rules drop both directions, for the ports given or every packet', () => {
    expect(partitionRules(['10.0.0.12'], [2380])).toEqual([
      `iptables -I INPUT -s 10.0.0.12 -p tcp --dport 2380 -m comment --comment ${NEMESIS_COMMENT} -j DROP`,
      `iptables -I INPUT -s 10.0.0.12 -p tcp --sport 2380 -m comment --comment ${NEMESIS_COMMENT} -j DROP`,
      `iptables -I OUTPUT -d 10.0.0.12 -p tcp --dport 2380 -m comment --comment ${NEMESIS_COMMENT} -j DROP`,
      `iptables -I OUTPUT -d 10.0.0.12 -p tcp --sport 2380 -m comment --comment ${NEMESIS_COMMENT} -j DROP`,
    ]);
    expect(partitionRules(['10.0.0.12', '10.0.0.13'])).toHaveLength(4);
  });

  it('a minority | majority split cuts each node from the other side only, and heals every node', async () => {
    const { node, log } = fakeNodes();
    const n = new Nemesis(node);
    await n.partition([['node01'], ['node02', 'node03']], { ports: [2380] });
    const cmds = (name: string) => log.filter((l) => l.startsWith(`${name}:`)).join('\n');
    expect(cmds('node01')).toContain('-s 10.0.0.12 ');
    expect(cmds('node01')).toContain('-s 10.0.0.13 ');
    expect(cmds('node02')).toContain('-s 10.0.0.11 ');
    expect(cmds('node02')).not.toContain('10.0.0.13');
    expect(n.windows).toEqual([{ what: 'partition node01 | node02 node03 (TCP 2380)', from: expect.any(Number) }]);
    await n.healAll();
    expect(log.filter((l) => l.endsWith(HEAL_RULES)).map((l) => l.split(':')[0]).sort()).toEqual(['node01', 'node02', 'node03']);
    expect(n.windows[0].to).toBeGreaterThanOrEqual(n.windows[0].from);
    await expect(n.heal()).rejects.toThrow('nothing to heal');
    await expect(n.partition([['node01'], ['node01', 'node02']])).rejects.toThrow('a node is in two groups');
  });

  it('healAll undoes newest first and tries every fault even when one cannot be undone, then says which', async () => {
    const { node, log, vmLog } = fakeNodes(/SIGCONT/);
    const n = new Nemesis(node);
    await n.isolate('node01');
    await n.pauseUnit('node02', 'etcd.service');
    await n.pauseNode('node03');
    await expect(n.healAll()).rejects.toThrow('could not undo every fault: node02: failed: systemctl kill --kill-who=all -s SIGCONT');
    expect(vmLog).toEqual(['node01 set_link cluster false', 'node03 stop', 'node03 cont', 'node01 set_link cluster true']);
    expect(log.at(-1)).toContain('SIGCONT');
  });

  it('a fault that fails half-way is still undone', async () => {
    const { node, log } = fakeNodes(/SIGKILL/);
    const n = new Nemesis(node);
    await expect(n.crashUnit('node02', 'etcd.service')).rejects.toThrow('SIGKILL');
    await n.healAll();
    expect(log.at(-1)).toBe('node02: systemctl reset-failed etcd.service 2>/dev/null; systemctl start etcd.service');
  });

  it('a crash kept down masks the unit for the run before the kill, and unmasks it before starting it on heal', async () => {
    const { node, log } = fakeNodes();
    const n = new Nemesis(node);
    await n.crashUnit('node02', 'redis-server.service', { keepDown: true });
    expect(n.windows[0].what).toBe('crash redis-server.service on node02 (SIGKILL, kept down)');
    await n.heal();
    expect(log).toEqual([
      'node02: systemctl mask --runtime redis-server.service',
      'node02: systemctl kill --kill-who=all -s SIGKILL redis-server.service',
      'node02: systemctl unmask --runtime redis-server.service',
      'node02: systemctl reset-failed redis-server.service 2>/dev/null; systemctl start redis-server.service',
    ]);
  });

  it('the heal script removes exactly the nemesis rules, and finds none to remove the second time', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-nemesis-'));
    try {
      // A stand-in iptables: -S prints the rules in rules.txt, -D removes one (and logs it).
      fs.writeFileSync(path.join(dir, 'rules.txt'), [
        '-P INPUT ACCEPT',
        `-A INPUT -s 10.0.0.12/32 -p tcp -m tcp --dport 2380 -m comment --comment ${NEMESIS_COMMENT} -j DROP`,
        '-A INPUT -p tcp -m tcp --dport 9000 -m comment --comment ultracloud-prove -j REJECT --reject-with tcp-reset',
        `-A OUTPUT -d 10.0.0.12/32 -m comment --comment ${NEMESIS_COMMENT} -j DROP`,
      ].join('\n') + '\n');
      fs.writeFileSync(path.join(dir, 'iptables'), `#!/bin/bash\ncd ${JSON.stringify(dir)}\nif [ "$1" = -S ]; then cat rules.txt; exit 0; fi\n[ "$1" = -D ] || exit 2\nr="-A \${*:2}"\necho "$r" >> deleted.txt\ngrep -vxF -- "$r" rules.txt > rules.new; mv rules.new rules.txt\n`, { mode: 0o755 });
      const env = { ...process.env, PATH: `${dir}:${process.env.PATH}` };
      execFileSync('bash', ['-c', HEAL_RULES], { env });
      const deleted = fs.readFileSync(path.join(dir, 'deleted.txt'), 'utf8').trim().split('\n');
      expect(deleted).toEqual([
        `-A INPUT -s 10.0.0.12/32 -p tcp -m tcp --dport 2380 -m comment --comment ${NEMESIS_COMMENT} -j DROP`,
        `-A OUTPUT -d 10.0.0.12/32 -m comment --comment ${NEMESIS_COMMENT} -j DROP`,
      ]);
      expect(fs.readFileSync(path.join(dir, 'rules.txt'), 'utf8')).not.toContain(NEMESIS_COMMENT);
      execFileSync('bash', ['-c', HEAL_RULES], { env });
      expect(fs.readFileSync(path.join(dir, 'deleted.txt'), 'utf8').trim().split('\n')).toHaveLength(2);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
