/**
 * Bare-metal bootstrap from the ISO (spec: baremetal-iso): raw-QEMU
 * chassis with blank disks boot the installer ISO, phone home to the
 * cluster's deployer, get their class's install plan, partition and
 * format per plan, unpack the node system, install GRUB, reboot from disk,
 * and the agent converges the installed system on the desired system
 * deployer names. One control-plane chassis (UEFI) and one worker (BIOS,
 * reset mid-install once) converge; a wrong bootstrap token and a plan that
 * fits no disk stop with their failure markers before anything is written.
 *
 * Markers, kernel parameters and each console go to baremetal-iso/ in the run folder (reports/latest).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { TestCluster, clusterInfo, skipAfterFailedStep, test } from '../../fixtures/cluster.js';
import {
  CHASSIS,
  type ChassisPlan,
  DEPLOYER_NODE,
  chassisSpec,
  dataSerial,
  definitions,
  kernelParams,
  newToken,
  nodeInfoMetric,
  systemSerial,
  writeRunFolder,
} from '../../fixtures/baremetal.js';
import { budget } from '../../harness/budget.js';
import { Chassis } from '../../harness/vm/chassis.js';
import { portFree } from '../../harness/host.js';
import { type BaremetalImages, chassisIso } from '../../harness/image/baremetal.js';
import { SshPool } from '../../harness/remote/ssh.js';
import { waitFor } from '../../harness/remote/wait.js';
import type { BaremetalNodeStatus } from '../../stacks/contracts.js';
import { runDir } from '../../fixtures/run-dir.js';
import { markersSvg } from '../../fixtures/baremetal-chart.js';

/**
 * Deadlines, measured on the 2-core TCG host with the six nodes up and all
 * four chassis booting at once (figures: docs/measurements.md):
 * - IMAGE_S: the ISO and bundle build (cached after).
 * - STAGE_S: the bundle's copy onto the deployer node.
 * - REFUSE_S: power-on to the failure marker (firmware, kernel, initramfs, phone-home).
 * - INSTALL_S: power-on to install:done (phone-home, plan, bundle download and unpack, GRUB).
 * - CONVERGE_S: install:done to the agent's healthy marker (reboot, firmware, systemd, apply, checks).
 */
const IMAGE_S = 900;
const STAGE_S = 300;
const REFUSE_S = 300;
const INSTALL_S = 900;
const CONVERGE_S = 600;

const RUN_DIR = runDir('baremetal-iso');
const DEP = new TestCluster(clusterInfo).ops.deployer.baremetal;

interface Run {
  plan: ChassisPlan;
  chassis: Chassis;
  params: Record<string, string>;
  startedAt?: number;
  result?: string;
}

