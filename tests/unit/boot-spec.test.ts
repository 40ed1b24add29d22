/**
 * How each node boots, as data (harness/cluster/boot-spec.ts): no file is
 * read and nothing runs, so the command lines, the fw_cfg secrets and the
 * snapshot key are checked here directly.
 */
import { describe, expect, it } from 'vitest';
import { type BootInputs, bootSpec, kernelCmdline, keyParts, nodeImage, secretFiles } from '../../harness/cluster/boot-spec.js';
import { QemuVm } from '../../harness/vm/qemu.js';
import { SNAPSHOT_FORMAT } from '../../harness/snapshot.js';
import { PROFILES } from '../../harness/topology.js';
import { reference } from '../../stacks/reference/index.js';

const nodes = PROFILES.default.nodes;
const byName = (n: string) => nodes.find((s) => s.name === n)!;
const KEY = 'ssh-ed25519 AAAAC3Nza test';
const image = (dir: string) => ({ dir, disk: `${dir}/disk.qcow2`, kernel: `${dir}/vmlinuz`, initrd: `${dir}/initrd.img`, probeInitrd: `${dir}/p`, hash: 'f5c51a51', stack: 'reference', builtAt: '', buildSeconds: 0 });
const inputs: BootInputs = { stack: reference, secretsDir: '/state/secrets', portBase: 22200, vdeSocket: '/state/vde/switch' };

describe('kernelCmdline', () => {
  it('names the node, its addresses and roles, and carries the public key base64', () => {
    const s = byName('node04');
    const line = kernelCmdline(reference, s, KEY);
    const args = line.split(' ');
    expect(args.slice(0, 5)).toEqual(['console=ttyS0,115200', 'root=/dev/vda', 'rw', 'quiet', 'mitigations=off']);
    expect(args).toContain('systemd.hostname=node04');
    expect(args).toContain('ultracloud.node=node04');
    expect(args).toContain(`ultracloud.cluster_ip=${s.clusterIp}/${s.clusterPrefix}`);
    expect(args).toContain(`ultracloud.cluster_mac=${s.clusterMac}`);
    expect(args).toContain(`ultracloud.mgmt_mac=${s.mgmtMac}`);
    for (const a of reference.bootArgs(s)) expect(args).toContain(a);
    expect(args.at(-1)).toBe(`ultracloud.authkey=${Buffer.from(KEY).toString('base64')}`);
    expect(line).not.toContain(KEY);
  });
});

describe('secretFiles', () => {
  it("gives each node its roles' secrets as fw_cfg files under opt/ultracloud, by path", () => {
    // In the stack's order of secrets.
    expect(secretFiles(reference, '/state/secrets', byName('node01'))).toEqual([
      { name: 'opt/ultracloud/secret', file: '/state/secrets/secret' },
      { name: 'opt/ultracloud/signing-key.der', file: '/state/secrets/signing-key.der' },
    ]);
    expect(secretFiles(reference, '/state/secrets', byName('node04'))).toEqual([{ name: 'opt/ultracloud/secret', file: '/state/secrets/secret' }]);
  });
});

describe('nodeImage', () => {
  it('is the one image for every node, with nothing appended', () => {
    expect(nodeImage(byName('node02'), { image: image('/img') })).toEqual({ disk: '/img/disk.qcow2', kernel: '/img/vmlinuz', initrd: '/img/initrd.img', append: [] });
  });

  it("is the node's own where the image has one per node (nix)", () => {
    const own = { disk: '/n2/disk.qcow2', kernel: '/n2/bzImage', initrd: '/n2/initrd', append: ['init=/nix/store/x/init'] };
    const img = { ...image('/img'), nodes: { node02: own } };
    expect(nodeImage(byName('node02'), { image: img })).toEqual(own);
    expect(nodeImage(byName('node03'), { image: img }).disk).toBe('/img/disk.qcow2');
  });
});

describe('bootSpec', () => {
  it("is the node's memory, image, accel, NICs and forwards; the per-node image's arguments follow the kernel command line", () => {
    const s = byName('node01');
    const own = { disk: '/n1/disk.qcow2', kernel: '/n1/bzImage', initrd: '/n1/initrd', append: ['init=/nix/store/x/init'] };
    const spec = bootSpec(inputs, s, { accel: 'kvm', image: { ...image('/img'), nodes: { node01: own } } }, KEY);
    expect(spec).toMatchObject({ accel: 'kvm', memoryMiB: s.memoryMiB, kernel: '/n1/bzImage', initrd: '/n1/initrd', baseDisk: '/n1/disk.qcow2', vdeSocket: '/state/vde/switch', clusterMac: s.clusterMac, mgmtMac: s.mgmtMac });
    expect(spec.append).toBe(`${kernelCmdline(reference, s, KEY)} init=/nix/store/x/init`);
    expect(spec.hostForwards).toEqual(s.forwards.map((f) => ({ hostPort: 22200 + f.offset, guestPort: f.guestPort })));
    expect(spec.fwCfgFiles).toEqual(secretFiles(reference, '/state/secrets', s));
  });

  it('puts secret paths in argv and never a secret (the content is not even an input)', () => {
    for (const s of nodes) {
      const spec = bootSpec(inputs, s, { accel: 'tcg', image: image('/img') }, KEY);
      const argv = new QemuVm(s.name, `/state/${s.name}`).args(spec);
      const fw = argv.filter((a, i) => argv[i - 1] === '-fw_cfg');
      expect(fw, s.name).toEqual(secretFiles(reference, '/state/secrets', s).map((f) => `name=${f.name},file=${f.file}`));
      expect(spec.append).not.toMatch(/secret|signing-key/);
    }
  });
});

describe('keyParts', () => {
  const keyInputs = { ...inputs, profile: 'default', stateDir: '/state', specs: nodes, qemu: 'QEMU emulator version 7.2.0', hostCpu: 'Test CPU' };

  it('is the format, stack, recipe, QEMU, accel, host CPU, each argv with placeholders and the ready units', () => {
    const parts = keyParts(keyInputs, { accel: 'kvm', image: image('/cache/images/reference-f5c51a51') });
    expect(parts).toMatchObject({ format: SNAPSHOT_FORMAT, stack: 'reference', profile: 'default', recipe: 'f5c51a51', qemu: 'QEMU emulator version 7.2.0', accel: 'kvm', hostCpu: 'Test CPU' });
    expect(Object.keys(parts.nodes)).toEqual(nodes.map((s) => s.name));
    expect(parts.nodes.node01).toContain('-kernel $IMAGE/vmlinuz');
    expect(parts.nodes.node01).toContain('file=$STATE/node01/disk.qcow2');
    expect(parts.nodes.node01).toContain('ultracloud.authkey=$KEY');
    expect(parts.nodes.node01).toContain('accel=kvm');
    expect(parts.readiness.node01).toContain('etcd.service');
  });

  it('writes an unprobed accel as TCG command lines, and says it was not probed', () => {
    const parts = keyParts(keyInputs, { accel: 'unprobed', image: image('/img') });
    expect(parts.accel).toBe('unprobed');
    expect(parts.nodes.node03).toContain('accel=tcg');
  });
});
