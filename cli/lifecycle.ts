/**
 * The cluster's life: `build`, `keys`, `start`, `stop`, `clean`.
 */
import path from 'node:path';
import { execa } from 'execa';
import { profileServes } from '../fixtures/projects.js';
import { loadConfig } from '../harness/config.js';
import { HostError, UsageError } from '../harness/errors.js';
import { progress } from '../harness/log.js';
import { type Command, openCluster, opts, requireNode } from './command.js';
import { holdingLock, startCluster, stopOnSignal } from './session.js';

export const lifecycleCommands = {
  build: {
    args: '[--rebuild]',
    summary: 'build the node image, the tenant guest image and the bare-metal ISO and bundle (cached by recipe hash; --rebuild drops the cache entries)',
    details: `Builds the node image, the web app guest image (guests/webapp, which demo-vm-webapp
boots) and the bare-metal installer ISO and install bundle (baremetal/, which baremetal-iso
boots), or reuses the cached ones for their recipes, and prints their folders. Needs root, the
image build tools and a few GiB free in the image cache.

  --rebuild   drop these recipes' cached images first`,
    async run(args) {
      const { values } = opts(args, { rebuild: { type: 'boolean' } });
      const cluster = await openCluster();
      const image = await cluster.build(values.rebuild);
      console.log(image.dir);
      if (!profileServes(loadConfig().profile, 'demo')) return 0; // the storage profile boots no tenant VM and no chassis
      console.log((await cluster.buildGuest(values.rebuild, 'webapp')).dir);
      console.log((await cluster.buildBaremetal(values.rebuild)).dir);
      return 0;
    },
  },

  keys: {
    args: '[--json]',
    summary: "print this checkout's image recipe hash and warm-snapshot cache key (CI cache keys); builds and boots nothing",
    details: `Prints \`image=<hash>\` (the node image recipe hash: the cache folder images/<stack>-<hash>) and
\`snapshot=<hash>\`: the warm snapshot's own key (the same function a start uses: image recipe,
QEMU version, accel, host CPU, each node's QEMU command line and ready units, stack, profile and
SNAPSHOT_FORMAT), one per line, for \`>> "$GITHUB_OUTPUT"\`; a CI cache keyed by it carries only
snapshots a start loads. The accel is the override or this host boot's cached probe; before any
probe it is \`unprobed\` (then the key is only a cache key, stable from run to run). Exit 1 when
the recipe cannot be computed here (no apt sources, or the ultracloud stack without nix or its flake).

  --json   the same as one JSON object, with the key's parts`,
    async run(args) {
      const { values } = opts(args, { json: { type: 'boolean' } });
      const cluster = await openCluster();
      cluster.preflightImage();
      const image = cluster.plannedImage();
      if (!image) throw new HostError(`cannot compute the ${cluster.stack.name} image recipe here (the reference stack reads the host's apt sources or ULTRACLOUD_DEBIAN_SOURCES)`);
      const { knownAccel } = await import('../harness/vm/accel.js');
      const { snapshotKey } = await import('../harness/snapshot.js');
      const accel = knownAccel(cluster.cfg.accel, cluster.cfg.cacheDir);
      const parts = cluster.keyParts({ image, accel: accel?.accel ?? 'unprobed' });
      const snapshot = snapshotKey(parts);
      if (values.json) console.log(JSON.stringify({ stack: parts.stack, profile: parts.profile, image: image.hash, accel: parts.accel, snapshot, parts }, null, 2));
      else console.log(`stack=${parts.stack}\nprofile=${parts.profile}\nimage=${image.hash}\naccel=${parts.accel}\nsnapshot=${snapshot}`);
      return 0;
    },
  },

  start: {
    args: '[--fresh] [--cold] [node]',
    summary: 'bring up every node that is not running, from the warm snapshot when one fits; `start <node>`: boot one stopped node',
    details: `Without a node, when no node runs: restores the whole cluster from the warm snapshot in the
cache when one fits this checkout (image recipe, stack, profile, each node's QEMU command line,
QEMU version, accel, host CPU, ready units, snapshot format): all nodes loaded paused, released together,
clocks stepped to the host's, then the same readiness checks as a cold boot. Otherwise (a line
says why) builds the image if needed and boots cold, tier by tier, each tier waiting for SSH, its
units and the end of boot (a heartbeat line every 30 s), and captures a new snapshot right after.
With some nodes running, boots only the others. A running, booted cluster is left as it is.
With a node: boots that one stopped node of a running cluster on its own disk and waits until
it is ready.

  --fresh   new disks for every node it boots (not with a node)
  --cold    boot from the image even if a snapshot fits (also ULTRACLOUD_COLD=1)`,
    async run(args) {
      const { values, positionals } = opts(args, { fresh: { type: 'boolean' }, cold: { type: 'boolean' } }, 1);
      const cluster = await openCluster();
      if (positionals.length === 0) {
        await startCluster(cluster, values.fresh ?? false, values.cold ?? false);
        return 0;
      }
      const name = requireNode(cluster, positionals[0], 'start');
      if (values.fresh || values.cold) throw new UsageError('--fresh and --cold are about the whole cluster; they do not go with a node');
      return holdingLock(cluster, `cluster start ${name}`, async () => {
        const restore = stopOnSignal(cluster, new Set(cluster.runningNodes().map((s) => s.name)));
        try {
          const pid = cluster.vm(name).pid();
          if (pid) {
            progress('start', `${name} is already running (QEMU pid ${pid})`);
            return 0;
          }
          await cluster.bootNode(name);
        } finally {
          restore();
        }
        return 0;
      });
    },
  },

  stop: {
    args: '[--graceful] [node]',
    summary: "stop this cluster's QEMUs, VDE switch and CPU sampler; `stop <node>`: one node",
    details: `Without a node: stops every QEMU, the VDE switch and the CPU sampler of this state dir, found
by pid file and by command line (only those programs: never a \`less vm.log\` or an ssh session),
so a runner killed mid-boot leaves nothing behind. With a node: powers that node off.

  --graceful   press the ACPI power button first and wait up to 60 s`,
    async run(args) {
      const { values, positionals } = opts(args, { graceful: { type: 'boolean' } }, 1);
      const cluster = await openCluster();
      const name = positionals.length > 0 ? requireNode(cluster, positionals[0], 'stop') : undefined;
      const graceMs = values.graceful ? 60_000 : 0;
      await holdingLock(cluster, name ? `cluster stop ${name}` : 'cluster stop', async () => {
        if (name) {
          const running = cluster.vm(name).pid() !== undefined;
          if (running) await cluster.powerOff(name, graceMs);
          progress('stop', running ? `stopped ${name}` : `${name} was not running`);
        } else {
          const stopped = await cluster.stop(graceMs);
          progress('stop', stopped.length ? `stopped ${stopped.join(' ')}` : 'nothing was running');
        }
      });
      return 0;
    },
  },

  clean: {
    args: '[--images]',
    summary: 'stop and remove the runtime state dir (--images: also drop the image cache and warm snapshots)',
    details: `Stops the cluster and removes its state dir (only if it carries the harness's marker), holding
the cluster lock (<state dir>.lock, beside it) throughout.

  --images   also remove the image cache and the warm snapshots`,
    async run(args) {
      const { values } = opts(args, { images: { type: 'boolean' } });
      const cluster = await openCluster();
      const lock = cluster.lock('cluster clean');
      try {
        await cluster.clean();
        progress('clean', `removed ${cluster.stateDir}`);
        if (values.images) {
          await execa('rm', ['-rf', '--one-file-system', path.join(cluster.cfg.cacheDir, 'images')]);
          progress('clean', `removed image cache ${path.join(cluster.cfg.cacheDir, 'images')}`);
          await execa('rm', ['-rf', '--one-file-system', cluster.snapshots().root]);
          progress('clean', `removed warm snapshots ${cluster.snapshots().root}`);
        }
      } finally {
        lock.release();
      }
      return 0;
    },
  },
} satisfies Record<string, Command>;
