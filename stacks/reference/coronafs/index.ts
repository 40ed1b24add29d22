/**
 * coronafs: mutable VM volumes over NBD = `qemu-storage-daemon` exports:
 * `coronafs-controller` on node01, `coronafs-<node>` (node-local) on each
 * worker, all on port 10809 of the node's cluster address. Read with
 * `qemu-io` over the NBD protocol from another node.
 *
 * Tenant volumes (README.md): a sparse raw file
 * /var/lib/coronafs/volumes/<name>.raw on its home node, served by that
 * node's `coronafs-export@<name>.service` (its own qemu-storage-daemon) on
 * a port of its own (10810-10899, in <name>.env); moved to another node by
 * copying it over NBD (materialize).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import type { NodeSpec } from '../../../harness/topology.js';
import type { Node } from '../../../harness/remote/node.js';
import type { CoronafsOps, NbdExport, Volume } from '../../contracts.js';
import { expectPorts } from '../probes.js';
import { coronafsBench } from './bench.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export function exportName(node: NodeSpec): string {
  return node.kind === 'control' ? 'coronafs-controller' : `coronafs-${node.name}`;
}

const VOLUME_DIR = '/var/lib/coronafs/volumes';
/** Disk images copied from the host (stageImage), by sha256: what new volumes are made from. */
const IMAGE_DIR = '/var/lib/coronafs/images';
/** Ports of volume exports, one each; 10809 stays the node's own export. */
const VOLUME_PORTS = { first: 10810, last: 10899 };
/** A volume's export service (template in files/etc/systemd/system). */
const exportUnit = (name: string) => `coronafs-export@${name}.service`;
/**
 * What `systemctl enable` writes for an instance: the link that brings it
 * back after a reboot. Written and removed by hand because `enable` and
 * `disable` also run a daemon-reload, 6-8 s on an idle TCG guest and 15 s
 * or more on a loaded one, once per volume operation (a materialization
 * took 70 s for 4 MiB). A running systemd needs no reload to start an
 * instance of a template it knows; the link is read at the next boot, and
 * a link left without its volume starts nothing (ConditionPathExists).
 */
const wantsLink = (name: string) => `/etc/systemd/system/multi-user.target.wants/${exportUnit(name)}`;
/** Deadlines of volume operations (measured in README.md). */
export const VOLUME_TIMING = {
  /** An export service to its first NBD answer (measured 1-3 s). */
  exportS: 60,
  /** Copying and comparing a volume of up to 64 MiB over NBD between workers (measured 16 MiB: ~5 s). */
  copyS: 300,
};

export function checkVolumeName(name: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) throw new Error(`coronafs: bad volume name ${JSON.stringify(name)} (a-z 0-9 -, at most 63)`);
  return name;
}

const shq = (v: string) => `'${v.replace(/'/g, `'\\''`)}'`;

/** Shell (with $f set): "$f.part" made from a disk image on the node, grown to the volume's size; fails when the image is larger. */
export function fillFromImage(image: string, sizeMiB: number): string {
  return [
    `img=${shq(image)}; want=$((${sizeMiB} * 1048576));`,
    `virt=$(qemu-img info --output=json "$img" | sed -n 's/.*"virtual-size": *\\([0-9]*\\).*/\\1/p' | head -1);`,
    `[ -n "$virt" ] || { echo "cannot read the virtual size of $img" >&2; exit 1; };`,
    `[ "$virt" -le "$want" ] || { echo "image $img is $virt bytes, over the volume's ${sizeMiB} MiB" >&2; exit 1; };`,
    // -S 4k: holes stay holes (the volume is as sparse as the image's filesystem).
    'qemu-img convert -S 4k -O raw "$img" "$f.part"; truncate -s "$want" "$f.part";',
  ].join(' ');
}

/** Shell (with $f.part made): an ext4 filesystem on "$f.part" holding `files` (mke2fs -d from a folder). */
export function fillWithFiles(files: Record<string, string>): string {
  const writes = Object.entries(files).map(([p, content]) => {
    if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(p) || p.split('/').includes('..')) throw new Error(`coronafs: bad file path ${JSON.stringify(p)}`);
    return `mkdir -p "$(dirname "$f.files/${p}")"; echo ${Buffer.from(content).toString('base64')} | base64 -d > "$f.files/${p}";`;
  });
  return ['mkdir -p "$f.files";', ...writes, 'mkfs.ext4 -q -F -L data -d "$f.files" "$f.part"; rm -rf "$f.files";'].join(' ');
}

export const nbdUrl = (e: NbdExport) => `nbd://${e.host}:${e.port}/${e.name}`;

