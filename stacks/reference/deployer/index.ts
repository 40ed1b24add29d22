/**
 * deployer: native service scheduling (services/deployer, ours, TypeScript
 * bundled on the host by esbuild and run by Debian's nodejs 18). The
 * deployer runs on the control nodes (one leads through a chainfire
 * election, the others stand by; HTTP :8070), the agent on the workers
 * (runs the instances assigned to its node as systemd units, reports their
 * health under its chainfire lease). Definitions come from services.nix,
 * evaluated on the host with nix-instantiate. Design and figures: README.md.
 */
import { curlFailure } from '../probes.js';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import { shellQuote } from '../../../harness/remote/node.js';
import type { Role } from '../../../harness/stack.js';
import { bundledService } from '../../../services/bundled.js';
import type { BaremetalNodeStatus, BaremetalOps, DeployerOps, DeployerSample, DeployerServiceDef, DeployerView } from '../../contracts.js';
import { DEPLOYER_UNIT, leadershipHistory, leadershipMark } from './leadership.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SERVICES_NIX = path.join(here, 'services.nix');
const PORT = 8070;
const CTL = 'deployerctl';
const SAMPLER = 'deployer-sampler';
const SAMPLES = `/run/${SAMPLER}.jsonl`;

/**
 * Deadlines, sized for TCG (measured figures in README.md):
 * - leaseS: the TTL etcd grants an agent's or deployer's lease: it asks 10 s,
 *   etcd's minimum is 1.5 election timeouts = 30 s here (20 s elections; a
 *   KVM host with etcd's 1 s default would get 10 s).
 * - settleS: a seed, drain or undrain reconciled, its instances started and
 *   reported healthy (a pass, systemd-run, the first health check).
 * - failoverS: a failed worker's replicas healthy on the other: the lease
 *   running out (30 s) plus settleS.
 * - handoverS: a standby leads after the leader stops (it revokes its lease;
 *   standbys campaign every 3 s) or dies (the lease runs out).
 */
export const TIMING = { leaseS: 30, settleS: 60, failoverS: 120, handoverS: 60 };

/** Install bundles a deployer serves (GET /v1/bm/bundle/<sha256>), by sha256 (services/deployer/src/baremetal/api.ts). */
const BUNDLE_DIR = '/var/lib/ultracloud/deployer/bundles';
/** Copying and hashing a bundle of a few hundred MB onto a TCG node. */
const BUNDLE_COPY_MS = 900_000;

/** Bare-metal bootstrap (docs/baremetal-iso.md): bundles, definitions and the nodes' install state. */
export const baremetalOps: BaremetalOps = {
  async stageBundle(node, hostFile, sha256) {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`deployer: bad bundle sha256 ${JSON.stringify(sha256)}`);
    const remote = `${BUNDLE_DIR}/${sha256}.tar.zst`;
    const have = await node.execute(`sha256sum ${remote} 2>/dev/null | cut -d' ' -f1`, BUNDLE_COPY_MS);
    if (have.stdout.trim() === sha256) return;
    // Older bundles go: one at a time on the node's small disk.
    await node.succeed(`mkdir -p ${BUNDLE_DIR} && find ${BUNDLE_DIR} -mindepth 1 -delete`);
    await node.putFile(hostFile, `${remote}.part`);
    const got = (await node.succeed(`sha256sum ${remote}.part | cut -d' ' -f1`, BUNDLE_COPY_MS)).trim();
    if (got !== sha256) throw new NodeError(node.name, `deployer: the copy of ${hostFile} differs from the host's file`, { expected: sha256, lastSeen: got });
    await node.succeed(`chmod 0644 ${remote}.part && mv ${remote}.part ${remote}`);
  },
  async seed(node, defs) {
    await node.succeed(`printf '%s' ${shellQuote(JSON.stringify(defs))} | ${CTL} bm-seed -`, 120_000);
  },
  async nodes(node) {
    const r = await node.execute(`curl -sS -f -m 20 http://127.0.0.1:${PORT}/v1/bm/nodes`, 60_000);
    if (r.code !== 0) throw new NodeError(node.name, `deployer did not answer GET /v1/bm/nodes on 127.0.0.1:${PORT} (${curlFailure(r.code)})`, { lastSeen: `${r.stdout}${r.stderr}`.trim() || '(no output)' });
    return JSON.parse(r.stdout) as BaremetalNodeStatus[];
  },
  url(node) {
    return `http://${node.spec.clusterIp}:${PORT}`;
  },
};

