/**
 * A node as tests see it: small verbs in the style of the NixOS test
 * driver (succeed, execute, waitForUnit, waitUntilSucceeds, crash). Every
 * failure names the node and carries its console tail; unit failures carry
 * the unit's journal.
 */
import { CommandError, NodeError } from '../errors.js';
import type { QemuVm } from '../vm/qemu.js';
import type { ExecResult, Forward, SshPool } from './ssh.js';
import type { NodeSpec } from '../topology.js';
import { AbortedError, waitFor } from './wait.js';

export interface UnitState {
  load: string;
  active: string;
  sub: string;
  result: string;
}

/**
 * Every verb takes an optional AbortSignal last (Vitest's test `signal`):
 * on abort the wait stops and the command is killed on the node. A Node
 * from `withSignal` passes its signal to every verb by default.
 */
export class Node {
  constructor(
    readonly spec: NodeSpec,
    readonly vm: QemuVm,
    private readonly ssh: SshPool,
    /** Default for every verb's `signal`. */
    readonly signal?: AbortSignal,
  ) {}

  /**
   * This node with `signal` as every verb's default, so stack operations
   * that take a Node (and know nothing of signals) stop with the test too.
   */
  withSignal(signal: AbortSignal): Node {
    return new Node(this.spec, this.vm, this.ssh, signal);
  }

  get name(): string {
    return this.spec.name;
  }

  consoleTail(lines = 40): string {
    return this.vm.consoleTail(lines);
  }

  /** Why the node cannot be reached, when its QEMU is the reason. */
  private qemuGone(): string | undefined {
    return this.vm.pid() ? undefined : `QEMU of ${this.name} is not running (no live pid in ${this.vm.pidFile})`;
  }

  async execute(command: string, timeoutMs = 60_000, signal = this.signal): Promise<ExecResult> {
    try {
      return await this.ssh.exec(this.name, command, timeoutMs, signal);
    } catch (e) {
      if (e instanceof AbortedError) throw new AbortedError(this.name, e.summary, { ...e.evidence, consoleTail: this.consoleTail() });
      throw new NodeError(this.name, `unreachable over SSH while running: ${command}`, {
        lastSeen: [this.qemuGone(), (e as Error).message].filter(Boolean).join('; '),
        consoleTail: this.consoleTail(),
      });
    }
  }

  /** Runs `command`, returns stdout; throws with the output when it exits non-zero. */
  async succeed(command: string, timeoutMs = 60_000, signal = this.signal): Promise<string> {
    const r = await this.execute(command, timeoutMs, signal);
    if (r.code !== 0) {
      throw new CommandError(this.name, command, r.code, r.stdout, r.stderr + (r.timedOut ? `\n(timed out after ${timeoutMs} ms)` : ''));
    }
    return r.stdout;
  }

  async waitUntilSucceeds(command: string, timeoutMs: number, intervalMs = 2000, signal = this.signal): Promise<string> {
    return waitFor(
      {
        node: this.name,
        what: `'${command}' exits 0`,
        timeoutMs,
        intervalMs,
        signal,
        failFast: () => this.qemuGone(),
        consoleTail: () => this.consoleTail(),
      },
      async (sig) => {
        const r = await this.execute(command, Math.min(30_000, timeoutMs), sig);
        return { ok: r.code === 0, value: r.stdout, seen: `exit ${r.code}: ${(r.stdout + r.stderr).trim()}` };
      },
    );
  }

  async unitState(unit: string, signal = this.signal): Promise<UnitState> {
    // systemctl prints properties in its own order, so parse key=value.
    return parseUnitState(await this.succeed(`systemctl show -p LoadState,ActiveState,SubState,Result ${shellQuote(unit)}`, 60_000, signal));
  }

  async journal(unit: string, lines = 30, timeoutMs = 60_000, signal = this.signal): Promise<string> {
    const r = await this.execute(`journalctl -b --no-pager -o short-monotonic -n ${lines} -u ${shellQuote(unit)}`, timeoutMs, signal);
    return (r.stdout + r.stderr).trimEnd();
  }

