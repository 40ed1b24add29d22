/**
 * The pure parts of the vm-hosting scenario's role operations: the stamped
 * boot image (plasmavmc), the data-disk pattern and domain XML, CoronaFS
 * volume info, the S3 GET a worker runs (lightningstor).
 */
import { execFileSync } from 'node:child_process';
import zlib from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { checkVolumeName, nbdUrl, parseVolumeInfo } from '../../stacks/reference/coronafs/index.js';
import { objectPath, s3GetCommand } from '../../stacks/reference/lightningstor/index.js';
import { DISK_PATTERN_BYTES, diskOpArg, diskPattern, guestDomainXml, imagePath, newcArchive, stampImage } from '../../stacks/reference/plasmavmc/index.js';

/** Reads a newc archive back: entries in order (name, mode, data), checking each header's 4-byte alignment. */
function readNewc(buf: Buffer, start = 0): { name: string; mode: number; data: string }[] {
  const out: { name: string; mode: number; data: string }[] = [];
  let at = start;
  for (;;) {
    expect((at - start) % 4, `entry at ${at} is 4-byte aligned`).toBe(0);
    expect(buf.subarray(at, at + 6).toString('latin1')).toBe('070701');
    const field = (i: number) => parseInt(buf.subarray(at + 6 + i * 8, at + 14 + i * 8).toString('latin1'), 16);
    const [mode, size, namesize] = [field(1), field(6), field(11)];
    const nameAt = at + 110;
    const name = buf.subarray(nameAt, nameAt + namesize - 1).toString('latin1');
    expect(buf[nameAt + namesize - 1], `${name} ends with NUL`).toBe(0);
    const dataAt = nameAt + namesize + ((4 - ((110 + namesize) % 4)) % 4);
    out.push({ name, mode, data: buf.subarray(dataAt, dataAt + size).toString('latin1') });
    at = dataAt + size + ((4 - (size % 4)) % 4);
    if (name === 'TRAILER!!!') {
      expect(at, 'the archive ends after its trailer').toBe(buf.length);
      return out;
    }
  }
}

describe('plasmavmc: boot image stamp', () => {
  test('newcArchive makes parent folders, the file and a trailer, all aligned', () => {
    const entries = readNewc(newcArchive({ 'etc/ultracloud-image': 'abc\n' }));
    expect(entries).toEqual([
      { name: 'etc', mode: 0o40755, data: '' },
      { name: 'etc/ultracloud-image', mode: 0o100644, data: 'abc\n' },
      { name: 'TRAILER!!!', mode: 0, data: '' },
    ]);
  });

  test('stampImage keeps the compressed initrd as is, pads it to 4 bytes and appends the id', () => {
    for (const len of [1, 2, 3, 4, 5]) {
      const initrd = zlib.gzipSync(Buffer.from('x'.repeat(len * 7)));
      const stamped = stampImage(initrd, 'mx-vmh-run1');
      expect(stamped.subarray(0, initrd.length).equals(initrd)).toBe(true);
      const start = initrd.length + ((4 - (initrd.length % 4)) % 4);
      expect(stamped.subarray(initrd.length, start).every((b) => b === 0), 'zero padding').toBe(true);
      expect(readNewc(stamped, start).find((e) => e.name === 'etc/ultracloud-image')?.data).toBe('mx-vmh-run1\n');
    }
  });

  test('stampImage refuses an id that is not one console word', () => {
    expect(() => stampImage(Buffer.alloc(4), 'a b')).toThrow(/image id/);
    expect(() => stampImage(Buffer.alloc(4), '')).toThrow(/image id/);
  });
});