const toJson = (defs: DeployerServiceDef[]) => JSON.stringify(Object.fromEntries(defs.map(({ name, ...d }) => [name, d])));

export const deployerOps: DeployerOps = {
  timing: TIMING,
  unit: DEPLOYER_UNIT,
  leadershipMark,
  leadershipHistory,
  async definitions() {
    const { loadServices } = await import('../../../services/deployer/nix.js');
    return loadServices(SERVICES_NIX);
  },
  async evaluate(expr) {
    const { evalNix } = await import('../../../services/deployer/nix.js');
    const { validateServices } = await import('../../../services/deployer/src/schema.js');
    return validateServices(await evalNix({ expr }));
  },
  async seed(node, defs, exact = false) {
    await node.succeed(`printf '%s' ${shellQuote(toJson(defs))} | ${CTL} seed -${exact ? ' --exact' : ''}`);
  },
  async remove(node, names) {
    if (names.length > 0) await node.succeed(`${CTL} remove ${names.map(shellQuote).join(' ')}`);
  },
  async status(node) {
    // The HTTP view of the deployer on `node`, else of another one (curl: cheap); with none answering, deployerctl (a
    // Node start: seconds under TCG), which reads chainfire itself.
    const others = `$(awk '$3 == "control" { print $2 }' /usr/lib/ultracloud/roles/deployer.nodes)`;
    return JSON.parse(
      await node.succeed(`for a in 127.0.0.1 ${others}; do curl -sf -m 5 http://$a:${PORT}/v1/status && exit 0; done; ${CTL} status --json`, 120_000),
    ) as DeployerView;
  },
  async drain(node, target) {
    await node.succeed(`${CTL} drain ${shellQuote(target)}`);
  },
  async undrain(node, target) {
    await node.succeed(`${CTL} undrain ${shellQuote(target)}`);
  },
  async stop(node) {
    await node.succeed(`systemctl stop ${node.spec.kind === 'control' ? DEPLOYER_UNIT : 'deployer-agent.service'}`, 60_000);
  },
  async start(node) {
    await node.succeed(`systemctl start ${node.spec.kind === 'control' ? DEPLOYER_UNIT : 'deployer-agent.service'}`, 600_000);
  },
  async fetch(via, addr, port) {
    return (await via.succeed(`curl -sf -m 5 http://${addr}:${port}/`, 30_000)).trim();
  },
  async startSampler(node) {
    await node.execute(`systemctl stop ${SAMPLER}.service 2>/dev/null; rm -f ${SAMPLES}`);
    const addrs = `$(awk '$3 == "control" { print $2 }' /usr/lib/ultracloud/roles/deployer.nodes)`;
    // From a file, not `bash -c`: systemd expands `${...}` in a unit's command line (it ate EPOCHREALTIME).
    const script = `/run/${SAMPLER}.sh`;
    await node.succeed(
      `cat > ${script} <<'SH'\n${samplerLoop(addrs, PORT, SAMPLES)}\nSH\n` +
        `systemd-run --unit=${SAMPLER} --collect --description='deployer health sampler (tests)' /bin/bash ${script}`,
    );
  },
  async samples(node) {
    // No file is an error, not "no samples": the sampler never wrote one (it died at once, or was stopped).
    const out = await node.succeed(`test -e ${SAMPLES} || { echo "no ${SAMPLES}: the sampler wrote no sample (not running, or stopped)" >&2; exit 1; }; cat ${SAMPLES}`);
    return parseSamples(out);
  },
  async stopSampler(node) {
    await node.execute(`systemctl stop ${SAMPLER}.service 2>/dev/null; rm -f ${SAMPLES}`);
  },
  baremetal: baremetalOps,
};

