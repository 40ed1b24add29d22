import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HostError } from '../../harness/errors.js';
import {
  BOOT_BYTES_PER_NODE,
  IMAGE_BUILD_BYTES,
  diskSpaceProblem,
  formatBytes,
  freeBytes,
  requireFreeSpace,
} from '../../harness/host.js';
import { type HostProcess, clusterProcessKind, findClusterProcesses, findProcesses, isAlive } from '../../harness/proc.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;

describe('disk space check', () => {
  it('is silent when enough is free', () => {
    expect(diskSpaceProblem('/var/cache/uc', 10 * GiB, IMAGE_BUILD_BYTES, 'an image build')).toBeUndefined();
    expect(diskSpaceProblem('/srv/state', 6 * BOOT_BYTES_PER_NODE, 6 * BOOT_BYTES_PER_NODE, 'booting 6 node(s)')).toBeUndefined();
  });

  it('is one line naming the folder, what is free, what is needed and what for', () => {
    const line = diskSpaceProblem('/var/cache/uc', 1.5 * GiB, 6 * GiB, 'an image build', 'set ULTRACLOUD_IMAGE_CACHE elsewhere')!;
    expect(line).not.toContain('\n');
    expect(line).toContain('/var/cache/uc');
    expect(line).toContain('1.5 GiB free');
    expect(line).toContain('6.0 GiB needed');
    expect(line).toContain('an image build');
    expect(line).toContain('ULTRACLOUD_IMAGE_CACHE');
  });

  it('speaks MiB below a GiB', () => {
    expect(formatBytes(200 * MiB)).toBe('200 MiB');
    expect(diskSpaceProblem('/srv/state', 100 * MiB, 2 * BOOT_BYTES_PER_NODE, 'booting 2 node(s)')).toContain('100 MiB free');
  });

  it('sizes: an image build needs a few GiB, a boot a few hundred MiB per node', () => {
    expect(IMAGE_BUILD_BYTES).toBeGreaterThanOrEqual(3 * GiB);
    expect(IMAGE_BUILD_BYTES).toBeLessThanOrEqual(10 * GiB);
    expect(BOOT_BYTES_PER_NODE).toBeGreaterThanOrEqual(100 * MiB);
    expect(BOOT_BYTES_PER_NODE).toBeLessThanOrEqual(GiB);
  });

  it('reads free space of a folder that does not exist yet from its nearest parent', () => {
    const free = freeBytes(path.join(os.tmpdir(), 'no', 'such', 'folder'));
    expect(free).toBeGreaterThan(0);
  });

  it('requireFreeSpace throws a HostError when the need cannot be met', () => {
    expect(() => requireFreeSpace(os.tmpdir(), 2 ** 60, 'a test')).toThrow(HostError);
    expect(() => requireFreeSpace(os.tmpdir(), 1, 'a test')).not.toThrow();
  });
});

describe('which processes belong to a cluster', () => {
  const state = '/srv/uc-state';
  const p = (argv: string[], exe?: string): HostProcess => ({ pid: 4242, argv, exe });

  it('knows QEMU, the VDE switch and the CPU sampler of this state dir', () => {
    expect(clusterProcessKind(p(['qemu-system-x86_64', '-name', 'node01', '-pidfile', `${state}/node01/qemu.pid`], '/usr/bin/qemu-system-x86_64'), state)).toBe('qemu');
    expect(clusterProcessKind(p(['vde_switch', '--sock', `${state}/vde/switch`], '/usr/bin/vde_switch'), state)).toBe('vde');
    expect(
      clusterProcessKind(p(['/usr/bin/node', '--import', 'tsx', '/repo/harness/cpu-sampler.ts', `${state}/`], '/usr/bin/node'), state),
    ).toBe('sampler');
  });

  it('falls back to argv[0] when the executable link is not readable', () => {
    expect(clusterProcessKind(p(['/usr/bin/qemu-system-x86_64', '-pidfile', `${state}/node02/qemu.pid`]), state)).toBe('qemu');
  });

  it.each([
    ['less', ['less', `${state}/node01/vm.log`], '/usr/bin/less'],
    ['tail -F (cluster logs -f)', ['tail', '-n', '200', '-F', `${state}/node01/vm.log`], '/usr/bin/tail'],
    ['ssh with the cluster key (cluster ssh)', ['ssh', '-i', `${state}/ssh/id_ed25519`, '-p', '22201', 'root@127.0.0.1'], '/usr/bin/ssh'],
    ['an editor on the sampler source', ['vim', '/repo/harness/cpu-sampler.ts', `${state}/x`], '/usr/bin/vim.basic'],
    ['node running something else', ['node', '/repo/cli/cluster.ts', 'logs', `${state}/`], '/usr/bin/node'],
    ['a shell named like QEMU in argv[0] only', ['qemu-system-x86_64', `${state}/node01/qemu.pid`], '/usr/bin/dash'],
  ])('does not count %s', (_what, argv, exe) => {
    expect(clusterProcessKind(p(argv, exe), state)).toBeUndefined();
  });

  it('does not count a QEMU of another state dir', () => {
    expect(clusterProcessKind(p(['qemu-system-x86_64', '-pidfile', '/srv/uc-state-other/node01/qemu.pid'], '/usr/bin/qemu-system-x86_64'), state)).toBeUndefined();
  });
});

describe('findClusterProcesses on this host', () => {
  let tmp: string;
  let stateDir: string;
  const children: ChildProcess[] = [];

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-proc-'));
    stateDir = path.join(tmp, 'state');
    fs.mkdirSync(path.join(stateDir, 'node01'), { recursive: true });
    fs.writeFileSync(path.join(stateDir, 'node01', 'vm.log'), 'console\n');
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  async function start(cmd: string, args: string[]): Promise<ChildProcess> {
    const child = spawn(cmd, args, { stdio: 'ignore' });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    // Until exec finished, /proc shows the parent's command line.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline && !fs.readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').includes(stateDir)) await new Promise((r) => setTimeout(r, 20));
    return child;
  }

  it('leaves a viewer of vm.log alone but finds the sampler', async () => {
    const viewer = await start('tail', ['-f', path.join(stateDir, 'node01', 'vm.log')]);
    // A stand-in sampler: node running a file named cpu-sampler.ts with the state dir, as cpu.ts starts it.
    const script = path.join(tmp, 'harness', 'cpu-sampler.ts');
    fs.mkdirSync(path.dirname(script));
    fs.writeFileSync(script, 'setTimeout(() => {}, 30000);\n');
    const sampler = await start(process.execPath, [script, `${stateDir}/`]);

    const mentions = findProcesses(`${stateDir}/`).map((x) => x.pid);
    expect(mentions).toEqual(expect.arrayContaining([viewer.pid, sampler.pid]));
    const ours = findClusterProcesses(stateDir);
    expect(ours.map((x) => [x.pid, x.kind])).toEqual([[sampler.pid, 'sampler']]);
    expect(isAlive(viewer.pid!)).toBe(true);
  });
});
