/**
 * A chainfire lease kept alive in the background: granted (retrying until
 * chainfire answers), renewed every third of its TTL, granted anew when
 * etcd says it expired (a long stall), with `onLost` called so the owner
 * re-registers its lease-bound keys (and a leader steps down).
 */
import type { Etcd } from './etcd.js';

export class KeptLease {
  id = '0';
  ttlS = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** When a renewal last succeeded (ms). */
  lastRenewed = 0;

  constructor(
    private readonly etcd: Etcd,
    private readonly askTtlS: number,
    private readonly log: (msg: string) => void,
    private readonly onLost: (oldId: string) => Promise<void> | void,
  ) {}

  async start(signal: AbortSignal): Promise<void> {
    for (;;) {
      try {
        const g = await this.etcd.grant(this.askTtlS);
        this.id = g.id;
        this.ttlS = g.ttlS;
        this.lastRenewed = Date.now();
        this.log(`lease ${g.id} granted, TTL ${g.ttlS} s (asked ${this.askTtlS} s)`);
        break;
      } catch (e) {
        if (signal.aborted) throw e;
        this.log(`waiting for chainfire: ${(e as Error).message}`);
        await sleep(2000, signal);
      }
    }
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    // A third of the TTL: two renewals may fail (a stalled guest) before the lease runs out.
    const every = Math.max(1000, (this.ttlS * 1000) / 3);
    this.timer = setTimeout(() => void this.renew(), every);
  }

  private async renew(): Promise<void> {
    try {
      const ttl = await this.etcd.keepAlive(this.id);
      if (ttl > 0) {
        this.lastRenewed = Date.now();
      } else {
        const old = this.id;
        const g = await this.etcd.grant(this.askTtlS);
        this.id = g.id;
        this.ttlS = g.ttlS;
        this.lastRenewed = Date.now();
        this.log(`lease ${old} expired; new lease ${g.id}`);
        await this.onLost(old);
      }
    } catch (e) {
      this.log(`lease renewal failed: ${(e as Error).message}`);
    }
    this.schedule();
  }

  /** Stops renewing; `revoke` also drops the lease (and its keys) at once. */
  async stop(revoke: boolean): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    if (revoke && this.id !== '0') await this.etcd.revoke(this.id).catch(() => undefined);
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Waker().wait(ms, signal);
}

/** A sleep that `wake()` ends early (after `afterMs`, to batch a burst of changes) or the signal ends at once. */
export class Waker {
  private early?: (afterMs: number) => void;
  private pending = false;

  wake(afterMs = 300): void {
    if (this.early) this.early(afterMs);
    else this.pending = true;
  }

  wait(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let t = setTimeout(done, this.pending ? 0 : ms);
      this.pending = false;
      const onAbort = () => done();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.early = (afterMs) => {
        clearTimeout(t);
        t = setTimeout(done, afterMs);
      };
      const self = this;
      function done() {
        clearTimeout(t);
        signal?.removeEventListener('abort', onAbort);
        self.early = undefined;
        resolve();
      }
    });
  }
}
