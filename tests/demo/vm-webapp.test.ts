/**
 * The tenant web app (spec: demo-vm-webapp): a PrismNet-attached VM, made
 * through PlasmaVMC on a worker, boots a small Debian guest image (built on
 * the host, cached by recipe) from a CoronaFS root volume; its data volume
 * carries its bootstrap config. The app inside keeps its counter in FlareDB
 * and writes a JSON snapshot per visit to LightningStor over S3. The state
 * survives a guest restart and a move to the other worker: a live migration
 * where the harness expects nested KVM on both workers (downtime measured
 * by a client polling /state; a worker that lost KVM fails it), a cold move
 * only where the harness expects no KVM, and then the live migration is
 * reported skipped with that reason. FlareDB's primary and a swift-proxy are
 * stopped on the way: visits fail visibly and nothing acknowledged is lost.
 * Then everything is deleted: each part shown present first, then gone with
 * its server answering.
 *
 * Steps hand their results on through `stepState` (fixtures/scenario.ts): a
 * step picked alone fails with "needs step X"; after a failed step in the
 * same run, the steps that need it skip.
 *
 * Everything the host asks goes through the host forward the operator gets
 * (127.0.0.1:<port> → node04 → the tenant network): the same path as
 * `cluster serve-vm-webapp`, which runs this file with ULTRACLOUD_WEBAPP_SERVE=1
 * and leaves the VM running (the fault and delete steps are skipped there).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { type ExpectStatic, type TestContext, afterAll, describe } from 'vitest';
import { type TestCluster, clusterInfo, skipAfterFailedStep, test, timing } from '../../fixtures/cluster.js';
import { stepState } from '../../fixtures/scenario.js';
import {
  CENTRAL,
  CONTROL,
  DATA_MIB,
  DEMO,
  HOME,
  OTHER,
  ROOT_MIB,
  S3_PROXY,
  SERVE,
  WORKERS,
  type WebappAnswer,
  bucketKeys,
  callApp,
  gatewaySpec,
  guestSpec,
  hostUrl,
  removeWebapp,
  routerSpec,
  webappConfig,
} from '../../fixtures/webapp.js';
import { budget } from '../../harness/budget.js';
import type { Expectation } from '../../harness/expectations.js';
import type { BuiltGuestImage } from '../../harness/image/guest.js';
import type { Node } from '../../harness/remote/node.js';
import { sleep } from '../../harness/proc.js';
import type { Volume } from '../../stacks/contracts.js';
import { parseGuestMarker } from '../../stacks/reference/plasmavmc/index.js';
import { WEBAPP_PORT } from '../../guests/webapp/index.js';
import { runDir } from '../../fixtures/run-dir.js';
import { type Poll, migrationSvg } from '../../fixtures/migration-chart.js';

const SERVING = process.env.ULTRACLOUD_WEBAPP_SERVE === '1';
const D = SERVING ? SERVE : DEMO;
const URL = hostUrl(D, clusterInfo.portBase);
/** Visits before the restart. */
const VISITS = 5;

/**
 * Deadlines, measured on the 2-core TCG host (six nodes, nested KVM on the
 * workers, a helper's runs loading the host; whole file 7-8.5 min):
 * - IMAGE_S: the guest image build (44-112 s; cached after) and its copy to node04.
 * - NET_S: switch, router, gateway with routes on three control nodes, metadata port on both workers.
 * - VOLUME_S: the root volume from the image (qemu-img convert of 512 MiB, 197 MiB used) and the data volume (~80 s with the copy).
 * - BOOT_S: `virsh start` to the app answering /state through the forward (44-46 s).
 * - VISIT_S: one visit (a snapshot PUT, a CAS, a WAIT for a replica): 0.6-1.7 s; the app's own deadlines add up to under 30 s.
 * - FAILOVER_S / REJOIN_S: flaredb's own deadlines (visits answered again 12.7 s after the stop; the old primary a replica 36-38 s after its start).
 * - MIGRATE_S: plasmavmc's live migration deadline plus the state settling after (192 MiB guest: 35.6 s, 3.4 s without an answer).
 */
const { flaredb: FL, prismnet: PN } = timing;
const IMAGE_S = 600;
const NET_S = 240;
const VOLUME_S = 300;
const BOOT_S = { kvm: 300, qemu: 900 };
const VISIT_S = 60;
const FAILOVER_S = FL.failoverS;
const REJOIN_S = FL.rejoinS;
const MIGRATE_S = 300;
/** swift-proxy answering again after its start (60-70 s under TCG). */
const PROXY_BACK_S = 240;
/** A client's poll interval while the VM moves. */
const POLL_MS = 250;

interface State {
  name: string;
  counter: number;
  lastSnapshot: string | null;
  node: string | null;
  bootId: string;
  error?: string;
}