/**
 * The sampler's bash loop: one sample on every whole second of the node's
 * clock (tests/scheduling judge a window by how many samples its length
 * implies at one a second, fixtures/rollout-sampler.ts). Each sample runs in
 * the background, so a slow answer (TCG) does not stretch the interval, and
 * the loop sleeps to the next whole second rather than `sleep 1`, so its own
 * fork and exec do not either (with `sleep 1` the measured drain phases, 45-85 s
 * long, held only 39-60 samples: README.md). A turn that overruns its second skips it (a missing sample, not a
 * late one). The deployers in `addrs` are asked in turn (the next when one
 * does not answer), so that no one control node answers every second. Lines
 * are `<ms> <answer>`, appended as each answer comes (parseSamples sorts them).
 * Exported for tests/unit/rollout-sampler.test.ts, which runs it against a
 * local server.
 */
export function samplerLoop(addrs: string, port: number, file: string): string {
  return (
    `addrs=${addrs}; ` +
    `while :; do ( t=\${EPOCHREALTIME//[!0-9]/}; s=''; for a in $addrs; do s=$(curl -s -m 3 http://$a:${port}/v1/summary) && break; done; ` +
    `echo "\${t:0:13} $s" >> ${file} ) & set -- $addrs; first=$1; shift; addrs="$* $first"; ` +
    `us=\${EPOCHREALTIME//[!0-9]/}; rest=$(( 1000000 - us % 1000000 )); printf -v pause '%d.%06d' $(( rest / 1000000 )) $(( rest % 1000000 )); sleep "$pause"; done`
  );
}

/** Sampler lines (`<ms> <summary JSON>`) to samples; a line without an answer is a failed sample. Pure: unit-tested. */
export function parseSamples(text: string): DeployerSample[] {
  const out: DeployerSample[] = [];
  for (const line of text.split('\n')) {
    const m = line.match(/^(\d+) ?(.*)$/);
    if (!m) continue;
    const at = Number(m[1]);
    try {
      const s = JSON.parse(m[2]) as { leader: string | null; services: DeployerSample['services']; error?: string };
      if (!Array.isArray(s.services)) throw new Error(s.error ?? 'no services in the answer');
      out.push({ at, leader: s.leader, services: s.services });
    } catch (e) {
      out.push({ at, leader: null, services: [], error: m[2] ? (e as Error).message : 'no answer from the deployer' });
    }
  }
  return out.sort((a, b) => a.at - b.at);
}

export const deployer: Role = {
  name: 'deployer',
  description: 'native service scheduling: deployer on the control plane (chainfire election), agents on the workers',
  hostedOn: (n) => n.kind === 'control' || n.kind === 'worker',
  image: {
    // busybox-static: the httpd of services.nix's hello-web (k8shost and plasmavmc install it too).
    packages: ['nodejs', 'curl', 'busybox-static'],
    filesDir: path.join(here, 'files'),
    generated: bundledService('deployer', 'usr/lib/ultracloud/deployer/deployer.js'),
  },
  units: (n) => ['ultracloud-role-setup@deployer.service', n.kind === 'control' ? DEPLOYER_UNIT : 'deployer-agent.service'],
  probes: [
    {
      name: 'deployer answers /healthz on the control plane; the agent is registered and alive on a worker',
      async run(node) {
        if (node.spec.kind === 'control') {
          const r = await node.execute(`curl -s -m 10 -w '\\n%{http_code}' http://127.0.0.1:${PORT}/healthz`);
          // Nothing answering is named as such (curl exit 7: refused; 28: no answer in time), not as a bare command failure.
          if (r.code !== 0) throw new NodeError(node.name, `deployer did not answer /healthz on 127.0.0.1:${PORT} (${curlFailure(r.code)})`, { lastSeen: `${r.stdout}${r.stderr}`.trim() || '(no output)' });
          if (!r.stdout.trim().endsWith('200')) throw new NodeError(node.name, 'deployer is not healthy', { expected: '200 from /healthz', lastSeen: r.stdout });
          return;
        }
        const v = await deployerOps.status(node);
        const me = v.nodes.find((n) => n.name === node.name);
        if (!me?.alive) throw new NodeError(node.name, 'the agent is not registered alive in chainfire', { expected: `${node.name} alive`, lastSeen: JSON.stringify(v.nodes) });
      },
    },
    {
      name: 'one deployer leads',
      async run(node) {
        const v = await deployerOps.status(node);
        if (!v.reconciling || !v.leader) throw new NodeError(node.name, 'no deployer leads', { expected: 'a leader', lastSeen: v.reason ?? JSON.stringify(v) });
      },
    },
  ],
  ops: deployerOps,
};
