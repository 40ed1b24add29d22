/** Detached: records CPU samples for every node of a state dir (see cpu.ts). */
import fs from 'node:fs';
import path from 'node:path';
import { recordSample } from './cpu.js';
import { daemonPid, sleep } from './proc.js';

const stateDir = process.argv[2];
let idleRounds = 0;
while (idleRounds < 3) {
  let live = 0;
  for (const entry of fs.existsSync(stateDir) ? fs.readdirSync(stateDir) : []) {
    const pidFile = path.join(stateDir, entry, 'qemu.pid');
    const pid = daemonPid(pidFile);
    if (pid) {
      live++;
      recordSample(path.join(stateDir, entry), pid);
    }
  }
  idleRounds = live === 0 ? idleRounds + 1 : 0;
  await sleep(10_000);
}
