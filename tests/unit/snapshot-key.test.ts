/**
 * The warm snapshot's key is data: what decides the booted state. An edit to
 * harness code that does not change it (the status table, a comment) keeps
 * the snapshot; a kernel argument or a ready unit refuses it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Cluster } from '../../harness/cluster.js';
import { loadConfig } from '../../harness/config.js';
import { keyChange, snapshotKey } from '../../harness/snapshot.js';
import type { Role, Stack } from '../../harness/stack.js';
import { reference } from '../../stacks/reference/index.js';

describe('snapshot key from the cluster (Cluster.keyParts)', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-key-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const cluster = (stack: Stack = reference, over: { stateDir?: string; cacheDir?: string } = {}) =>
    new Cluster({ ...loadConfig({ HOME: dir }), stateDir: over.stateDir ?? path.join(dir, 'state'), cacheDir: over.cacheDir ?? path.join(dir, 'cache') }, stack);
  const image = (folder: string) => ({ dir: folder, disk: `${folder}/disk.qcow2`, kernel: `${folder}/vmlinuz`, initrd: `${folder}/initrd.img`, probeInitrd: `${folder}/p`, hash: 'f5c51a51', stack: 'reference', builtAt: '', buildSeconds: 0 });
  const plan = { accel: 'tcg' as const, image: image('/cache/images/reference-f5c51a51') };

  it('needs no SSH key, no state dir and no built image (cluster keys asks before a boot)', () => {
    const parts = cluster().keyParts(plan);
    expect(parts.nodes.node01).toContain('ultracloud.authkey=$KEY');
    expect(parts.nodes.node01).toContain('-kernel $IMAGE/vmlinuz');
    expect(parts.nodes.node01).toContain('file=$STATE/node01/disk.qcow2');
    expect(parts.readiness.node01).toContain('etcd.service');
  });

  it('is the same for another state dir and image cache folder: only what boots counts', () => {
    const a = snapshotKey(cluster().keyParts(plan));
    const b = snapshotKey(cluster(reference, { stateDir: path.join(dir, 'other-state') }).keyParts({ ...plan, image: image('/elsewhere/images/reference-f5c51a51') }));
    expect(b).toBe(a);
  });

  it('a changed kernel argument refuses the snapshot, naming the nodes', () => {
    const before = cluster().keyParts(plan);
    const moreArgs: Stack = { ...reference, bootArgs: (n) => [...reference.bootArgs(n), 'systemd.log_level=debug'] };
    const after = cluster(moreArgs).keyParts(plan);
    expect(snapshotKey(after)).not.toBe(snapshotKey(before));
    expect(keyChange(before, after)).toBe('QEMU command line of node01, node02, node03, node04, node05, node06 changed');
  });

  it('a changed ready unit refuses the snapshot, naming the nodes', () => {
    const before = cluster().keyParts(plan);
    const roles: Role[] = reference.roles.map((r) => (r.name === 'chainfire' ? { ...r, units: [...(typeof r.units === 'function' ? [] : r.units), 'chainfire-extra.service'] } : r));
    const after = cluster({ ...reference, roles }).keyParts(plan);
    expect(snapshotKey(after)).not.toBe(snapshotKey(before));
    expect(keyChange(before, after)).toMatch(/^readiness \(units or checks\) of node01, node02, node03 changed$/);
  });

  it('a changed ready check refuses the snapshot, naming the nodes that run it', () => {
    const before = cluster().keyParts(plan);
    const roles: Role[] = reference.roles.map((r) => (r.name === 'plasmavmc' ? { ...r, readyChecks: [...(r.readyChecks ?? []), { what: 'x', command: 'virsh list' }] } : r));
    const after = cluster({ ...reference, roles }).keyParts(plan);
    expect(snapshotKey(after)).not.toBe(snapshotKey(before));
    expect(keyChange(before, after)).toBe('readiness (units or checks) of node01, node02, node03, node04, node05 changed');
  });
});
