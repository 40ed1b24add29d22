/**
 * Attaches to the running cluster, or builds and boots one (and then stops
 * it at the end). A node that fails to boot does not abort the run: its
 * evidence goes to the tests, so the report names the node and says why.
 */
import type { TestProject } from 'vitest/node';
import { Cluster, type ClusterInfo, ClusterStartError } from '../harness/cluster.js';
import { openCluster } from '../stacks/index.js';
import { HostError } from '../harness/errors.js';
import { progress } from '../harness/log.js';

declare module 'vitest' {
  export interface ProvidedContext {
    cluster: ClusterInfo;
  }
}

export default async function setup(project: TestProject) {
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
    const rt = cluster.runtime();
    if (rt?.state === 'failed') progress('setup', `its last boot failed (${rt.failedNodes?.join(', ') || 'see cluster.json'}); the tests will show what is wrong`);
    const down = cluster.specs.filter((s) => !running.includes(s)).map((s) => s.name);
    progress('setup', `attaching to the running cluster${down.length ? ` (not running: ${down.join(', ')})` : ''}`);
  }
  await cluster.close();
  project.provide('cluster', cluster.info(bootErrors));

  return async () => {
    if (booted && !cluster.cfg.keepCluster) {
      progress('teardown', 'stopping the cluster this run booted');
      await cluster.stop();
    }
    lock.release();
  };
}

/** The message alone, without a stack: vitest prints a global setup's error as it is, and this one is the whole story. */
function oneLine(e: Error): Error {
  e.stack = `${e.name}: ${e.message}`;
  return e;
}
