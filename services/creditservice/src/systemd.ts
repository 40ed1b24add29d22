/**
 * Readiness for systemd (Type=notify, NotifyAccess=all): `systemd-notify`
 * as a child process. Since systemd 246 it waits until the manager has taken
 * the message (a barrier), so the message is not lost when it exits first.
 */
import { execFile } from 'node:child_process';

export type ExecFile = (file: string, args: string[], done: (err: Error | null) => void) => void;

const execFileDefault: ExecFile = (file, args, done) => {
  execFile(file, args, { timeout: 15_000 }, (err) => done(err));
};

/** Runs `systemd-notify <args>` when NOTIFY_SOCKET is set; resolves false when it is not. */
export function sdNotify(
  args: string[],
  env: Record<string, string | undefined> = process.env,
  exec: ExecFile = execFileDefault,
): Promise<boolean> {
  if (!env.NOTIFY_SOCKET) return Promise.resolve(false);
  return new Promise((resolve, reject) => {
    exec('systemd-notify', args, (err) => (err ? reject(err) : resolve(true)));
  });
}

/** One STATUS= line (what `systemctl status` shows): single line, bounded. */
export function statusArg(text: string): string {
  return `--status=${text.replace(/\s+/g, ' ').slice(0, 200)}`;
}