/** The steps whose results later steps need (their titles, as the report shows them). */
const STEP = {
  image: 'the guest image is built on the host, cached by its recipe',
  network: 'a PrismNet switch with a router, a gateway on node04 and a metadata port on both workers',
  volumes: 'CoronaFS volumes on node04: the root from the image, the data volume holding the bootstrap config',
  boot: 'the VM boots on node04 from its root volume, reads its config from the data volume, and the app answers /state from the host',
  visits: `${VISITS} visits count up in FlareDB, each with its JSON snapshot in LightningStor`,
  moveLive: 'the VM moves to node05 by live migration, a client polling /state sees the downtime, and the state is intact (the same boot)',
  moveCold: 'the VM moves to node05 cold (stopped, started there) where the harness expects no nested KVM, and the state is intact',
};

/** What the harness expects of `node` (clusterInfo.expect: its QEMU argv and the host's facts); a record without it is an error, never "no KVM". */
function kvmExpectation(node: string): Expectation {
  const want = clusterInfo.expect?.[node]?.nestedKvm;
  if (!want) throw new Error(`${node}: the cluster record has no nested-KVM expectation for this node (a cluster.json from before expectations: restart the cluster)`);
  return want;
}

/** A live migration where the harness expects nested KVM on both workers (home and other); the reason either way. */
function moveExpectation(): { live: boolean; reason: string } {
  const want = WORKERS.map((w) => ({ w, ...kvmExpectation(w) }));
  const without = want.filter((x) => !x.expected);
  const said = (xs: typeof want) => xs.map((x) => `${x.w}: ${x.reason}`).join('; ');
  return without.length === 0 ? { live: true, reason: said(want) } : { live: false, reason: said(without) };
}