/**
 * Shell: the first volume port that no volume on this node holds and
 * nothing listens on, into $port; fails when all are taken.
 */
const PICK_PORT = [
  `mkdir -p ${VOLUME_DIR}; port=;`,
  `for p in $(seq ${VOLUME_PORTS.first} ${VOLUME_PORTS.last}); do`,
  `  cat ${VOLUME_DIR}/*.env 2>/dev/null | grep -qx "CORONAFS_PORT=$p" && continue;`,
  `  ss -Htln "sport = :$p" | grep -q . && continue;`,
  '  port=$p; break;',
  'done;',
  `[ -n "$port" ] || { echo "no free volume port in ${VOLUME_PORTS.first}-${VOLUME_PORTS.last}" >&2; exit 1; };`,
].join(' ');

/** `key=value` lines (volumeInfo's output) → a Volume, undefined when the file is not there. */
export function parseVolumeInfo(node: string, host: string, name: string, text: string): Volume | undefined {
  const kv = Object.fromEntries(text.split('\n').map((l) => /^(\w+)=(.*)$/.exec(l.trim())).filter((m) => m !== null).map((m) => [m[1], m[2]]));
  if (kv.size === undefined || kv.size === '') return undefined;
  const port = Number(kv.CORONAFS_PORT);
  if (!Number.isInteger(port) || port <= 0) throw new Error(`coronafs: volume ${name} on ${node} has no port in its .env: ${text.slice(0, 300)}`);
  return { name, node, sizeBytes: Number(kv.size), export: { host, port, name }, exported: kv.active === 'active' };
}

async function volumeInfo(node: Node, name: string): Promise<Volume | undefined> {
  checkVolumeName(name);
  const out = await node.succeed(
    [
      `f=${VOLUME_DIR}/${name}.raw;`,
      'if [ -f "$f" ]; then echo "size=$(stat -c %s "$f")"; else echo size=; fi;',
      `cat ${VOLUME_DIR}/${name}.env 2>/dev/null;`,
      `echo "active=$(systemctl is-active ${exportUnit(name)})"`,
    ].join(' '),
  );
  return parseVolumeInfo(node.name, node.spec.clusterIp, name, out);
}

/** Writes <name>.env with a free port and starts the export service; waits until it answers. */
async function exportVolume(node: Node, name: string): Promise<Volume> {
  await node.succeed(`set -e; ${PICK_PORT} echo "CORONAFS_PORT=$port" > ${VOLUME_DIR}/${name}.env; ln -sfn /etc/systemd/system/coronafs-export@.service ${wantsLink(name)}; systemctl start ${exportUnit(name)} 2>&1`, 120_000);
  const vol = await volumeInfo(node, name);
  if (!vol) throw new NodeError(node.name, `coronafs: volume ${name} vanished while it was being exported`);
  await node.waitUntilSucceeds(`qemu-nbd -L -b ${vol.export.host} -p ${vol.export.port} | grep -qF "export: '${name}'"`, VOLUME_TIMING.exportS * 1000, 1000);
  return { ...vol, exported: true };
}

async function deleteVolume(node: Node, name: string): Promise<void> {
  checkVolumeName(name);
  // stop, then the link that enabled it; reset-failed forgets a failed instance, so nothing of it is left.
  await node.succeed(
    `systemctl stop ${exportUnit(name)} 2>/dev/null; rm -f ${wantsLink(name)}; systemctl reset-failed ${exportUnit(name)} 2>/dev/null; rm -f ${VOLUME_DIR}/${name}.raw ${VOLUME_DIR}/${name}.raw.part ${VOLUME_DIR}/${name}.env; ! systemctl is-active -q ${exportUnit(name)}`,
    120_000,
  );
}

