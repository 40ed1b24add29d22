/**
 * coronafs: mutable VM volumes over NBD = `qemu-storage-daemon` exports:
 * `coronafs-controller` on node01, `coronafs-<node>` (node-local) on each
 * worker, all on port 10809 of the node's cluster address. Read with
 * `qemu-io` over the NBD protocol from another node.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeError } from '../../../harness/errors.js';
import type { Role } from '../../../harness/stack.js';
import type { NodeSpec } from '../../../harness/topology.js';
import type { CoronafsOps } from '../../contracts.js';
import { expectPorts } from '../probes.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export function exportName(node: NodeSpec): string {
  return node.kind === 'control' ? 'coronafs-controller' : `coronafs-${node.name}`;
}

export const coronafsOps: CoronafsOps = {
  exportName,
  async read(via, target, offset, length) {
    const url = `nbd://${target.clusterIp}:10809/${exportName(target)}`;
    // qemu-io speaks NBD itself: a real protocol read, printed as a hex dump.
    const out = await via.succeed(`qemu-io -r -f raw '${url}' -c 'read -v ${offset} ${length}'`);
    return parseHexDump(out, url);
  },
};

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
  hostedOn: (n) => n.name === 'node01' || n.kind === 'worker',
  image: {
    packages: ['qemu-system-common', 'qemu-utils'],
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