  /**
   * Waits until `unit` is active. Fails at once when it enters `failed`, is
   * not found or masked, or sits inactive with no job queued, instead of
   * burning the deadline. An SSH hiccup is "not yet".
   */
  async waitForUnit(unit: string, timeoutMs: number, signal = this.signal): Promise<void> {
    // Evidence gathered after the deadline must not push the caller past its own.
    const journal = (sig?: AbortSignal) => this.journal(unit, 30, 15_000, sig);
    await waitFor(
      {
        node: this.name,
        what: `unit ${unit} active`,
        expected: `${unit} active`,
        timeoutMs,
        intervalMs: 1000,
        signal,
        quiet: true,
        failFast: () => this.qemuGone(),
        consoleTail: () => this.consoleTail(20),
        journal: () => journal(signal),
      },
      async (sig) => {
        const st = await this.unitState(unit, sig);
        if (st.active === 'active') return { ok: true };
        const seen = JSON.stringify(st);
        const inactiveNoJob =
          st.active === 'inactive' && (await this.execute(`systemctl list-jobs --no-legend ${shellQuote(unit)}`, 60_000, sig)).stdout.trim() === '';
        if (st.active === 'failed' || st.load === 'not-found' || st.load === 'masked' || inactiveNoJob) {
          const fail = new NodeError(this.name, `unit ${unit} is ${st.active} (${st.sub}, load ${st.load}, result ${st.result})`, {
            expected: `${unit} active`,
            lastSeen: seen,
            journal: await journal(sig).catch((e: Error) => `(no journal: ${e.message.split('\n')[0]})`),
            consoleTail: this.consoleTail(20),
          });
          return { ok: false, seen, fail };
        }
        return { ok: false, seen };
      },
    );
  }

  /** Each of `units` that is not active, with its state and journal tail (empty when all are active). */
  /**
   * Each unit's state from one `systemctl show` (one block per unit, in the
   * order asked, a blank line apart: a unit that does not exist still gets
   * its block, LoadState=not-found). One command instead of one per unit:
   * under TCG each command costs about a second.
   */
  async unitStates(units: string[], signal = this.signal): Promise<UnitState[]> {
    if (units.length === 0) return [];
    const out = await this.succeed(`systemctl show -p LoadState,ActiveState,SubState,Result ${units.map(shellQuote).join(' ')}`, 60_000, signal);
    const blocks = out.trim().split(/\n\n+/);
    if (blocks.length !== units.length) {
      throw new NodeError(this.name, `systemctl show of ${units.length} units printed ${blocks.length} blocks`, { expected: `one block per unit: ${units.join(' ')}`, lastSeen: out.slice(0, 2000) });
    }
    return blocks.map(parseUnitState);
  }

  async inactiveUnits(units: string[]): Promise<string[]> {
    const states = await this.unitStates(units);
    const out: string[] = [];
    for (const [i, st] of states.entries()) {
      const unit = units[i];
      if (st.active !== 'active') out.push(`${unit} is ${st.active}/${st.sub}\n${await this.journal(unit, 20)}`);
    }
    return out;
  }

  async failedUnits(): Promise<string[]> {
    const out = await this.succeed('systemctl list-units --failed --plain --no-legend');
    return out
      .split('\n')
      .map((l) => l.trim().split(/\s+/)[0])
      .filter(Boolean);
  }

  putFile(local: string, remote: string): Promise<void> {
    return this.ssh.putFile(this.name, local, remote);
  }

  getFile(remote: string, local: string): Promise<void> {
    return this.ssh.getFile(this.name, remote, local);
  }

  forward(guestPort: number, guestHost = '127.0.0.1'): Promise<Forward> {
    return this.ssh.forward(this.name, guestPort, guestHost);
  }

  /** Kills the node's QEMU outright (a fault, not a shutdown). */
  async crash(): Promise<void> {
    this.ssh.drop(this.name);
    await this.vm.crash();
  }
}

export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** One unit's `systemctl show -p LoadState,ActiveState,SubState,Result` block (systemctl prints properties in its own order, so key=value). */
export function parseUnitState(block: string): UnitState {
  const kv = Object.fromEntries(
    block
      .trim()
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return { load: kv.LoadState ?? '', active: kv.ActiveState ?? '', sub: kv.SubState ?? '', result: kv.Result ?? '' };
}
