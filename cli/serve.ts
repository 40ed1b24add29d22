/**
 * `serve-vm-webapp` and `fresh-serve-vm-webapp`: the tenant web app demo's
 * flow in a withCluster session, then the served URL until Ctrl-C.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Cluster } from '../harness/cluster.js';
import { HostError } from '../harness/errors.js';
import { progress } from '../harness/log.js';
import { isAlive } from '../harness/proc.js';
import type { StackOps } from '../stacks/contracts.js';
import { type Command, openCluster, requireServes, takeCold } from './command.js';
import { runVitest, withCluster } from './session.js';

/** The served web app's process (pid) and URL, while `serve-vm-webapp` waits. */
function serveFile(cluster: Cluster<StackOps>): string {
  return path.join(cluster.cfg.stateDir, 'serve-vm-webapp.json');
}

/** A running serve of this state dir is asked to tear its web app down and end; waits until it has. */
async function replaceRunningServe(cluster: Cluster<StackOps>): Promise<void> {
  let prev: { pid: number; url: string } | undefined;
  try {
    prev = JSON.parse(fs.readFileSync(serveFile(cluster), 'utf8'));
  } catch {
    return;
  }
  if (!prev || prev.pid === process.pid || !isAlive(prev.pid)) return fs.rmSync(serveFile(cluster), { force: true });
  progress('serve', `replacing the web app served by pid ${prev.pid} (${prev.url}): asking it to tear down`);
  process.kill(prev.pid, 'SIGTERM');
  const until = Date.now() + 300_000;
  while (isAlive(prev.pid)) {
    if (Date.now() > until) throw new HostError(`the serve-vm-webapp run with pid ${prev.pid} did not end within 300 s of SIGTERM; stop it, then try again`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/**
 * serve-vm-webapp: the demo's flow with ULTRACLOUD_WEBAPP_SERVE=1 (the VM
 * stays), then the URL, then waiting, without the cluster lock (so tests
 * and `cluster stop` can run), until Ctrl-C / SIGTERM (the web app is torn
 * down) or the cluster's node04 is gone (`cluster stop`: it went with it).
 */
async function serveWebapp(fresh: boolean, argv: string[]): Promise<number> {
  requireServes('demo', `${fresh ? 'fresh-' : ''}serve-vm-webapp`);
  const { cold, rest: args } = takeCold(argv);
  const cluster = await openCluster();
  const { SERVE, HOME, hostUrl, removeWebapp } = await import('../fixtures/webapp.js');
  await replaceRunningServe(cluster);
  // Ctrl-C while the flow runs reaches vitest too (same process group); this process waits for it, then tears down.
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  // The lock is held while the flow runs only.
  const code = await withCluster({ purpose: `cluster ${fresh ? 'fresh-' : ''}serve-vm-webapp`, fresh, cold, cluster }, async () => {
    process.on('SIGINT', onInterrupt);
    process.on('SIGTERM', onInterrupt);
    try {
      return await runVitest(cluster, ['--project', 'demo', ...args], { ULTRACLOUD_WEBAPP_SERVE: '1' });
    } finally {
      process.off('SIGINT', onInterrupt);
      process.off('SIGTERM', onInterrupt);
    }
  });
  const url = hostUrl(SERVE, cluster.cfg.portBase);
  const env = { node: (n: string) => cluster.node(n), ops: cluster.stack.ops };
  const teardown = async (why: string) => {
    progress('serve', `${why}: tearing the web app down`);
    await removeWebapp(env, SERVE, cluster.cfg.portBase);
    await cluster.close();
    progress('serve', 'web app removed');
  };
  if (code !== 0 || interrupted) {
    if (cluster.vm(HOME).pid()) await teardown(interrupted ? 'interrupted' : 'the flow failed (see above)');
    return interrupted ? 130 : code;
  }
  fs.writeFileSync(serveFile(cluster), `${JSON.stringify({ pid: process.pid, url })}\n`);
  console.log(
    [
      '',
      `web app: ${url}`,
      `  curl ${url}state`,
      `  curl -X POST ${url}visit`,
      'Ctrl-C (or SIGTERM) tears it down; `cluster stop` stops it with the cluster.',
      '',
    ].join('\n'),
  );
  try {
    const why = await new Promise<string>((resolve) => {
      const onSignal = (sig: string) => resolve(`got ${sig}`);
      process.once('SIGINT', () => onSignal('SIGINT'));
      process.once('SIGTERM', () => onSignal('SIGTERM'));
      const watch = setInterval(() => {
        if (!cluster.vm(HOME).pid()) {
          clearInterval(watch);
          resolve('gone');
        }
      }, 5000);
    });
    if (why === 'gone') {
      progress('serve', `${HOME} is not running (cluster stopped?): the web app went with it`);
      await cluster.close();
    } else {
      await teardown(why);
    }
  } finally {
    fs.rmSync(serveFile(cluster), { force: true });
  }
  return 0;
}

export const serveCommands = {
  'serve-vm-webapp': {
    args: '[--cold] [vitest options...]',
    summary: 'run the web app flow, leave the VM running and print its http://127.0.0.1:<port>/ URL; Ctrl-C tears it down',
    details: `Brings the cluster up if none is (as \`start\`), runs the demo's flow (tests/demo, with
ULTRACLOUD_WEBAPP_SERVE=1: its own names and addresses, no fault steps, no delete), prints the URL
forwarded from the host into the tenant network, and waits. \`curl <url>state\`, \`curl -X POST
<url>visit\`. Ctrl-C or SIGTERM removes the VM, its volumes, network and bucket; \`cluster stop\`
stops it with the cluster. A second serve asks a running one to tear down first, then replaces it.
The cluster lock is held only while the flow runs.`,
    passThrough: true,
    run: (argv) => serveWebapp(false, argv),
  },
  'fresh-serve-vm-webapp': {
    args: '[--cold] [vitest options...]',
    summary: 'clean + build + start + serve-vm-webapp',
    details: `As serve-vm-webapp, from nothing: throws the runtime state away, builds (or reuses) the
image and brings six nodes up on fresh disks first (see \`fresh-smoke\`).`,
    passThrough: true,
    run: (argv) => serveWebapp(true, argv),
  },
} satisfies Record<string, Command>;
