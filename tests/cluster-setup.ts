/**
 * The cluster suites' global setup (loaded by global-setup.ts): attaches to
 * the running cluster, or builds and boots one (and then stops it at the
 * end). A node that fails to boot does not abort the run: its evidence goes
 * to the tests, so the report names the node and says why.
 *
 * Every cluster project (smoke, matrix) lists this setup and Vitest runs it
 * once per project, all before the first test and all teardowns at the end:
 * the first call attaches or boots, the others share it, the last teardown
 * stops what was booted and releases the lock.
 */
import fs from 'node:fs';
import type { TestProject } from 'vitest/node';
import { Cluster, type ClusterInfo, ClusterStartError } from '../harness/cluster.js';
import { openCluster } from '../stacks/index.js';
import { HostError } from '../harness/errors.js';
import { progress } from '../harness/log.js';
import { provePendingFile } from '../harness/prove.js';

interface Shared {
  users: number;
  ready: Promise<{ info: ClusterInfo; teardown: () => Promise<void> }>;
}
const SHARED = Symbol.for('ultracloud.cluster-setup');
const registry = globalThis as typeof globalThis & { [SHARED]?: Shared };

export async function setup(project: TestProject) {
  const shared = (registry[SHARED] ??= { users: 0, ready: attachOrBoot() });
  shared.users++;
  const { info, teardown } = await shared.ready;
  project.provide('cluster', info);
  return async () => {
    if (--shared.users > 0) return;
    delete registry[SHARED];
    await teardown();
  };
}

async function attachOrBoot(): Promise<{ info: ClusterInfo; teardown: () => Promise<void> }> {
  const cluster = openCluster();
  const lock = cluster.lock(`vitest (pid ${process.pid})`);
  const running = cluster.runningNodes();
  const bootErrors: Record<string, string> = {};
  let booted = false;
  if (running.length === 0) {
    if (cluster.cfg.attachOnly) {
      lock.release();
      throw oneLine(new HostError(`no cluster is running in ${cluster.stateDir} (ULTRACLOUD_ATTACH_ONLY never boots one)`));
    }
    progress('setup', 'no cluster running: bringing one up for this run (from the warm snapshot when one fits; stopped again at the end)');
    booted = true;
    try {
      await cluster.start({ fresh: true });
    } catch (e) {
      if (!(e instanceof ClusterStartError)) {
        await cluster.stop();
        lock.release();
        throw e;
      }
      for (const [node, err] of e.failures) bootErrors[node] = err.message;
      progress('setup', `boot failed on ${Object.keys(bootErrors).join(', ')}; their tests will say why`);
    }
  } else {
    // Never test a cluster of another image recipe, or one a dead runner left half-booted.
    const refusal = cluster.attachRefusal();
    if (refusal) {
      lock.release();
      throw oneLine(new HostError(refusal));
    }
    // A fault `cluster prove` left applied (it was killed mid-row) would change this run's verdict.
    const pending = provePendingFile(cluster.stateDir);
    if (fs.existsSync(pending) && !process.env.ULTRACLOUD_PROVE_ROW) {
      lock.release();
      throw oneLine(new HostError(`a killed \`cluster prove\` left a fault applied (${pending}): undo it with \`npx cluster prove --restore\` before testing this cluster`));
    }
    const rt = cluster.runtime();
    if (rt?.state === 'failed') progress('setup', `its last boot failed (${rt.failedNodes?.join(', ') || 'see cluster.json'}); the tests will show what is wrong`);
    const down = cluster.specs.filter((s) => !running.includes(s)).map((s) => s.name);
    progress('setup', `attaching to the running cluster${down.length ? ` (not running: ${down.join(', ')})` : ''}`);
  }
  await cluster.close();
  const info = cluster.info(bootErrors);

  const teardown = async () => {
    if (booted && !cluster.cfg.keepCluster) {
      progress('teardown', 'stopping the cluster this run booted');
      await cluster.stop();
    }
    lock.release();
  };
  return { info, teardown };
}

/** The message alone, without a stack: vitest prints a global setup's error as it is, and this one is the whole story. */
function oneLine(e: Error): Error {
  e.stack = `${e.name}: ${e.message}`;
  return e;
}
