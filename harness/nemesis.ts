/**
 * Nemeses as harness verbs (Jepsen's word for the faults a test injects
 * while clients run): partitions, pauses and crashes, each recorded as a
 * window (what, from, to: host ms) for the history's timeline, and each
 * undone by `healAll`, which the faults fixture runs when the test ends,
 * failed or not, so no partition outlives its test. The after-file health
 * check (tests/health.ts) fails on any nemesis rule left on a node.
 *
 * - partition: iptables DROP between groups of nodes on their cluster
 *   addresses, optionally only for some TCP ports (`ports: [2380]` splits
 *   chainfire's raft and nothing else); SSH runs on the management NIC and
 *   is never touched.
 * - isolate: the node's cluster NIC cut in QEMU (QMP set_link), as the
 *   NixOS test driver's block().
 * - pauseNode: the whole VM frozen (QMP stop/cont); pauseUnit: a service's
 *   processes stopped with SIGSTOP/SIGCONT.
 * - crashUnit: a service killed with SIGKILL, then started again on heal.
 */
import type { Node } from './remote/node.js';
import { shellQuote } from './remote/node.js';

export const NEMESIS_COMMENT = 'ultracloud-nemesis';

export interface NemesisWindow {
  what: string;
  /** Host ms when the fault was in place. */
  from: number;
  /** Host ms when it was undone (still active: undefined). */
  to?: number;
}

interface Active {
  window: NemesisWindow;
  heal: () => Promise<void>;
}

/** The shell that removes every nemesis rule on a node (idempotent: also what an interrupted run left). */
export const HEAL_RULES = `iptables -S | grep -e '--comment ${NEMESIS_COMMENT}' | sed 's/^-A /-D /' | while read -r r; do eval "iptables $r"; done`;

/** The iptables commands that cut `node` (at `own`) from `peers` (cluster IPs), for `ports` or every packet (pure). */
export function partitionRules(peers: string[], ports?: number[]): string[] {
  const rules: string[] = [];
  const tag = `-m comment --comment ${NEMESIS_COMMENT} -j DROP`;
  for (const ip of peers) {
    if (!ports?.length) {
      rules.push(`iptables -I INPUT -s ${ip} ${tag}`, `iptables -I OUTPUT -d ${ip} ${tag}`);
      continue;
    }
    // Both directions of every connection to the port die, whoever dialled: without the --sport rules the
    // server's side of a connection the peer had opened (a replication stream, an etcd stream) kept flowing.
    for (const p of ports) {
      rules.push(`iptables -I INPUT -s ${ip} -p tcp --dport ${p} ${tag}`, `iptables -I INPUT -s ${ip} -p tcp --sport ${p} ${tag}`);
      rules.push(`iptables -I OUTPUT -d ${ip} -p tcp --dport ${p} ${tag}`, `iptables -I OUTPUT -d ${ip} -p tcp --sport ${p} ${tag}`);
    }
  }
  return rules;
}

/** `signal` to every process of `unit` (systemd's view of it: the main process and its children). */
async function signalUnit(node: Node, unit: string, signal: 'SIGSTOP' | 'SIGCONT' | 'SIGKILL'): Promise<void> {
  await node.succeed(`systemctl kill --kill-who=all -s ${signal} ${shellQuote(unit)}`);
}

export class Nemesis {
  readonly windows: NemesisWindow[] = [];
  private readonly active: Active[] = [];

  constructor(private readonly node: (name: string) => Node) {}

  /** Groups of nodes that reach only each other (on the cluster addresses; for `ports` only when given). */
  async partition(groups: string[][], opts: { ports?: number[] } = {}): Promise<void> {
    const all = groups.flat();
    if (new Set(all).size !== all.length) throw new Error(`partition: a node is in two groups: ${groups.map((g) => g.join(' ')).join(' | ')}`);
    const ipOf = (n: string) => this.node(n).spec.clusterIp;
    const what = `partition ${groups.map((g) => g.join(' ')).join(' | ')}${opts.ports?.length ? ` (TCP ${opts.ports.join(', ')})` : ''}`;
    const involved = all.map((n) => this.node(n));
    await this.apply(
      what,
      async () => {
        await Promise.all(
          groups.map((g, i) => {
            const peers = groups.filter((_, j) => j !== i).flat().map(ipOf);
            return Promise.all(g.map((n) => this.node(n).succeed(partitionRules(peers, opts.ports).join(' && '))));
          }),
        );
      },
      async () => {
        await Promise.all(involved.map((n) => n.succeed(HEAL_RULES)));
      },
    );
  }

  /** The node's cluster NIC cut in QEMU (SSH, on the management NIC, stays up). */
  async isolate(name: string): Promise<void> {
    const vm = this.node(name).vm;
    await this.apply(`isolate ${name} (cluster link down)`, () => vm.setLink('cluster', false), () => vm.setLink('cluster', true));
  }

  /** The whole VM frozen: CPUs, clock, devices. */
  async pauseNode(name: string): Promise<void> {
    const vm = this.node(name).vm;
    await this.apply(`pause ${name} (VM stopped)`, () => vm.pause(), () => vm.resume());
  }

  /** Every process of `unit` on `name` stopped with SIGSTOP (SIGCONT on heal). */
  async pauseUnit(name: string, unit: string): Promise<void> {
    const n = this.node(name);
    await this.apply(`pause ${unit} on ${name} (SIGSTOP)`, () => signalUnit(n, unit, 'SIGSTOP'), () => signalUnit(n, unit, 'SIGCONT'));
  }

  /**
   * `unit` on `name` killed with SIGKILL; started again on heal (and waited
   * for). A unit with Restart= is started again by systemd at once (a crash
   * and restart); with `keepDown` it is masked for the run first (in /run,
   * so a reboot clears it too) and stays down until the heal.
   */
  async crashUnit(name: string, unit: string, opts: { keepDown?: boolean; startTimeoutMs?: number } = {}): Promise<void> {
    const n = this.node(name);
    const u = shellQuote(unit);
    await this.apply(
      `crash ${unit} on ${name} (SIGKILL${opts.keepDown ? ', kept down' : ''})`,
      async () => {
        if (opts.keepDown) await n.succeed(`systemctl mask --runtime ${u}`);
        await signalUnit(n, unit, 'SIGKILL');
      },
      async () => {
        if (opts.keepDown) await n.succeed(`systemctl unmask --runtime ${u}`);
        await n.succeed(`systemctl reset-failed ${u} 2>/dev/null; systemctl start ${u}`, opts.startTimeoutMs ?? 300_000);
      },
    );
  }

  /** Undoes the newest active fault. */
  async heal(): Promise<void> {
    const a = this.active.pop();
    if (!a) throw new Error('nemesis: nothing to heal');
    await a.heal();
    a.window.to = Date.now();
  }

  /** Undoes every active fault, newest first, trying each even when one fails; then throws what failed. For the fixture's cleanup. */
  async healAll(): Promise<void> {
    const errors: string[] = [];
    while (this.active.length > 0) {
      try {
        await this.heal();
      } catch (e) {
        errors.push((e as Error).message.split('\n')[0]);
      }
    }
    if (errors.length > 0) throw new Error(`nemesis: could not undo every fault: ${errors.join('; ')}`);
  }

  private async apply(what: string, apply: () => Promise<void>, heal: () => Promise<void>): Promise<void> {
    // Registered before it runs: a fault applied half-way is still undone.
    const window: NemesisWindow = { what, from: Date.now() };
    const a: Active = { window, heal };
    this.active.push(a);
    this.windows.push(window);
    await apply();
    window.from = Date.now();
  }
}