export const coronafsOps: CoronafsOps = {
  exportName,
  async read(via, target, offset, length) {
    const url = `nbd://${target.clusterIp}:10809/${exportName(target)}`;
    // qemu-io speaks NBD itself: a real protocol read, printed as a hex dump.
    const out = await via.succeed(`qemu-io -r -f raw '${url}' -c 'read -v ${offset} ${length}'`);
    return parseHexDump(out, url);
  },
  async createVolume(node, name, sizeMiB, content) {
    checkVolumeName(name);
    if (!Number.isInteger(sizeMiB) || sizeMiB < 1) throw new Error(`coronafs: bad volume size ${sizeMiB} MiB`);
    if (content?.image && content.files) throw new Error('coronafs: a volume starts from an image or from files, not both');
    await node.succeed(
      [
        `set -e; mkdir -p ${VOLUME_DIR}; f=${VOLUME_DIR}/${name}.raw; if [ -e "$f" ]; then echo "volume ${name} exists on ${node.name}" >&2; exit 1; fi; rm -rf "$f.part" "$f.files";`,
        content?.image ? fillFromImage(content.image, sizeMiB) : `truncate -s ${sizeMiB}M "$f.part";`,
        content?.files ? fillWithFiles(content.files) : '',
        'mv "$f.part" "$f"',
      ].join(' '),
      VOLUME_TIMING.copyS * 1000,
    );
    return exportVolume(node, name);
  },
  async stageImage(node, localFile, sha256) {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`coronafs: bad sha256 ${JSON.stringify(sha256)}`);
    const remote = `${IMAGE_DIR}/${sha256}.img`;
    const have = await node.execute(`sha256sum ${remote} 2>/dev/null | cut -d' ' -f1`, VOLUME_TIMING.copyS * 1000);
    if (have.stdout.trim() === sha256) return remote;
    await node.succeed(`mkdir -p ${IMAGE_DIR} && find ${IMAGE_DIR} -mindepth 1 -delete`);
    await node.putFile(localFile, `${remote}.part`);
    const got = (await node.succeed(`sha256sum ${remote}.part | cut -d' ' -f1`, VOLUME_TIMING.copyS * 1000)).trim();
    if (got !== sha256) throw new NodeError(node.name, `coronafs: the copy of ${localFile} differs from the host's file`, { expected: sha256, lastSeen: got });
    await node.succeed(`mv ${remote}.part ${remote}`);
    return remote;
  },
  volume: volumeInfo,
  async volumes(node) {
    const out = await node.succeed(`mkdir -p ${VOLUME_DIR} && ls -1 ${VOLUME_DIR}`);
    return out.split('\n').filter((l) => l.endsWith('.raw')).map((l) => l.slice(0, -'.raw'.length));
  },
  async exports(node) {
    const out = await node.succeed(`systemctl list-units --plain --no-legend --state=active 'coronafs-export@*'`);
    return out
      .split('\n')
      .map((l) => /^coronafs-export@(\S+)\.service\s/.exec(l.trim())?.[1])
      .filter((n): n is string => n !== undefined);
  },
  async exportAnswers(via, exp) {
    // timeout: a node that drops the SYN must not hold the check for the TCP connect timeout (minutes).
    const r = await via.execute(`timeout ${EXPORT_ASK_S} qemu-nbd -L -b ${exp.host} -p ${exp.port}`, (EXPORT_ASK_S + 30) * 1000);
    return exportListed(via.name, exp, r);
  },
  async readVolume(via, exp, offset, length) {
    const out = await via.succeed(`qemu-io -r -f raw '${nbdUrl(exp)}' -c 'read -v ${offset} ${length}'`);
    return parseHexDump(out, nbdUrl(exp));
  },
  async materialize(to, from, volume) {
    const name = checkVolumeName(volume.name);
    if (volume.node !== from.name) throw new Error(`coronafs: volume ${name} lives on ${volume.node}, not ${from.name}`);
    const src = nbdUrl(volume.export);
    // The copy keeps holes (-S 4k: zero runs stay sparse), then must read back identical to the source.
    await to.succeed(
      [
        `set -e; mkdir -p ${VOLUME_DIR}; f=${VOLUME_DIR}/${name}.raw;`,
        `if [ -e "$f" ]; then echo "volume ${name} exists on ${to.name}" >&2; exit 1; fi;`,
        `qemu-img convert -f raw -O raw -S 4k '${src}' "$f.part";`,
        `qemu-img compare -f raw -F raw '${src}' "$f.part";`,
        'mv "$f.part" "$f"',
      ].join(' '),
      VOLUME_TIMING.copyS * 1000,
    );
    const moved = await exportVolume(to, name);
    // One home: the old one stops serving the volume and drops its file.
    await deleteVolume(from, name);
    return moved;
  },
  deleteVolume,
  bench: coronafsBench,
};