/** The SHA-256 of a file on the host. */
async function fileSha256(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Snapshot keys of one counter value (services/webapp: snapshots/<10 digits>-<random>.json). */
const snapshotPrefix = (counter: number) => `snapshots/${String(counter).padStart(10, '0')}-`;

/** Figures for the report (demo-vm-webapp.json in the run folder) and the console. */
const figures: Record<string, unknown> = { deployment: D.name, url: URL };

describe.sequential(`tenant web app (${D.name})`, () => {
  skipAfterFailedStep();
  let clusterRef: TestCluster | undefined;
  // What each step hands on, in this run (fixtures/scenario.ts).
  const built = stepState<BuiltGuestImage>(STEP.image);
  const network = stepState<{ metadataUrl: string }>(STEP.network);
  const volumes = stepState<{ root: Volume; data: Volume; configSha256: string }>(STEP.volumes);
  /** The VM running on HOME, the host forward to it answering. */
  const booted = stepState<{ domainType: 'kvm' | 'qemu' }>(STEP.boot);
  /** The snapshot objects of the counted visits. */
  const visited = stepState<{ snapshots: string[] }>(STEP.visits);
  /** The VM running on OTHER (one of the two move steps, as the expectation picks). */
  const movedLive = stepState<{ node: string }>(STEP.moveLive);
  const movedCold = stepState<{ node: string }>(STEP.moveCold);
  /** Visits the app acknowledged (200): the counter may never fall below this. */
  let acked = 0;
  let state: State | undefined;

  const get = () => callApp<State>(URL, 'GET', '/state');
  const visit = () => callApp<State>(URL, 'POST', '/visit');

  /** The guest's console on `node`, waited on for a marker with these fields; fails at once on a root or config error. */
  const waitMarker = (cluster: TestCluster, node: Node, prefix: string, want: Record<string, string>, timeoutS: number) =>
    cluster.eventually(`${D.name} on ${node.name} prints ${prefix} ${JSON.stringify(want)}`, timeoutS, async () => {
      const log = await cluster.ops.plasmavmc.console(node, D.name);
      const found = parseGuestMarker(log, prefix, want);
      const failed = parseGuestMarker(log, 'ULTRACLOUD_GUEST_ROOT_ERROR') ?? parseGuestMarker(log, 'ULTRACLOUD_WEBAPP_CONFIG_ERROR') ?? parseGuestMarker(log, 'ULTRACLOUD_GUEST_NET_ERROR');
      return { ok: !!found, value: found, seen: log.slice(-1000) || '(console empty)', fail: failed ? new Error(`${node.name}: ${D.name}: ${failed.line}\n${log.slice(-1000)}`) : undefined };
    }, { node: node.name, intervalMs: 2000 });

  /** /state answering 200 through the host forward, with `check` true of it. */
  const waitState = (cluster: TestCluster, what: string, timeoutS: number, check: (s: State) => boolean = () => true) =>
    cluster.eventually(`${URL}state answers 200 ${what}`, timeoutS, async () => {
      const r = await get().catch((e: Error) => ({ status: 0, body: { error: e.message } as unknown as State, ms: 0 }));
      return { ok: r.status === 200 && check(r.body), value: r.body, seen: `${r.status} ${JSON.stringify(r.body).slice(0, 400)}` };
    }, { node: HOME, intervalMs: 2000 });

  /** A visit that must be acknowledged: 200, the counter one more than before, its snapshot named. */
  const visitOnce = async (expect: ExpectStatic) => {
    const before = state?.counter ?? 0;
    const r = await visit();
    expect(r.status, `POST /visit: ${JSON.stringify(r.body)}`).toBe(200);
    acked++;
    expect(r.body.counter, 'the counter after the visit').toBe(before + 1);
    expect(r.body.lastSnapshot, 'the visit names its snapshot').toMatch(/\S/);
    state = r.body;
    return r;
  };

  /**
   * Where the harness expects nested KVM on `node`, `type` (a guest's domain
   * type there) must be 'kvm': anything else means the worker lost KVM, and
   * the failure names what the worker lacks now.
   */
  const requireKvmGuest = async (cluster: TestCluster, expect: ExpectStatic, node: string, type: 'kvm' | 'qemu', what: string) => {
    const want = kvmExpectation(node);
    if (!want.expected || type === 'kvm') return;
    const kvm = await cluster.ops.plasmavmc.kvmAvailability(cluster.node(node));
    expect(type, `${node} lost KVM: nested KVM is expected there (${want.reason}), but ${what} is '${type}': ${kvm.reason}`).toBe('kvm');
  };

  test(STEP.image, { timeout: budget(IMAGE_S, 600) }, async ({ cluster, expect }) => {
    built.begin();
    clusterRef = cluster;
    // A failed earlier run's (or, for serve, the previous serve's) leftovers.
    await removeWebapp(cluster, D, clusterInfo.portBase);
    const t0 = Date.now();
    const image = await cluster.buildGuest();
    expect(image.bytes, 'the compressed qcow2').toBeGreaterThan(0);
    expect(image.virtualBytes, 'the root filesystem fits the root volume').toBeLessThanOrEqual(ROOT_MIB * 2 ** 20);
    // Cached by its recipe: the build lives in a folder named by the recipe's hash, next to the recipe it hashed.
    expect(path.basename(image.dir), 'the cache folder: the guest name and its recipe hash').toBe(`guest-${image.name}-${image.hash}`);
    expect(fs.existsSync(path.join(image.dir, 'recipe.json')), `${image.dir}/recipe.json (what the hash is of)`).toBe(true);
    // Asked again for the same recipe, the cache answers: the same record (hash, build time, checksum), nothing rebuilt.
    const diskMtime = fs.statSync(image.disk).mtimeMs;
    const t1 = Date.now();
    const again = await cluster.buildGuest();
    const hitSeconds = (Date.now() - t1) / 1000;
    expect(again, 'a second ensure of the same recipe: a cache hit (the same hash and builtAt), not a rebuild').toEqual(image);
    expect(fs.statSync(again.disk).mtimeMs, `${again.disk} untouched by the second ensure`).toBe(diskMtime);
    expect(await fileSha256(again.disk), 'the cached disk is the one its record names (sha256)').toBe(image.sha256);
    figures.image = {
      hash: image.hash,
      qcow2MiB: +(image.bytes / 2 ** 20).toFixed(1),
      rootMiB: +(image.rootBytes / 2 ** 20).toFixed(1),
      buildSeconds: image.buildSeconds,
      cachedBeforeThisRun: Date.parse(image.builtAt) < t0,
      hitSeconds,
    };
    built.set(image);
  });

  test(STEP.network, { timeout: budget(NET_S) }, async ({ cluster, expect }) => {
    network.begin();
    const { prismnet } = cluster.ops;
    const central = cluster.node(CENTRAL);
    await prismnet.createSwitch(central, D.name);
    await prismnet.ensureRouter(central, routerSpec(D));
    await prismnet.ensureGateway(central, cluster.node(HOME), gatewaySpec(D), CONTROL.map((n) => cluster.node(n)));
    const metadataUrl = (await prismnet.ensureMetadataPort(central, WORKERS.map((w) => cluster.node(w)), D.name, D.net.metadata)).url;
    await prismnet.createPort(central, D.name, D.ovnPort, D.mac, D.net.vm);
    expect(await prismnet.ports(central, D.name)).toContain(D.ovnPort);
    for (const c of CONTROL) {
      expect((await prismnet.gatewayRoutes(cluster.node(c))).map((r) => r.cidr), `${c}'s routes to tenant networks`).toContain(D.net.cidr);
    }
    network.set({ metadataUrl });
  });

  test(STEP.volumes, { timeout: budget(IMAGE_S, VOLUME_S) }, async ({ cluster, expect, skip }) => {
    volumes.begin();
    const image = built.need(skip);
    const { metadataUrl } = network.need(skip);
    const { coronafs } = cluster.ops;
    const home = cluster.node(HOME);
    const staged = await coronafs.stageImage(home, image.disk, image.sha256);
    const root = await coronafs.createVolume(home, D.rootVolume, ROOT_MIB, { image: staged });
    const secret = cluster.secrets().find((s) => s.name === 'secret')!.content.toString('utf8').trim();
    const config = webappConfig(D, { clusterIp: (n) => cluster.node(n).spec.clusterIp, secret, metadataUrl, runId: '' });
    const data = await coronafs.createVolume(home, D.dataVolume, DATA_MIB, { files: { 'webapp.json': `${JSON.stringify(config, null, 2)}\n` } });
    const configSha256 = crypto.createHash('sha256').update(`${JSON.stringify(config, null, 2)}\n`).digest('hex');
    figures.configSha256 = configSha256;
    expect(root).toMatchObject({ node: HOME, exported: true, sizeBytes: ROOT_MIB * 2 ** 20 });
    expect(data).toMatchObject({ node: HOME, exported: true, sizeBytes: DATA_MIB * 2 ** 20 });
    // Both are read by QEMU over NBD, also from the other worker (where the VM will move).
    expect(await coronafs.exportAnswers(cluster.node(OTHER), root.export), `${D.rootVolume} answers NBD from ${OTHER}`).toBe(true);
    expect(await coronafs.exportAnswers(cluster.node(OTHER), data.export), `${D.dataVolume} answers NBD from ${OTHER}`).toBe(true);
    volumes.set({ root, data, configSha256 });
  });

  test(STEP.boot, { timeout: budget(BOOT_S.qemu, 60) }, async ({ cluster, expect, skip }) => {
    booted.begin();
    const { root, data, configSha256 } = volumes.need(skip);
    const { plasmavmc, prismnet } = cluster.ops;
    const home = cluster.node(HOME);
    const t0 = Date.now();
    const domainType = await plasmavmc.startGuest(home, guestSpec(D, root.export, data.export));
    await requireKvmGuest(cluster, expect, HOME, domainType, 'the domain type libvirt gave the guest');
    // The host's way in: 127.0.0.1:<port> on the host → node04 → the gateway → the VM's app.
    await prismnet.ensurePortForward(home, D.name, D.forward.guestPort, { ip: D.net.vm, port: WEBAPP_PORT });
    await home.vm.addHostForward(clusterInfo.portBase + D.forward.offset, D.forward.guestPort);
    const boot = await waitMarker(cluster, home, 'ULTRACLOUD_WEBAPP_BOOT', { name: D.name }, BOOT_S[domainType]);
    expect(boot.config, 'the config the guest read from its data volume (sha256)').toBe(configSha256);
    // The node comes from the metadata port: asked per request, it may miss while the guest's ARP settles.
    state = await waitState(cluster, 'naming node04', BOOT_S[domainType], (s) => s.node === HOME);
    figures.bootSeconds = (Date.now() - t0) / 1000;
    figures.domainType = domainType;
    expect(state).toMatchObject({ name: D.name, counter: 0, lastSnapshot: null, node: HOME, bootId: boot.boot_id });
    booted.set({ domainType });
  });

  test(STEP.visits, { timeout: budget(VISIT_S * VISITS, 120) }, async ({ cluster, expect, skip }) => {
    visited.begin();
    booted.need(skip);
    const ms: number[] = [];
    /** The snapshot each acknowledged visit named. */
    const snapshots: string[] = [];
    for (let i = 0; i < VISITS; i++) {
      const r = await visitOnce(expect);
      ms.push(r.ms);
      snapshots.push(r.body.lastSnapshot!);
    }
    figures.visitMs = { min: Math.round(Math.min(...ms)), max: Math.round(Math.max(...ms)), mean: Math.round(ms.reduce((a, b) => a + b) / ms.length) };
    expect((await get()).body).toMatchObject({ counter: VISITS, lastSnapshot: state!.lastSnapshot });
    // One snapshot per counted visit (a visit that lost a race or timed out may leave one more: not counted).
    const keys = await bucketKeys(cluster, D.bucket);
    expect(keys, `bucket ${D.bucket}`).toBeDefined();
    for (let c = 1; c <= VISITS; c++) expect(keys!.some((k) => k.startsWith(snapshotPrefix(c))), `a snapshot of counter ${c} in ${D.bucket}: ${JSON.stringify(keys)}`).toBe(true);
    expect(keys, `the acknowledged visits' snapshots in ${D.bucket}`).toEqual(expect.arrayContaining(snapshots));
    // The newest snapshot is the state it names, written by the app.
    const s3 = await cluster.ops.lightningstor.s3(cluster.node(S3_PROXY));
    try {
      const obj = await s3.client.send(new GetObjectCommand({ Bucket: D.bucket, Key: state!.lastSnapshot! }));
      const snap = JSON.parse(await obj.Body!.transformToString()) as Record<string, unknown>;
      expect(snap).toMatchObject({ counter: VISITS, name: D.name, node: HOME, bootId: state!.bootId });
    } finally {
      await s3.close();
    }
    visited.set({ snapshots });
  });

  test('the state survives a guest restart (a new boot, the same counter)', { timeout: budget(BOOT_S.qemu, VISIT_S, 60) }, async ({ cluster, expect, skip }) => {
    const { domainType } = booted.need(skip);
    const home = cluster.node(HOME);
    const before = state!;
    await cluster.ops.plasmavmc.restartGuest(home, D.name);
    const boot = await waitMarker(cluster, home, 'ULTRACLOUD_WEBAPP_BOOT', { name: D.name }, BOOT_S[domainType]);
    expect(boot.boot_id, 'a new boot').not.toBe(before.bootId);
    state = await waitState(cluster, 'after the restart', BOOT_S[domainType], (s) => s.bootId === boot.boot_id && s.node === HOME);
    expect(state).toMatchObject({ counter: before.counter, lastSnapshot: before.lastSnapshot, node: HOME });
    await visitOnce(expect);
  });

  test.skipIf(SERVING)("stopping FlareDB's primary: visits fail with 5xx, and after Sentinel's failover no acknowledged visit is lost", { timeout: budget(FAILOVER_S, REJOIN_S, VISIT_S * 4, 120) }, async ({ cluster, expect, signal, skip }) => {
    booted.need(skip);
    const { flaredb } = cluster.ops;
    const primaryName = await flaredb.sentinelPrimary(cluster.node(CONTROL[0]));
    expect(CONTROL, `the primary Sentinel names (${primaryName})`).toContain(primaryName);
    const primary = cluster.node(primaryName!);
    const start = state!.counter;
    const answers: { at: number; status: number; counter?: number; error?: string }[] = [];
    let ok = 0;
    /** Visits whose outcome the client cannot know (5xx after the write may have landed). */
    let unsure = 0;
    let failedAt = 0;
    const t0 = Date.now();
    await flaredb.stop(primary);
    try {
      // Visit about once a second until the app has failed visibly and then answered three visits after it.
      while (Date.now() - t0 < FAILOVER_S * 1000 && !signal.aborted) {
        const r = await visit().catch((e: Error) => ({ status: 0, body: { error: e.message } as unknown as State, ms: 0 }));
        answers.push({ at: (Date.now() - t0) / 1000, status: r.status, counter: r.body.counter, error: r.body.error });
        if (r.status === 200) {
          acked++;
          ok++;
          state = r.body;
          if (failedAt && ok >= 3) break;
        } else {
          expect(r.status, `a failed visit is a 5xx with its reason, not a silent answer: ${JSON.stringify(r.body)}`).toBeGreaterThanOrEqual(500);
          expect(r.body.error, 'the reason').toMatch(/\S/);
          unsure++;
          failedAt ||= Date.now();
          ok = 0;
        }
        await sleep(1000);
      }
      // Seconds after the stop: the first failed visit's answer, and the first visit answered after it.
      const firstFailure = answers.find((a) => a.status !== 200);
      const recovered = answers.find((a) => firstFailure && a.at > firstFailure.at && a.status === 200);
      figures.failover = { stopped: primaryName, firstFailureS: firstFailure?.at, recoveredS: recovered?.at, answers };
      expect(failedAt, `visits failed while ${primaryName} was stopped: ${JSON.stringify(answers)}`).toBeGreaterThan(0);
      expect(ok, `visits answered again after the failover: ${JSON.stringify(answers.slice(-5))}`).toBeGreaterThanOrEqual(3);
      const now = (await get()).body;
      const acknowledged = answers.filter((a) => a.status === 200).length;
      // Every acknowledged visit is counted; a failed one may have landed (its write, not its acknowledgement).
      expect(now.counter, `counter after the failover (was ${start}, ${acknowledged} acknowledged, ${unsure} unsure)`).toBeGreaterThanOrEqual(start + acknowledged);
      expect(now.counter).toBeLessThanOrEqual(start + acknowledged + unsure);
      state = now;
    } finally {
      await flaredb.start(primary);
    }
    // The old primary comes back as a replica, and the cluster is as the next file expects.
    await cluster.eventually(`${primaryName} a linked replica again`, REJOIN_S, async () => {
      const r = await flaredb.replicaOf(primary);
      return { ok: !!r?.linked, seen: JSON.stringify(r ?? 'primary') };
    }, { node: primaryName! });
  });

  test.skipIf(SERVING)('stopping swift-proxy: visits fail with a clear error, and the counter does not move without its snapshot', { timeout: budget(VISIT_S * 3, 120, PROXY_BACK_S) }, async ({ cluster, expect, signal, skip }) => {
    booted.need(skip);
    const proxy = cluster.node(S3_PROXY);
    const before = (await get()).body;
    await proxy.succeed('systemctl stop swift-proxy.service');
    try {
      const r = await visit();
      expect(r.status, `POST /visit with swift-proxy stopped on ${S3_PROXY}: ${JSON.stringify(r.body)}`).toBeGreaterThanOrEqual(500);
      expect(r.body.error, 'the error names the object store').toMatch(/lightningstor/i);
      expect((await get()).body, 'the counter after the refused visit').toMatchObject({ counter: before.counter, lastSnapshot: before.lastSnapshot });
      // The object store itself is up (asked through another proxy): no snapshot beyond the counter.
      const keys = await bucketKeys(cluster, D.bucket, CENTRAL);
      // The listing through the other proxy sees the bucket and its last snapshot: "no newer snapshot" below is an answer.
      expect(keys, `${D.bucket} listed through the proxy on ${CENTRAL}`).toContain(before.lastSnapshot);
      expect(keys!.filter((k) => k.startsWith(snapshotPrefix(before.counter + 1))), `snapshots of counter ${before.counter + 1} in ${D.bucket}`).toEqual([]);
    } finally {
      await proxy.succeed('systemctl start swift-proxy.service', 120_000);
    }
    await proxy.waitForUnit('swift-proxy.service', 120_000, signal);
    // Back (the proxy answers 60-70 s after its start under TCG): the next visit counts and has its snapshot.
    state = before;
    await cluster.eventually('a visit answered again with swift-proxy back', PROXY_BACK_S, async () => {
      const r = await visit();
      if (r.status === 200) {
        acked++;
        state = r.body;
      }
      return { ok: r.status === 200, seen: `${r.status} ${JSON.stringify(r.body)}` };
    }, { node: S3_PROXY, intervalMs: 5000 });
    expect(state!.counter).toBe(before.counter + 1);
    expect(await bucketKeys(cluster, D.bucket)).toContain(state!.lastSnapshot);
  });

  /**
   * Moves the VM from HOME to OTHER while a client polls /state all along
   * (the longest stretch without a 200 is the downtime it saw), then checks
   * the state there: the same counter; live: the same boot, cold: a new one.
   */
  const moveVm = async (how: 'live' | 'cold', why: string, cluster: TestCluster, expect: ExpectStatic, disks: { root: Volume; data: Volume }, annotate: TestContext['annotate']) => {
    const { plasmavmc, prismnet } = cluster.ops;
    const central = cluster.node(CENTRAL);
    const home = cluster.node(HOME);
    const other = cluster.node(OTHER);
    const before = (await get()).body;
    expect(before.node).toBe(HOME);
    let polling = true;
    let lastOk = Date.now();
    let longestGap = 0;
    let polls = 0;
    const unanswered: { count: number; first?: string; last?: string } = { count: 0 };
    /** Every poll, for the chart: when it was sent and whether it got a 200. */
    const pollLog: Poll[] = [];
    const poller = (async () => {
      while (polling) {
        const sentAt = Date.now();
        // A poll without an answer is the downtime this client measures: counted, with its first and last error, never thrown.
        let status: number | undefined;
        try {
          status = (await callApp<State>(URL, 'GET', '/state', 5000)).status;
        } catch (e) {
          unanswered.count++;
          unanswered.last = (e as Error).message.split('\n')[0];
          unanswered.first ??= unanswered.last;
        }
        polls++;
        pollLog.push({ at: sentAt, answered: status === 200 });
        if (status === 200) {
          longestGap = Math.max(longestGap, Date.now() - lastOk);
          lastOk = Date.now();
        }
        await sleep(POLL_MS);
      }
    })();
    let moveSeconds: number;
    const moveStartedAt = Date.now();
    let moveEndedAt = moveStartedAt;
    try {
      if (how === 'live') {
        // The port bound on both workers for the move; node05 takes its traffic once the guest announces itself there.
        await prismnet.beginMove(central, D.ovnPort, HOME, OTHER);
        try {
          moveSeconds = (await plasmavmc.migrateGuest(home, other, D.name)).seconds;
        } finally {
          await prismnet.endMove(central, D.ovnPort);
        }
      } else {
        // TCG inside TCG: a live migration would copy a guest that barely runs; stop it here and start it there.
        const t0 = Date.now();
        await plasmavmc.deleteGuest(home, D.name);
        await plasmavmc.startGuest(other, guestSpec(D, disks.root.export, disks.data.export));
        moveSeconds = (Date.now() - t0) / 1000;
      }
      moveEndedAt = Date.now();
      state = await waitState(cluster, `from ${OTHER} after the ${how} move`, how === 'live' ? 120 : BOOT_S.qemu, (s) => s.node === OTHER);
      await sleep(2000);
    } finally {
      polling = false;
      await poller;
    }
    longestGap = Math.max(longestGap, Date.now() - lastOk);
    const chart = runDir(`demo-${how}-move.svg`);
    fs.writeFileSync(chart, await migrationSvg(pollLog, { how, startedAt: moveStartedAt, endedAt: moveEndedAt }, POLL_MS));
    await annotate(`the ${how} move: polls of /state per ${POLL_MS} ms, answered or not (the gap is the downtime the client saw)`, 'chart', { path: chart, contentType: 'image/svg+xml' });
    figures.move = { how, why, seconds: moveSeconds, downtimeSeenMs: longestGap, polls, unanswered: unanswered.count, pollMs: POLL_MS };
    console.log(`demo: ${how} move ${HOME} -> ${OTHER} in ${moveSeconds.toFixed(1)} s; a client polling /state every ${POLL_MS} ms saw ${(longestGap / 1000).toFixed(1)} s without an answer (${unanswered.count} of ${polls} polls unanswered${unanswered.count ? `: first '${unanswered.first}', last '${unanswered.last}'` : ''})${how === 'cold' ? ` (cold move: ${why})` : ''}`);
    expect(await plasmavmc.guests(home), `guests left on ${HOME}`).not.toContain(D.name);
    expect(await plasmavmc.guestState(other, D.name)).toBe('running');
    expect(state, 'the state on the new worker').toMatchObject({ counter: before.counter, lastSnapshot: before.lastSnapshot, node: OTHER });
    // Live: the same boot carried over; cold: a new one.
    if (how === 'live') expect(state!.bootId, 'the same boot after a live migration').toBe(before.bootId);
    else expect(state!.bootId).not.toBe(before.bootId);
    await visitOnce(expect);
    expect(state!.counter).toBeGreaterThanOrEqual(acked);
  };

  test(STEP.moveLive, { timeout: budget(MIGRATE_S, BOOT_S.qemu, VISIT_S, 120) }, async ({ cluster, expect, skip, annotate }) => {
    const move = moveExpectation();
    if (!move.live) {
      console.log(`demo: live migration skipped: the harness expects no nested KVM: ${move.reason}`);
      skip(`no nested KVM expected, so no live migration (the VM moves cold, the next step): ${move.reason}`);
    }
    movedLive.begin();
    const { domainType } = booted.need(skip);
    const disks = volumes.need(skip);
    // Expected on both workers: the guest must run as a KVM guest and node05's libvirt must offer KVM; never a cold move instead.
    await requireKvmGuest(cluster, expect, HOME, domainType, "the running guest's domain type");
    await requireKvmGuest(cluster, expect, OTHER, await cluster.ops.plasmavmc.domainType(cluster.node(OTHER)), 'the domain type its libvirt offers');
    await moveVm('live', move.reason, cluster, expect, disks, annotate);
    movedLive.set({ node: OTHER });
  });

  test(STEP.moveCold, { timeout: budget(MIGRATE_S, BOOT_S.qemu, VISIT_S, 120) }, async ({ cluster, expect, skip, annotate }) => {
    const move = moveExpectation();
    if (move.live) skip(`nested KVM is expected on both workers, so the VM moves by live migration (the step before): ${move.reason}`);
    movedCold.begin();
    booted.need(skip);
    const disks = volumes.need(skip);
    await moveVm('cold', `the harness expects no nested KVM: ${move.reason}`, cluster, expect, disks, annotate);
    movedCold.set({ node: OTHER });
  });

  test.skipIf(SERVING)('deleting everything: the VM, its port, its volumes, the bucket and its objects, the network', { timeout: budget(NET_S, VOLUME_S, PN.bindS, 120) }, async ({ cluster, expect, skip }) => {
    const { plasmavmc, prismnet, coronafs, flaredb } = cluster.ops;
    const central = cluster.node(CENTRAL);
    const home = cluster.node(HOME);
    // What the earlier steps made in this run (a step picked alone fails here, naming the one it needs).
    network.need(skip);
    const { root, data } = volumes.need(skip);
    booted.need(skip);
    const { snapshots } = visited.need(skip);
    const { node: vmNode } = (moveExpectation().live ? movedLive : movedCold).need(skip);
    const vols = [root, data];

    // Each part is there now (strict getters: each throws when its server does not answer), so "gone" below is this step's doing.
    expect(await plasmavmc.guestState(cluster.node(vmNode), D.name), `${D.name} on ${vmNode} before the delete`).toBe('running');
    expect(await prismnet.ports(central, D.name), `ports of switch ${D.name} before the delete`).toContain(D.ovnPort);
    expect(await prismnet.binding(central, D.ovnPort), `${D.ovnPort}'s binding before the delete`).toMatchObject({ chassis: vmNode, up: true });
    expect(await prismnet.switches(central), 'switches before the delete').toContain(D.name);
    expect(await prismnet.routers(central), 'routers before the delete').toContain(D.name);
    for (const c of CONTROL) expect((await prismnet.gatewayRoutes(cluster.node(c))).map((r) => r.cidr), `${c}'s routes before the delete`).toContain(D.net.cidr);
    expect(await coronafs.volumes(home), `volumes on ${HOME} before the delete`).toEqual(expect.arrayContaining(vols.map((v) => v.name)));
    expect(await coronafs.exports(home), `exports on ${HOME} before the delete`).toEqual(expect.arrayContaining(vols.map((v) => v.name)));
    for (const v of vols) expect(await coronafs.exportAnswers(cluster.node(OTHER), v.export), `${v.name} answers NBD from ${OTHER} before the delete`).toBe(true);
    expect(await bucketKeys(cluster, D.bucket), `objects in ${D.bucket} before the delete`).toEqual(expect.arrayContaining([...snapshots, state!.lastSnapshot]));
    // A hash: GET answers (with a type error) while it exists, nothing once it is deleted.
    expect(await flaredb.get(cluster.node(CONTROL[0]), D.counterKey), `FlareDB key ${D.counterKey} before the delete`).toBeDefined();
    expect((await callApp<State>(URL, 'GET', '/state', 5000)).status, `${URL}state through the host forward before the delete`).toBe(200);

    await removeWebapp(cluster, D, clusterInfo.portBase);

    // Gone, each asked with a strict getter: "not there" is the server's answer, never a failed request.
    for (const w of WORKERS) {
      const node = cluster.node(w);
      expect(await plasmavmc.guestState(node, D.name), `${D.name} on ${w}`).toBeUndefined();
      expect(await plasmavmc.guests(node), `guests on ${w}`).not.toContain(D.name);
      const left = await coronafs.volumes(node);
      expect(vols.map((v) => v.name).filter((n) => left.includes(n)), `volumes on ${w}`).toEqual([]);
      const served = await coronafs.exports(node);
      expect(vols.map((v) => v.name).filter((n) => served.includes(n)), `exports on ${w}`).toEqual([]);
    }
    // The export's server is gone: its port refuses, or a server there lists other exports (exportAnswers throws on anything else).
    for (const v of vols) expect(await coronafs.exportAnswers(cluster.node(OTHER), v.export), `${v.name}'s NBD export asked from ${OTHER}`).toBe(false);
    // The port: a logical switch port lives only in its switch's list (OVN drops one that no switch holds), and its Southbound binding goes after it.
    expect(await prismnet.switches(central), 'switches').not.toContain(D.name);
    await cluster.eventually(`the Southbound binding of ${D.ovnPort} gone`, PN.bindS, async () => {
      const b = await prismnet.binding(central, D.ovnPort);
      return { ok: b === undefined, seen: JSON.stringify(b) };
    }, { node: CENTRAL });
    expect(await prismnet.routers(central), 'routers').not.toContain(D.name);
    for (const c of CONTROL) expect((await prismnet.gatewayRoutes(cluster.node(c))).map((r) => r.cidr), `${c}'s routes to tenant networks`).not.toContain(D.net.cidr);
    expect(await bucketKeys(cluster, D.bucket), `bucket ${D.bucket}`).toBeUndefined();
    expect(await flaredb.get(cluster.node(CONTROL[0]), D.counterKey), `FlareDB key ${D.counterKey}`).toBeUndefined();
    // The host forward: nothing listens on the host port any more (ECONNREFUSED). A timeout, a reset (QEMU still
    // forwarding to a node that no longer relays) or an HTTP answer is not "gone": each fails, named.
    const forward = await callApp<State>(URL, 'GET', '/state', 5000).then(
      (r) => `an HTTP answer: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`,
      (e: NodeJS.ErrnoException) => (e.code === 'ECONNREFUSED' ? 'ECONNREFUSED' : `${e.code ?? e.name}: ${e.message}`),
    );
    expect(forward, `the host forward ${URL} is gone: the connection is refused`).toBe('ECONNREFUSED');
  });

  afterAll(async () => {
    const out = runDir(`${SERVING ? 'serve' : 'demo'}-vm-webapp.json`);
    fs.mkdirSync(path.dirname(out), { recursive: true });
    fs.writeFileSync(out, `${JSON.stringify({ at: new Date().toISOString(), ...figures }, null, 2)}\n`);
    // The demo leaves nothing behind; serve leaves the VM for the operator (the CLI tears it down).
    if (clusterRef && !SERVING) await removeWebapp(clusterRef, D, clusterInfo.portBase);
  });
});