describe('plasmavmc: data disk and domain', () => {
  test('diskPattern is what busybox `yes <p> | head -c 1MiB` writes', () => {
    const want = execFileSync('sh', ['-c', `yes MXVMH-abc | head -c ${DISK_PATTERN_BYTES}`], { maxBuffer: 4 * DISK_PATTERN_BYTES });
    expect(diskPattern('MXVMH-abc').equals(want)).toBe(true);
    expect(diskPattern('MXVMH-abc').length).toBe(1024 * 1024);
  });

  test('diskOpArg allows only one console word as the pattern', () => {
    expect(diskOpArg({ op: 'check', pattern: 'A.b_c-1' })).toBe('check:A.b_c-1');
    expect(() => diskOpArg({ op: 'write', pattern: 'a b' })).toThrow(/pattern/);
    expect(() => diskOpArg({ op: 'write', pattern: '' })).toThrow(/pattern/);
  });

  test('a guest with a staged image, an NBD data disk and a disk order', () => {
    const x = guestDomainXml(
      { name: 'mx-vmh-guest', mac: '52:54:00:fc:00:01', image: 'mx-vmh-guest', dataDisk: { host: '10.100.0.21', port: 10810, name: 'mx-vmh-data' }, diskOp: { op: 'write', pattern: 'P1' } },
      'kvm',
    );
    expect(x).toContain(`<initrd>${imagePath('mx-vmh-guest')}</initrd>`);
    expect(x).toContain("<source protocol='nbd' name='mx-vmh-data'><host name='10.100.0.21' port='10810'/></source>");
    expect(x).toContain("<target dev='vda' bus='virtio'/>");
    expect(x).toMatch(/<cmdline>[^<]*ultracloud\.disk=write:P1[^<]*<\/cmdline>/);
  });

  test('a plain guest keeps the baked initrd and has no disk', () => {
    const x = guestDomainXml({ name: 'tenant-a', mac: '52:54:00:7e:00:0a' }, 'qemu');
    expect(x).toContain('<initrd>/usr/lib/ultracloud/guest/initrd.img</initrd>');
    expect(x).not.toContain('<disk');
    expect(x).not.toContain('ultracloud.disk=');
  });

  test('imagePath refuses names that are not file-name words', () => {
    expect(imagePath('mx-vmh-guest')).toBe('/var/lib/libvirt/images/mx-vmh-guest.initrd');
    expect(() => imagePath('../etc/passwd')).toThrow(/bad image name/);
  });
});

describe('coronafs: volumes', () => {
  test('parseVolumeInfo reads the volume file, its port and its export service', () => {
    expect(parseVolumeInfo('node04', '10.100.0.21', 'v1', 'size=16777216\nCORONAFS_PORT=10810\nactive=active\n')).toEqual({
      name: 'v1',
      node: 'node04',
      sizeBytes: 16777216,
      export: { host: '10.100.0.21', port: 10810, name: 'v1' },
      exported: true,
    });
    expect(parseVolumeInfo('node04', '10.100.0.21', 'v1', 'size=16\nCORONAFS_PORT=10811\nactive=inactive\n')?.exported).toBe(false);
    expect(parseVolumeInfo('node04', '10.100.0.21', 'v1', 'size=\nactive=inactive\n')).toBeUndefined();
    expect(() => parseVolumeInfo('node04', '10.100.0.21', 'v1', 'size=16\nactive=failed\n')).toThrow(/no port/);
  });

  test('volume names are file-name and unit-instance words', () => {
    expect(checkVolumeName('mx-vmh-data')).toBe('mx-vmh-data');
    for (const bad of ['', 'A', 'a/b', 'a b', 'a.b', '-a', 'x'.repeat(64)]) expect(() => checkVolumeName(bad), bad).toThrow(/bad volume name/);
    expect(nbdUrl({ host: '10.100.0.22', port: 10812, name: 'v' })).toBe('nbd://10.100.0.22:10812/v');
  });
});

describe('lightningstor: a worker S3 GET', () => {
  test('objectPath checks bucket and key', () => {
    expect(objectPath('mx-vmh-images', 'mx-vmh-guest/initrd.img')).toBe('/mx-vmh-images/mx-vmh-guest/initrd.img');
    for (const [b, k] of [['Bad', 'k'], ['ok-bucket', 'a b'], ['ok-bucket', '../x'], ['ok-bucket', "k'"]]) expect(() => objectPath(b, k), `${b}/${k}`).toThrow();
  });

  test('the command signs with SigV4, reads the secret on the node and never carries it', () => {
    const cmd = s3GetCommand('10.100.0.12', 'mx-vmh-images', 'a/b.img', '/var/lib/libvirt/images/x.initrd');
    expect(cmd).toContain('--aws-sigv4 aws:amz:us-east-1:s3');
    expect(cmd).toContain("'http://10.100.0.12:8080/mx-vmh-images/a/b.img'");
    expect(cmd).toContain('"$(cat /run/ultracloud/secret)" > "$netrc"');
    expect(cmd).toContain('x-amz-content-sha256: UNSIGNED-PAYLOAD');
    // Written to a .part name and renamed: a failed GET leaves no image behind.
    expect(cmd).toMatch(/mv -f "\$part" '\/var\/lib\/libvirt\/images\/x\.initrd'/);
  });
});