/** How long `exportAnswers` waits for an NBD server's list of exports. */
const EXPORT_ASK_S = 30;

/**
 * `qemu-nbd -L` (asked from `via`) → whether `exp` is served: true when the
 * server lists it, false when the server answered without it or the node
 * refused the connection (nothing listens on the export's port: a volume's
 * own server is gone). Anything else (a timeout, an unreachable node, a
 * broken handshake, no qemu-nbd) is no answer: it throws with the output,
 * never reads as "gone".
 */
export function exportListed(via: string, exp: NbdExport, r: { code: number | null; stdout: string; stderr: string; timedOut?: boolean }): boolean {
  const out = `${r.stdout}${r.stderr}`.trim();
  // The server's answer: "exports available: N", then " export: '<name>'" for each.
  if (r.code === 0 && /^exports available: \d+$/m.test(r.stdout)) return r.stdout.split('\n').some((l) => l.trimEnd() === ` export: '${exp.name}'`);
  // qemu-nbd 7.2: "Failed to connect to '10.100.0.21:10810': Connection refused" (the node's RST: nobody listens).
  if (out.includes(`Failed to connect to '${exp.host}:${exp.port}': Connection refused`)) return false;
  throw new NodeError(via, `coronafs: no answer from the NBD server of ${exp.name} at ${exp.host}:${exp.port}`, {
    expected: "qemu-nbd -L: the server's list of exports, or the connection refused (nothing listens there)",
    lastSeen: `${r.timedOut || r.code === 124 ? `no answer within ${EXPORT_ASK_S} s; ` : ''}exit ${r.code ?? 'none'}: ${out || '(no output)'}`,
  });
}

/** qemu-io's `read -v` dump ("00000000:  55 4c ...  ULTRA...") back to bytes. */
export function parseHexDump(out: string, what = 'read'): Buffer {
  const bytes: number[] = [];
  for (const line of out.split('\n')) {
    const m = /^[0-9a-f]{8}:\s+((?:[0-9a-f]{2}\s)+)/.exec(line);
    if (m) bytes.push(...m[1].trim().split(/\s+/).map((h) => parseInt(h, 16)));
  }
  if (bytes.length === 0) throw new Error(`${what}: no data in qemu-io output: ${out.slice(0, 300)}`);
  return Buffer.from(bytes);
}

export const coronafs: Role = {
  name: 'coronafs',
  description: 'NBD volume exports (qemu-storage-daemon): controller export on node01, node-local exports on workers',
  // The first control node by index: node01, storage-node01 in the storage profile.
  hostedOn: (n) => (n.kind === 'control' && n.index === 1) || n.kind === 'worker',
  image: {
    // fio (with its nbd engine) and iperf3: the storage bench (bench.ts).
    packages: ['qemu-system-common', 'qemu-utils', 'fio', 'iperf3'],
    filesDir: path.join(here, 'files'),
  },
  units: ['ultracloud-role-setup@coronafs.service', 'coronafs-nbd.service'],
  probes: [
    expectPorts('coronafs', [{ proto: 'tcp', port: 10809 }]),
    {
      name: 'the NBD export answers a real read of its label',
      async run(node) {
        const data = await coronafsOps.read(node, node.spec, 0, 64);
        const label = data.toString('latin1');
        const want = `ULTRACLOUD-CORONAFS export=${exportName(node.spec)}`;
        if (!label.startsWith(want)) {
          throw new NodeError(node.name, 'coronafs: the export did not read back its label', { expected: want, lastSeen: JSON.stringify(label) });
        }
      },
    },
  ],
  ops: coronafsOps,
};
