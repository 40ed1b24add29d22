/**
 * Boot layer: every node booted from the shared image, knows who it is,
 * runs what its stack says it must, and reaches every other node over the
 * cluster network.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import { bootSvg } from '../../fixtures/boot-chart.js';
import { clusterInfo, test } from '../../fixtures/cluster.js';
import { runDir } from '../../fixtures/run-dir.js';
import { readBootRecords } from '../../harness/cluster/boot-record.js';
import { budget } from '../../harness/budget.js';

/** Host and guest clocks may differ by scheduling noise, not by drift. */
const MAX_CLOCK_SKEW_S = 5;
/** What kola looks for on a console after every test. */
const CONSOLE_ALARMS = /Kernel panic|BUG: |Oops|Out of memory: Killed|You are in emergency mode|Give root password for maintenance/;

// Nodes are independent VMs: check them side by side.
describe.concurrent.each(clusterInfo.nodes.map((n) => [n.name, n.clusterIp] as const))('%s', (name, clusterIp) => {
  test('is reachable over SSH as root with the cluster key', async ({ cluster, expect }) => {
    const node = cluster.node(name);
    expect((await node.succeed('id -un')).trim()).toBe('root');
  });

  test('has its hostname and cluster address', async ({ cluster, expect }) => {
    const node = cluster.node(name);
    const hostname = (await node.succeed('hostname')).trim();
    const addrs = await node.succeed('ip -4 -o addr show dev cluster0');
    expect(hostname, `${name}: hostname`).toBe(name);
    expect(addrs, `${name}: cluster0 addresses`).toContain(`inet ${clusterIp}/24`);
  });

  test('has the vCPUs its QEMU command line gives it, all online', async ({ cluster, expect }) => {
    const want = clusterInfo.expect[name]?.vcpus;
    if (want === undefined) throw new Error(`${name}: the cluster record has no vCPU expectation for this node (a cluster.json from before vCPUs were recorded: restart the cluster)`);
    const online = (await cluster.node(name).succeed('getconf _NPROCESSORS_ONLN')).trim();
    expect(Number(online), `${name}: CPUs online (getconf _NPROCESSORS_ONLN) against -smp ${want}`).toBe(want);
  });

  test('runs the units its stack requires', async ({ cluster, expect }) => {
    const node = cluster.node(name);
    const units = cluster.expectedUnits(name);
    expect(units.length, `${name}: the stack names units for this node`).toBeGreaterThan(0);
    const inactive = await node.inactiveUnits(units);
    // The names in the message itself: a report shows the message, and Vitest shortens long array entries.
    expect(inactive, `${name}: units not active: ${inactive.map((u) => u.split('\n')[0]).join('; ')}`).toEqual([]);
  });

  test('is running, not degraded', async ({ cluster, expect }) => {
    const node = cluster.node(name);
    const state = (await node.execute('systemctl is-system-running')).stdout.trim();
    const failed = await node.failedUnits();
    const journals = await Promise.all(failed.map(async (u) => `--- ${u} ---\n${await node.journal(u, 15)}`));
    expect({ state, failed }, `${name}: system state\n${journals.join('\n')}`).toEqual({ state: 'running', failed: [] });
  });

  test('restarts no service (nothing crash-loops at idle)', async ({ cluster, expect }) => {
    const node = cluster.node(name);
    const out = await node.succeed(
      "systemctl show -p Id -p NRestarts $(systemctl list-units --type=service --all --plain --no-legend | awk '{print $1}')",
    );
    const restarted = out
      .split('\n\n')
      .map((block) => Object.fromEntries(block.trim().split('\n').map((l) => l.split('=', 2))))
      .filter((u) => Number(u.NRestarts ?? 0) > 0)
      .map((u) => `${u.Id} restarted ${u.NRestarts}x`);
    expect(restarted, `${name}: restarted services: ${restarted.join('; ')}`).toEqual([]);
  });

  test('reaches every other node over the cluster network', async ({ cluster, expect }) => {
    const node = cluster.node(name);
    const others = clusterInfo.nodes.filter((n) => n.name !== name);
    const script = others.map((o) => `ping -c 1 -W 5 -I cluster0 ${o.clusterIp} >/dev/null 2>&1 && echo "${o.name} ok" || echo "${o.name} unreachable"`).join('; ');
    const lines = (await node.succeed(script)).trim().split('\n');
    const unreachable = lines.filter((l) => !l.endsWith(' ok'));
    expect(unreachable, `${name}: cluster peers over cluster0: ${unreachable.join('; ')}`).toEqual([]);
    expect(lines).toHaveLength(others.length);
  });

  test('takes a file over SFTP and hands it back', async ({ cluster, expect }) => {
    const node = cluster.node(name);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `uc-${name}-`));
    try {
      const payload = `${name} ${crypto.randomUUID()}\n`;
      fs.writeFileSync(path.join(dir, 'up'), payload);
      await node.putFile(path.join(dir, 'up'), '/run/ultracloud-sftp-check');
      expect(await node.succeed('cat /run/ultracloud-sftp-check && rm /run/ultracloud-sftp-check')).toBe(payload);
      await node.succeed(`echo ${name}-back > /run/ultracloud-sftp-back`);
      await node.getFile('/run/ultracloud-sftp-back', path.join(dir, 'down'));
      expect(fs.readFileSync(path.join(dir, 'down'), 'utf8')).toBe(`${name}-back\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('forwards a host port to a guest port through SSH', async ({ cluster, expect }) => {
    const node = cluster.node(name);
    const fwd = await node.forward(22);
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        const sock = net.connect(fwd.port, '127.0.0.1');
        sock.setTimeout(20_000, () => sock.destroy(new Error('no banner within 20 s')));
        sock.once('data', (d) => {
          resolve(d.toString());
          sock.destroy();
        });
        sock.once('error', reject);
      });
      expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
    } finally {
      await fwd.close();
    }
  });

  test('keeps the host clock', async ({ cluster, expect }) => {
    const node = cluster.node(name);
    const before = Date.now() / 1000;
    const guest = Number((await node.succeed('date +%s.%N')).trim());
    const after = Date.now() / 1000;
    const skew = guest < before ? before - guest : guest > after ? guest - after : 0;
    expect(skew, `${name}: guest clock ${guest} vs host ${before}..${after}`).toBeLessThan(MAX_CLOCK_SKEW_S);
  });

  test('console shows no kernel panic, oops, OOM kill or emergency shell', async ({ cluster, expect }) => {
    const node = cluster.node(name);
    const log = node.consoleTail(100_000);
    const alarms = log.split('\n').filter((l) => CONSOLE_ALARMS.test(l));
    expect(alarms, `${name}: console alarms`).toEqual([]);
  });
});

/**
 * The cluster's secrets travel as root-only fw_cfg files to the nodes whose
 * roles read them: never on a command line, in a log or in a report.
 */
describe('boots', () => {
  test('every node has a recorded boot (QEMU start or restore, SSH, units, ready checks, in that order), charted', async ({ annotate, expect }) => {
    const records = readBootRecords(clusterInfo.stateDir);
    for (const n of clusterInfo.nodes) {
      const mine = records.filter((r) => r.node === n.name);
      expect(mine.length, `${n.name}: boots recorded in ${clusterInfo.stateDir}/boot-timeline.jsonl`).toBeGreaterThan(0);
      for (const r of mine) expect(r.startedAt <= r.sshAt && r.sshAt <= r.unitsAt && r.unitsAt <= r.readyAt, `${n.name}: ${JSON.stringify(r)} in order`).toBe(true);
    }
    const chart = runDir('boot-timeline.svg');
    fs.writeFileSync(chart, await bootSvg(records));
    await annotate('boots: QEMU start or restore to SSH, units, ready, per node', 'chart', { path: chart, contentType: 'image/svg+xml' });
  });
});

describe('secrets', () => {
  /** Text forms a secret could leak in: as is, and base64 (what a command line would carry). */
  const forms = (b: Buffer) => [b.toString('utf8').trim(), b.toString('base64')].filter((f) => f.length >= 16);

  test.concurrent.for(clusterInfo.nodes.map((n) => n.name))('%s: only root reads the secrets its roles need, and none is on /proc/cmdline', async (name, { cluster, expect }) => {
    const node = cluster.node(name);
    const want = cluster.secretNames(name).sort();
    const present = (await node.succeed("find /run/ultracloud -maxdepth 1 -type f -printf '%f %m %u\\n'"))
      .split('\n')
      .map((l) => l.trim().split(' '))
      .filter(([f]) => cluster.secrets().some((x) => x.name === f));
    expect(present.map(([f]) => f).sort(), `${name}: secrets in /run/ultracloud`).toEqual(want);
    for (const [f, mode, owner] of present) expect(`${f} ${mode} ${owner}`, `${name}: ${f} root-only`).toBe(`${f} 600 root`);
    const cmdline = await node.succeed('cat /proc/cmdline');
    for (const x of cluster.secrets()) for (const f of forms(x.content)) expect(cmdline.includes(f), `${name}: ${x.name} on /proc/cmdline`).toBe(false);
    // Read as an unprivileged user: fw_cfg's copies are root-only too.
    const asNobody = await node.execute(`setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'cat /run/ultracloud/secret /sys/firmware/qemu_fw_cfg/by_name/opt/ultracloud/*/raw' 2>&1`);
    for (const x of cluster.secrets()) for (const f of forms(x.content)) expect(asNobody.stdout.includes(f), `${name}: ${x.name} readable by nobody`).toBe(false);
  });

  test('no secret in QEMU argv, host process lists, the state dir (but its secrets/) or the reports', async ({ cluster, expect }) => {
    const secrets = cluster.secrets();
    const ps = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((p) => {
      try {
        return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ');
      } catch {
        return '';
      }
    });
    const textFiles = (dir: string, skip: string[]): string[] =>
      !fs.existsSync(dir)
        ? []
        : fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
            const p = path.join(dir, e.name);
            if (skip.includes(p)) return [];
            if (e.isDirectory()) return textFiles(p, skip);
            // Disk images hold the nodes' own config files (with passwords in them), as any disk would.
            if (!e.isFile() || /\.(qcow2|img|raw)$/.test(e.name) || fs.statSync(p).size > 64 << 20) return [];
            return [p];
          });
    const stateFiles = textFiles(clusterInfo.stateDir, [path.join(clusterInfo.stateDir, 'secrets')]);
    const reports = textFiles(path.resolve('reports'), []);
    expect(stateFiles.some((f) => f.endsWith('vm.log')), 'state dir scan reaches the consoles').toBe(true);
    for (const x of secrets) {
      for (const f of forms(x.content)) {
        expect(ps.filter((c) => c.includes(f)), `${x.name} in a host process command line`).toEqual([]);
        expect(stateFiles.filter((p) => fs.readFileSync(p).includes(f)), `${x.name} in the state dir`).toEqual([]);
        expect(reports.filter((p) => fs.readFileSync(p).includes(f)), `${x.name} in reports/`).toEqual([]);
      }
    }
  });

  // k8shost.run: kube play, the pod's end, kube down (240 + 120 + 120 s; stacks/reference/k8shost has no TIMING export for them yet).
  test('a pod on a worker cannot read them', { timeout: budget(240, 120, 120) }, async ({ cluster, expect, signal }) => {
    const worker = cluster.nodeNames.find((n) => cluster.roles(n).includes('k8shost'))!;
    const out = await cluster.ops.k8shost.run(
      cluster.node(worker).withSignal(signal),
      `secret-probe-${crypto.randomBytes(3).toString('hex')}`,
      'echo PROBE-START; cat /proc/cmdline; cat /run/ultracloud/secret /run/ultracloud/signing-key.der 2>&1; cat /sys/firmware/qemu_fw_cfg/by_name/opt/ultracloud/*/raw 2>&1; cat /proc/1/environ 2>&1; echo PROBE-END',
    );
    expect(out, 'the probe pod ran to its end').toMatch(/PROBE-START[\s\S]*PROBE-END/);
    for (const x of cluster.secrets()) for (const f of forms(x.content)) expect(out.includes(f), `${x.name} readable in a pod on ${worker}`).toBe(false);
  });
});
