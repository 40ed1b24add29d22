/**
 * The cluster L2: one userspace VDE switch per cluster. Its addresses exist
 * only inside the switch; nothing on the host routes to them.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { HostError } from '../errors.js';
import { daemonPid, sleep, terminate } from '../proc.js';

export class VdeSwitch {
  readonly dir: string;
  readonly socket: string;
  readonly pidFile: string;
  readonly mgmt: string;

  constructor(stateDir: string) {
    this.dir = path.join(stateDir, 'vde');
    this.socket = path.join(this.dir, 'switch');
    this.pidFile = path.join(this.dir, 'vde_switch.pid');
    this.mgmt = path.join(this.dir, 'mgmt');
  }

  pid(): number | undefined {
    return daemonPid(this.pidFile);
  }

  async start(): Promise<void> {
    if (this.pid()) return;
    fs.mkdirSync(this.dir, { recursive: true });
    fs.rmSync(this.socket, { recursive: true, force: true });
    fs.rmSync(this.mgmt, { force: true });
    const r = await execa('vde_switch', ['--daemon', '--sock', this.socket, '--pidfile', this.pidFile, '--mgmt', this.mgmt], {
      reject: false,
      all: true,
    });
    const deadline = Date.now() + 5000;
    while (!(this.pid() && fs.existsSync(path.join(this.socket, 'ctl'))) && Date.now() < deadline) await sleep(50);
    if (!this.pid()) throw new HostError(`vde_switch did not start (exit ${r.exitCode}): ${r.all?.trim() || 'no output'}`);
  }

  async stop(): Promise<void> {
    const pid = this.pid();
    if (pid) await terminate([pid]);
    fs.rmSync(this.pidFile, { force: true });
  }
}
