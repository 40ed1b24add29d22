/**
 * The pure parts of the tenant web app demo: its two deployments, its
 * bootstrap config, the guest's domain with a root disk, the volume
 * contents, the metadata port's names and the guest image recipe.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { DEMO, SERVE, guestSpec, hostUrl, webappConfig } from '../../fixtures/webapp.js';
import { guestRecipe } from '../../harness/image/guest.js';
import { webappGuest } from '../../guests/webapp/index.js';
import { fillFromImage, fillWithFiles } from '../../stacks/reference/coronafs/index.js';
import { guestDomainXml } from '../../stacks/reference/plasmavmc/index.js';
import { forwardUnit, metadataPlan } from '../../stacks/reference/prismnet/index.js';
import { parseConfig } from '../../services/webapp/src/config.js';

describe('web app deployments', () => {
  test('demo and serve share no name, address, port, volume, bucket or key', () => {
    const values = (d: typeof DEMO) => [d.name, d.ovnPort, d.mac, d.net.cidr, d.transit, d.rootVolume, d.dataVolume, d.bucket, d.counterKey, d.forward.offset, d.forward.guestPort];
    const demo = values(DEMO);
    for (const v of values(SERVE)) expect(demo).not.toContain(v);
  });

  test('the host URL is on 127.0.0.1 at the port base plus the offset', () => {
    expect(hostUrl(DEMO, 22200)).toBe('http://127.0.0.1:22287/');
    expect(hostUrl(SERVE, 30000)).toBe('http://127.0.0.1:30088/');
  });

  test('the bootstrap config is one the app accepts', () => {
    const ips: Record<string, string> = { node01: '10.100.0.11', node02: '10.100.0.12', node03: '10.100.0.13' };
    const c = webappConfig(DEMO, { clusterIp: (n) => ips[n], secret: 's3cr3t', metadataUrl: 'http://10.253.0.2/node', runId: 'r1' });
    const parsed = parseConfig(JSON.stringify(c));
    expect(parsed.flaredb.sentinels).toEqual([{ host: '10.100.0.11', port: 26379 }, { host: '10.100.0.12', port: 26379 }, { host: '10.100.0.13', port: 26379 }]);
    expect(parsed.s3).toMatchObject({ endpoint: 'http://10.100.0.12:8080', bucket: DEMO.bucket, forcePathStyle: true });
    expect(parsed).toMatchObject({ name: DEMO.name, counterKey: DEMO.counterKey, metadataUrl: 'http://10.253.0.2/node' });
  });
});

describe('plasmavmc: a guest with a root disk', () => {
  const root = { host: '10.100.0.21', port: 10810, name: 'demo-webapp-root' };
  const data = { host: '10.100.0.21', port: 10811, name: 'demo-webapp-data' };
  const x = guestDomainXml(guestSpec(DEMO, root, data), 'kvm');

  test('root is vda and data vdb, both NBD exports QEMU opens itself', () => {
    const disks = [...x.matchAll(/<source protocol='nbd' name='([^']+)'>.*?<\/source>\s*<target dev='(vd.)'/gs)].map((m) => [m[1], m[2]]);
    expect(disks).toEqual([
      ['demo-webapp-root', 'vda'],
      ['demo-webapp-data', 'vdb'],
    ]);
  });

  test('the initrd is told to switch to the root and which init to run', () => {
    const cmdline = /<cmdline>([^<]*)<\/cmdline>/.exec(x)![1];
    expect(cmdline.split(' ')).toEqual(expect.arrayContaining(['ultracloud.root=/dev/vda', 'ultracloud.init=/usr/lib/ultracloud/webapp/init', 'ultracloud.ip=10.253.0.10/24', 'ultracloud.gw=10.253.0.1']));
    expect(x).toContain("<memory unit='MiB'>192</memory>");
  });

  test('a data disk alone stays vda (the vm-hosting guest)', () => {
    const y = guestDomainXml({ name: 'g', mac: '52:54:00:00:00:01', dataDisk: data }, 'qemu');
    expect(y).toContain("<target dev='vda' bus='virtio'/>");
    expect(y).not.toContain('ultracloud.root=');
  });
});

describe('coronafs: volume contents', () => {
  test('files become an ext4 filesystem made from a folder, paths checked', () => {
    const sh = fillWithFiles({ 'webapp.json': '{"a":1}\n' });
    expect(sh).toContain(Buffer.from('{"a":1}\n').toString('base64'));
    expect(sh).toContain('mkfs.ext4 -q -F -L data -d "$f.files" "$f.part"');
    expect(() => fillWithFiles({ '../etc/passwd': 'x' })).toThrow(/bad file path/);
    expect(() => fillWithFiles({ 'a b': 'x' })).toThrow(/bad file path/);
  });

  test('an image is converted sparse and grown to the volume, refused when larger', () => {
    const sh = fillFromImage("/var/lib/coronafs/images/x'y.img", 512);
    expect(sh).toContain(`img='/var/lib/coronafs/images/x'\\''y.img'`);
    expect(sh).toContain('want=$((512 * 1048576))');
    expect(sh).toContain('qemu-img convert -S 4k -O raw "$img" "$f.part"');
    expect(sh).toMatch(/\[ "\$virt" -le "\$want" \] \|\| \{ echo .*over the volume/);
  });
});

describe('prismnet: metadata port and port forward names', () => {
  test('stable per switch, within Linux interface name limits, distinct per switch', () => {
    const a = metadataPlan('demo-webapp');
    const b = metadataPlan('serve-webapp');
    expect(metadataPlan('demo-webapp')).toEqual(a);
    for (const n of [a.iface, a.peer, a.netns]) expect(n.length).toBeLessThanOrEqual(15);
    expect(a.lsp).toBe('demo-webapp-meta');
    expect(a.iface).not.toBe(b.iface);
    expect(a.mac).toMatch(/^0a:58(:[0-9a-f]{2}){4}$/);
  });

  test('forward units are named after the forward; odd names are refused', () => {
    expect(forwardUnit('demo-webapp')).toBe('ucfwd-demo-webapp');
    expect(() => forwardUnit('a;b')).toThrow(/bad port forward name/);
  });
});

describe('guest image recipe', () => {
  test('the same inputs give the same hash; a changed file or package list gives another', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uc-guest-'));
    try {
      fs.writeFileSync(path.join(dir, 'init'), '#!/bin/sh\n');
      const def = { ...webappGuest, filesDir: dir, generated: undefined };
      const a = guestRecipe(def, 'bookworm', 'Types: deb\n');
      expect(guestRecipe(def, 'bookworm', 'Types: deb\n').hash).toBe(a.hash);
      expect(guestRecipe({ ...def, packages: [...def.packages, 'curl'] }, 'bookworm', 'Types: deb\n').hash).not.toBe(a.hash);
      expect(guestRecipe(def, 'bookworm', 'Types: deb\nURIs: other\n').hash).not.toBe(a.hash);
      fs.writeFileSync(path.join(dir, 'init'), '#!/bin/sh\necho\n');
      expect(guestRecipe(def, 'bookworm', 'Types: deb\n').hash).not.toBe(a.hash);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
