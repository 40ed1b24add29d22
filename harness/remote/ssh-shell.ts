/**
 * A long-lived shell on a node that runs the pool's commands one at a time,
 * as the NixOS test driver's backdoor shell does. Under TCG every exec
 * channel costs sshd a session and the wrapper a `setsid` and a login shell
 * (about 230 ms for `true`); a command written to a shell that already runs
 * costs two forks (about 5 ms for `true`, 35 ms for /bin/true).
 *
 * Semantics are those of `killOnClose`: each command is evaluated by bash
 * in a subshell with stdin from /dev/null, stdout and stderr as its own
 * bytes, its exit code (128+n when killed by signal n). The shell is the
 * leader of the session sshd gave it; it reads commands while one runs, and
 * at EOF (the channel closed: a timeout, an abort, the host side gone) it
 * kills every other process of its session, so a command dies with all it
 * started, as with `killOnClose`. A timed-out or aborted shell is thrown
 * away; the next command gets a new one.
 */
import crypto from 'node:crypto';
import type { Client, ClientChannel } from 'ssh2';

/** One command's result (the shell pool's and the SSH pool's). */
export interface ExecResult {
  stdout: string;
  stderr: string;
  /** null when the command timed out (or the channel closed without an exit status). */
  code: number | null;
  timedOut: boolean;
}

/**
 * The loop, as one `bash -c` script. Framing: a header line "<seq> <bytes>"
 * then exactly that many bytes of command (`read -N` counts bytes under
 * LC_ALL=C; the command gets the caller's locale back). The end of each
 * command is a NUL-framed marker with its exit code on stdout and on stderr:
 * both streams are complete once both markers are in.
 */
export function shellLoop(nonce: string): string {
  return `
read -r __uc_stat </proc/$$/stat; set -- \${__uc_stat##*)}
[ "$4" = "$$" ] || { echo "ultracloud shell: not a session leader (sid $4, pid $$)" >&2; exit 97; }
__uc_lc=\${LC_ALL-}; __uc_lcset=\${LC_ALL+1}
LC_ALL=C
while IFS= read -r __uc_h && IFS= read -r -N "\${__uc_h#* }" __uc_c; do
  __uc_s=\${__uc_h%% *}
  {
    ( if [ -n "$__uc_lcset" ]; then LC_ALL=$__uc_lc; else unset LC_ALL; fi; eval "$__uc_c" ) </dev/null
    __uc_r=$?
    printf '\\0${nonce}:%s:%s\\0' "$__uc_s" "$__uc_r"
    printf '\\0${nonce}:%s:%s\\0' "$__uc_s" "$__uc_r" >&2
  } &
done
trap '' TERM HUP
for __uc_round in 1 2 3 4 5; do
  __uc_n=0
  for __uc_p in /proc/[0-9]*/stat; do
    { read -r __uc_stat <"$__uc_p"; } 2>/dev/null || continue
    set -- \${__uc_stat##*)}
    __uc_d=\${__uc_p%/stat}; __uc_d=\${__uc_d#/proc/}
    [ "$4" = "$$" ] && [ "$1" != Z ] && [ "$__uc_d" != "$$" ] || continue
    kill -9 "$__uc_d" 2>/dev/null && __uc_n=1
  done
  [ "$__uc_n" = 1 ] || break
done
exit 0
`;
}

/** Commands longer than this go through a channel of their own: bash reads a pipe a byte at a time. */
export const SHELL_MAX_COMMAND_BYTES = 16 * 1024;

export class RemoteShell {
  private seq = 0;
  private closed = false;
  private onClose?: () => void;
  private onOut?: (b: Buffer) => void;
  private onErr?: (b: Buffer) => void;

  private constructor(
    private readonly channel: ClientChannel,
    private readonly nonce: string,
  ) {
    channel.on('data', (b: Buffer) => this.onOut?.(b));
    channel.stderr.on('data', (b: Buffer) => this.onErr?.(b));
    channel.on('close', () => {
      this.closed = true;
      this.onClose?.();
    });
  }

  static open(client: Client): Promise<RemoteShell> {
    const nonce = `UC${crypto.randomBytes(6).toString('hex')}`;
    return new Promise((resolve, reject) => {
      try {
        client.exec(`exec bash --norc --noprofile -c ${quote(shellLoop(nonce))}`, (e, ch) => (e ? reject(e) : resolve(new RemoteShell(ch, nonce))));
      } catch (e) {
        // ssh2 throws at once on a connection that is no longer up.
        reject(e as Error);
      }
    });
  }

  get usable(): boolean {
    return !this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.channel.close();
  }

  /**
   * Runs one command. A timeout or abort closes the shell (the node kills
   * the command); `usable` says whether the shell may take another.
   */
  run(command: string, timeoutMs: number, signal: AbortSignal | undefined, aborted: () => Error): Promise<ExecResult> {
    const seq = ++this.seq;
    const marker = Buffer.from(`\0${this.nonce}:${seq}:`);
    return new Promise<ExecResult>((resolve, reject) => {
      const out = new Stream(marker);
      const err = new Stream(marker);
      let done = false;
      const finish = (r: { timedOut: boolean } | { error: Error }) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.onOut = this.onErr = this.onClose = undefined;
        if ('error' in r) return reject(r.error);
        const code = !r.timedOut && out.code !== undefined && out.code === err.code ? out.code : null;
        resolve({ stdout: out.text(), stderr: err.text(), code, timedOut: r.timedOut });
      };
      const check = () => {
        if (out.code !== undefined && err.code !== undefined) finish({ timedOut: false });
      };
      // Closing the channel is the kill (the loop's EOF); don't wait for the node to confirm.
      const stop = (r: { timedOut: boolean } | { error: Error }) => {
        this.close();
        finish(r);
      };
      const timer = setTimeout(() => stop({ timedOut: true }), timeoutMs);
      const onAbort = () => stop({ error: aborted() });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.onOut = (b) => {
        out.push(b);
        check();
      };
      this.onErr = (b) => {
        err.push(b);
        check();
      };
      // The shell died under the command (connection lost, node rebooted): what was seen, no exit code.
      this.onClose = () => finish({ timedOut: false });
      if (this.closed) return finish({ timedOut: false });
      const body = Buffer.from(command, 'utf8');
      this.channel.write(Buffer.concat([Buffer.from(`${seq} ${body.length}\n`), body]));
    });
  }
}

/** One output stream of a command, up to its end marker ("\0<nonce>:<seq>:<code>\0"). */
class Stream {
  private chunks: Buffer[] = [];
  private size = 0;
  private body?: Buffer;
  code?: number;

  constructor(private readonly marker: Buffer) {}

  push(b: Buffer): void {
    if (this.code !== undefined) return; // a straggler the command left behind: not its output
    this.chunks.push(b);
    this.size += b.length;
    // The marker may straddle chunks: search the tail that could hold it.
    const all = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    this.chunks = [all];
    const from = Math.max(0, this.size - b.length - this.marker.length - 8);
    const at = all.indexOf(this.marker, from);
    if (at < 0) return;
    const end = all.indexOf(0, at + this.marker.length);
    if (end < 0) return;
    this.code = Number(all.subarray(at + this.marker.length, end).toString());
    this.body = all.subarray(0, at);
  }

  text(): string {
    return (this.body ?? Buffer.concat(this.chunks)).toString('utf8');
  }
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