describe.sequential('bare-metal bootstrap from the ISO', () => {
  skipAfterFailedStep();
  const tc = new TestCluster(clusterInfo);
  const runs: Run[] = [];
  const run = (id: string) => runs.find((r) => r.plan.id === id)!;
  let images: BaremetalImages;
  let ssh: SshPool | undefined;
  const tokens: Record<string, string> = Object.fromEntries(CHASSIS.map((p) => [p.id, newToken()]));

  const stopAll = () => Promise.all(runs.map((r) => r.chassis.stop()));
  beforeAll(async () => {
    const stateDir = path.join(clusterInfo.stateDir, 'baremetal');
    for (const p of CHASSIS) {
      const chassis = new Chassis(chassisSpec(p, path.join(stateDir, p.id, 'installer.iso'), path.join(clusterInfo.stateDir, 'vde/switch'), clusterInfo.portBase), path.join(stateDir, p.id));
      runs.push({ plan: p, chassis, params: {} });
    }
    // Machines left from an earlier run (a killed one) go first.
    await stopAll();
  });
  afterAll(async () => {
    await ssh?.closeAll();
    await stopAll();
    writeRunFolder(
      RUN_DIR,
      runs.map((r) => ({ plan: r.plan, params: r.params, markers: r.chassis.markers(), consoleLog: fs.existsSync(r.chassis.logFile) ? fs.readFileSync(r.chassis.logFile, 'utf8') : '', startedAt: r.startedAt, result: r.result })),
    );
    fs.writeFileSync(path.join(RUN_DIR, 'markers.svg'), await markersSvg(runs.map((r) => ({ chassis: r.plan.id, startedAt: r.startedAt, markers: r.chassis.markers() }))));
  });

  test('builds the installer ISO and the install bundle (cached by recipe)', { timeout: budget(IMAGE_S + STAGE_S) }, async ({ cluster }) => {
    images = await cluster.buildBaremetal();
    expect(fs.statSync(images.iso).size).toBe(images.isoBytes);
    // Cached by recipe: asked again, the cache answers with the same record (hash, build time) and rewrites nothing.
    const isoMtime = fs.statSync(images.iso).mtimeMs;
    const bundleMtime = fs.statSync(images.bundle).mtimeMs;
    expect(await cluster.buildBaremetal(), 'a second build of the same recipe: a cache hit, not a rebuild').toEqual(images);
    expect([fs.statSync(images.iso).mtimeMs, fs.statSync(images.bundle).mtimeMs], 'the ISO and the bundle untouched by the cache hit').toEqual([isoMtime, bundleMtime]);
    await DEP.stageBundle(cluster.node(DEPLOYER_NODE), images.bundle, images.bundleSha256);
  });

  test('deployer takes the node classes, desired systems and node records', async ({ cluster }) => {
    const key = fs.readFileSync(`${clusterInfo.keyPath}.pub`, 'utf8').trim();
    const node = cluster.node(DEPLOYER_NODE);
    await DEP.seed(node, definitions({ sha256: images.bundleSha256, bytes: images.bundleBytes }, tokens, key));
    const nodes = await DEP.nodes(node);
    for (const p of CHASSIS) {
      const n = nodes.find((x) => x.id === p.id);
      expect(n, `${p.id} in deployer`).toMatchObject({ class: p.class, state: 'registered', attempts: 0 });
    }
  });

  test('powers on the chassis with blank disks, each booting its ISO', { timeout: budget(120) }, async ({ cluster }) => {
    const url = DEP.url(cluster.node(DEPLOYER_NODE));
    for (const r of runs) {
      const port = r.chassis.spec.sshPort;
      if (!(await portFree(port))) throw new Error(`${r.plan.id}: host port 127.0.0.1:${port} (its SSH forward) is taken`);
      await r.chassis.create();
      r.params = kernelParams(r.plan, url, r.plan.wrongToken ? newToken() : tokens[r.plan.id]);
      await chassisIso(images, r.chassis.spec.iso, r.params);
      r.startedAt = Date.now();
      await r.chassis.start();
    }
  });

  test('refuses a wrong bootstrap token: the install stops with a failure marker, nothing written', { timeout: budget(REFUSE_S + 30) }, async ({ cluster }) => {
    const r = run('bm-refused');
    const m = await r.chassis.waitForFailure('phone-home', REFUSE_S * 1000);
    expect(m.detail).toMatch(/refused \(403\)/);
    r.result = `refused: ${m.detail}`;
    await r.chassis.stop();
    for (const i of r.chassis.spec.disks.keys()) expect(await r.chassis.diskWritten(i), `disk ${i} untouched`).toBe(false);
    const n = (await DEP.nodes(cluster.node(DEPLOYER_NODE))).find((x) => x.id === r.plan.id);
    expect(n).toMatchObject({ state: 'registered', attempts: 0 });
  });

  test('fails a plan whose disk selector matches no disk, before anything is written', { timeout: budget(REFUSE_S + 30) }, async ({ cluster }) => {
    const r = run('bm-nodisk');
    const m = await r.chassis.waitForFailure('disk-selector', REFUSE_S * 1000);
    // The reason names the selector and the disks the machine has.
    expect(m.detail).toContain('UCARCHIVE-*');
    expect(m.detail).toContain(systemSerial(r.plan));
    r.result = `disk-selector: ${m.detail}`;
    await r.chassis.stop();
    for (const i of r.chassis.spec.disks.keys()) expect(await r.chassis.diskWritten(i), `disk ${i} untouched`).toBe(false);
    // deployer shows why, never an install under way.
    const n = (await DEP.nodes(cluster.node(DEPLOYER_NODE))).find((x) => x.id === r.plan.id);
    expect(n).toMatchObject({ state: 'failed', step: 'disk-selector' });
    expect(n?.message).toContain('UCARCHIVE-*');
  });

  test('a worker reset mid-install boots the ISO again and reinstalls', { timeout: budget(INSTALL_S + 60) }, async ({ cluster }) => {
    const r = run('bm-w01');
    const first = await r.chassis.waitForMarker('phone-home:accepted', INSTALL_S * 1000);
    await r.chassis.waitForMarker(r.plan.resetAfter!, INSTALL_S * 1000);
    const before = r.chassis.markers().length;
    await r.chassis.reset();
    const second = await r.chassis.waitForMarker('phone-home:accepted', INSTALL_S * 1000, { after: before });
    expect(second.detail, 'a new install').not.toBe(first.detail);
    const n = (await DEP.nodes(cluster.node(DEPLOYER_NODE))).find((x) => x.id === r.plan.id)!;
    expect(n).toMatchObject({ attempts: 2, installId: second.detail });
    expect(n.state).not.toBe('converged');
  });

  test('both chassis install, reboot from disk and converge on their desired systems', { timeout: budget(INSTALL_S + CONVERGE_S + 60) }, async ({ cluster, annotate }) => {
    const node = cluster.node(DEPLOYER_NODE);
    await Promise.all(
      ['bm-cp01', 'bm-w01'].map(async (id) => {
        const r = run(id);
        const lastPhone = r.chassis.markers().filter((m) => m.step === 'phone-home:accepted').at(-1);
        const after = lastPhone ? r.chassis.markers().indexOf(lastPhone) : 0;
        const done = await r.chassis.waitForMarker('install:done', INSTALL_S * 1000, { after });
        await r.chassis.waitForMarker('agent:healthy', CONVERGE_S * 1000, { after: r.chassis.markers().indexOf(done) });
        const installId = done.detail;
        const st = await waitFor<BaremetalNodeStatus>(
          { what: `${id} converged in deployer`, timeoutMs: 60_000, intervalMs: 3000, node: id },
          async () => {
            const n = (await DEP.nodes(node)).find((x) => x.id === id);
            return n?.state === 'converged' ? { ok: true, value: n } : { ok: false, seen: JSON.stringify(n) };
          },
        );
        expect(st.installId).toBe(installId);
        expect(st.report).toMatchObject({ installId, healthy: true, generation: st.generation });
        r.result = `converged (install ${installId}, system ${st.system} ${st.generation}, ${st.attempts} attempt${st.attempts > 1 ? 's' : ''})`;
      }),
    );
    // Every chassis so far (the refused, the diskless, the reset and these two), as a chart beside the markers.
    const chart = path.join(RUN_DIR, 'markers-converged.svg');
    fs.mkdirSync(RUN_DIR, { recursive: true });
    fs.writeFileSync(chart, await markersSvg(runs.map((r) => ({ chassis: r.plan.id, startedAt: r.startedAt, markers: r.chassis.markers() }))));
    await annotate('bare-metal markers per chassis, seconds since power-on', 'chart', { path: chart, contentType: 'image/svg+xml' });
  });

  test('the installed disks run the desired systems (over SSH, not the ISO)', { timeout: budget(300) }, async () => {
    ssh = new SshPool(new Map(runs.map((r) => [r.plan.id, { port: r.chassis.spec.sshPort, privateKeyPath: clusterInfo.keyPath }])));
    const sh = async (id: string, cmd: string) => {
      const res = await ssh!.exec(id, cmd, 60_000);
      if (res.code !== 0) throw new Error(`${id}: ${cmd}: exit ${res.code}: ${res.stderr || res.stdout}`);
      return res.stdout.trim();
    };
    for (const id of ['bm-cp01', 'bm-w01']) {
      const r = run(id);
      await waitFor({ what: `SSH on ${id}`, timeoutMs: 120_000, intervalMs: 3000, node: id }, async () => {
        try {
          return { ok: (await ssh!.exec(id, 'true', 20_000)).code === 0 };
        } catch (e) {
          ssh!.drop(id);
          return { ok: false, seen: (e as Error).message };
        }
      });
      expect(await sh(id, 'hostname')).toBe(id);
      const cmdline = await sh(id, 'cat /proc/cmdline');
      expect(cmdline, 'booted from the disk, not the ISO').not.toContain('ultracloud.deployer_url');
      // The root and data filesystems are on the disks the selectors chose, whatever their order on the bus.
      const rootDisk = await sh(id, 'lsblk -no PKNAME "$(findmnt -no SOURCE /)"');
      expect(await sh(id, `lsblk -dno SERIAL /dev/${rootDisk}`)).toBe(systemSerial(r.plan));
      const dataDisk = await sh(id, 'lsblk -no PKNAME "$(findmnt -no SOURCE /var/lib/ultracloud)"');
      expect(await sh(id, `lsblk -dno SERIAL /dev/${dataDisk}`)).toBe(dataSerial(r.plan));
      expect(await sh(id, 'test -d /sys/firmware/efi && echo uefi || echo bios')).toBe(r.plan.firmware);
      expect(JSON.parse(await sh(id, 'cat /etc/ultracloud/install.json'))).toMatchObject({ nodeId: id });
    }
    // The control plane's etcd answers and keeps its data on the data disk.
    expect(await sh('bm-cp01', 'systemctl is-active etcd')).toBe('active');
    await sh('bm-cp01', 'ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 put /bm/probe installed');
    expect(await sh('bm-cp01', 'ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 get --print-value-only /bm/probe')).toBe('installed');
    await sh('bm-cp01', 'test -d /var/lib/ultracloud/etcd/member');
    // The worker's node-exporter serves, with the textfile its node record's override added.
    expect(await sh('bm-w01', 'systemctl is-active prometheus-node-exporter')).toBe('active');
    expect(await sh('bm-w01', 'curl -fsS http://127.0.0.1:9100/metrics')).toContain(nodeInfoMetric(run('bm-w01').plan));
  });
});

