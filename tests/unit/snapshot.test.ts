import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type SnapshotKeyParts, type SnapshotMeta, SnapshotStore, keyChange, normaliseArgs, snapshotKey } from '../../harness/snapshot.js';

const parts = (over: Partial<SnapshotKeyParts> = {}): SnapshotKeyParts => ({
  stack: 'reference',
  profile: 'default',
  recipe: 'aaaa',
  qemu: 'QEMU emulator version 7.2.22',
  accel: 'tcg',
  hostCpu: 'AMD EPYC',
  format: 2,
  nodes: { node01: '-m 1024 -cpu max', node02: '-m 1024 -cpu max' },
  readiness: { node01: ['etcd.service'], node02: ['etcd.service'] },
  ...over,
});

describe('snapshot key', () => {
  it('is stable for the same parts and changes with any of them', () => {
    expect(snapshotKey(parts())).toBe(snapshotKey(parts()));
    for (const over of [{ recipe: 'bbbb' }, { qemu: 'QEMU emulator version 8.0' }, { hostCpu: 'Intel' }, { accel: 'kvm' }, { format: 3 }, { readiness: { node01: ['etcd.service', 'pdns.service'], node02: ['etcd.service'] } }, { nodes: { node01: '-m 2048 -cpu max', node02: '-m 1024 -cpu max' } }]) {
      expect(snapshotKey(parts(over))).not.toBe(snapshotKey(parts()));
    }
  });

  it('says in one line what changed', () => {
    expect(keyChange(parts(), parts())).toBeUndefined();
    expect(keyChange(parts(), parts({ recipe: 'bbbb' }))).toBe('image recipe aaaa -> bbbb');
    expect(keyChange(parts(), parts({ qemu: 'QEMU 8' }))).toContain("QEMU version 'QEMU emulator version 7.2.22' -> 'QEMU 8'");
    expect(keyChange(parts(), parts({ hostCpu: 'Intel' }))).toContain("host CPU 'AMD EPYC' -> 'Intel'");
    expect(keyChange(parts(), parts({ nodes: { node01: '-m 1024 -cpu max', node02: '-m 2048 -cpu max' } }))).toBe('QEMU command line of node02 changed');
    expect(keyChange(parts(), parts({ nodes: { node01: '-m 1024 -cpu max' } }))).toBe('topology changed (-node02)');
    expect(keyChange(parts(), parts({ readiness: { node01: ['etcd.service'], node02: [] } }))).toBe('readiness (units or checks) of node02 changed');
    expect(keyChange(parts(), parts({ format: 3 }))).toBe('snapshot format 2 -> 3');
    // A snapshot captured before the key was data (its parts hash the harness code instead).
    const { format: _f, readiness: _r, ...old } = parts();
    expect(keyChange({ ...old, harness: 'h1' } as never, parts())).toBe('snapshot format 1 (keyed by harness code) -> 2');
  });

  it('replaces the state dir and the per-cluster SSH key in a command line', () => {
    const args = ['-drive', 'file=/s/dir/node01/disk.qcow2', '-append', 'console=ttyS0 ultracloud.authkey=c3NoLWVk ultracloud.node=node01'];
    expect(normaliseArgs(args, '/s/dir')).toBe('-drive file=$STATE/node01/disk.qcow2 -append console=ttyS0 ultracloud.authkey=$KEY ultracloud.node=node01');
  });

  it('replaces the image folders too, the longest first', () => {
    const args = ['-kernel', '/c/images/ref-1/vmlinuz', '-initrd', '/c/images/ref-1/sub/initrd.img'];
    expect(normaliseArgs(args, '/state', ['/c/images/ref-1', '/c/images/ref-1/sub'])).toBe('-kernel $IMAGE/vmlinuz -initrd $IMAGE/initrd.img');
  });
});

describe('snapshot store', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  function fixture() {
    const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-snap-'));
    dirs.push(cache);
    const base = path.join(cache, 'image.qcow2');
    fs.writeFileSync(base, 'image');
    return { cache, base, store: new SnapshotStore(cache, 'reference', 'default') };
  }

  function capture(store: SnapshotStore, base: string, p: SnapshotKeyParts): SnapshotMeta {
    const key = snapshotKey(p);
    const tmp = store.begin(key);
    fs.writeFileSync(path.join(tmp, 'node01.state'), 'ram and devices');
    fs.writeFileSync(path.join(tmp, 'node01.qcow2'), 'overlay');
    fs.mkdirSync(path.join(tmp, 'ssh'));
    fs.writeFileSync(path.join(tmp, 'ssh', 'id_ed25519'), 'key');
    const meta: SnapshotMeta = {
      key,
      parts: p,
      createdAt: new Date().toISOString(),
      captureS: 1,
      baseDisk: base,
      nodes: { node01: { state: 'node01.state', stateBytes: 15, disk: 'node01.qcow2', diskBytes: 7 } },
      files: ['ssh/id_ed25519'],
    };
    store.commit(tmp, meta);
    return meta;
  }

  it('finds a complete snapshot by its key', () => {
    const { store, base } = fixture();
    const meta = capture(store, base, parts());
    const found = store.find(parts());
    expect('meta' in found && found.meta.key).toBe(meta.key);
  });

  it('says why none fits: nothing yet, or what changed since the last one', () => {
    const { store, base } = fixture();
    expect(store.find(parts())).toEqual({ reason: 'no warm snapshot yet for this stack and profile' });
    capture(store, base, parts());
    const r = store.find(parts({ recipe: 'cccc' }));
    expect('reason' in r && r.reason).toMatch(/does not fit: image recipe aaaa -> cccc$/);
  });

  it('keeps one snapshot per stack and profile', () => {
    const { store, base, cache } = fixture();
    capture(store, base, parts());
    capture(store, base, parts({ recipe: 'bbbb' }));
    expect(fs.readdirSync(path.join(cache, 'snapshots'))).toEqual([`reference-default-${snapshotKey(parts({ recipe: 'bbbb' }))}`]);
  });

  it('never offers a short or missing file, or a snapshot whose image is gone', () => {
    const { store, base } = fixture();
    const meta = capture(store, base, parts());
    const dir = store.dirFor(meta.key);
    fs.truncateSync(path.join(dir, 'node01.state'), 5);
    expect(store.find(parts())).toEqual({ reason: `snapshot ${meta.key} is damaged (node01: node01.state has 5 bytes, 15 were written)` });
    fs.rmSync(path.join(dir, 'ssh', 'id_ed25519'));
    fs.writeFileSync(path.join(dir, 'node01.state'), 'ram and devices');
    expect(store.find(parts())).toEqual({ reason: `snapshot ${meta.key} is damaged (ssh/id_ed25519 is missing)` });
    fs.rmSync(base);
    expect(store.find(parts())).toEqual({ reason: `snapshot ${meta.key} is damaged (its image ${base} is gone)` });
  });

  it('ignores a capture that never finished and names it', () => {
    const { store, cache } = fixture();
    const tmp = path.join(cache, 'snapshots', `reference-default-${snapshotKey(parts())}.tmp-999999`);
    fs.mkdirSync(tmp, { recursive: true });
    fs.writeFileSync(path.join(tmp, 'node01.state'), 'half');
    const r = store.find(parts());
    expect('reason' in r && r.reason).toBe(`no complete warm snapshot (the capture by pid 999999 was interrupted and left ${tmp} half-written)`);
    // The next capture clears it away.
    store.begin('k');
    expect(fs.existsSync(tmp)).toBe(false);
  });
});
