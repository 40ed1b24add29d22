/**
 * Readiness and status lines for systemd (Type=notify, NotifyAccess=all)
 * through `systemd-notify` as a child process (it waits until the manager
 * has taken the message). Nothing when not run by systemd.
 */
import { execFile } from 'node:child_process';

export function sdNotify(...args: string[]): Promise<void> {
  if (!process.env.NOTIFY_SOCKET) return Promise.resolve();
  return new Promise((resolve) => {
    execFile('systemd-notify', args, { timeout: 15_000 }, () => resolve());
  });
}

/** One STATUS= line (what `systemctl status` shows). */
export const statusArg = (text: string) => `--status=${text.replace(/\s+/g, ' ').slice(0, 200)}`;
