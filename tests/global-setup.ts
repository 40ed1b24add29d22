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
    if (process.env.ULTRACLOUD_ATTACH_ONLY === '1') {
      lock.release();
      throw new HostError(`no cluster is running in ${cluster.stateDir} (ULTRACLOUD_ATTACH_ONLY=1 never boots one)`);
    }
    progress('setup', 'no cluster running: booting one for this run (stopped again at the end)');
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
    const down = cluster.specs.filter((s) => !running.includes(s)).map((s) => s.name);
    progress('setup', `attaching to the running cluster${down.length ? ` (not running: ${down.join(', ')})` : ''}`);
  }
  await cluster.close();
  project.provide('cluster', cluster.info(bootErrors));

  return async () => {
    if (booted && process.env.ULTRACLOUD_KEEP_CLUSTER !== '1') {
      progress('teardown', 'stopping the cluster this run booted');
      await cluster.stop();
    }
    lock.release();
  };
}
