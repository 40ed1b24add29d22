/**
 * The install plan's disk part, Disko-like and pure: a class's disk layout
 * and the disks the installer reported -> either a clear error (a selector
 * that matches no disk or several, two plan disks on one device, a layout
 * larger than its disk) or a POSIX sh script for the installer (dash; no
 * udev), the installed system's /etc/fstab and what the bootloader needs.
 *
 * The script wipes every old signature (partitions first, then the disk),
 * writes a GPT with sfdisk, waits for the partitions' device nodes
 * (devtmpfs makes them when the kernel re-reads the table), makes the
 * filesystems with the UUIDs chosen here (so fstab and GRUB can name them
 * before they exist) and mounts the target under /target: "/" first, then
 * the others in path order. Every value in it is shell-quoted.
 */
import crypto from 'node:crypto';
import type { BmClass, BmDisk, BmPartition, BmSelector } from './schema.js';

export interface ReportedDisk {
  /** Kernel name: vda, sda, nvme0n1, loop0. */
  name: string;
  serial: string;
  bytes: number;
}

export const DISK_NAME_RE = /^[a-z][a-z0-9]{0,31}$/;
const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** GPT type GUIDs. */
export const PART_TYPES = {
  bios: '21686148-6449-6E6F-744E-656564454649',
  esp: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  linux: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
} as const;
/** sfdisk starts the first partition at 1 MiB and the backup GPT takes the disk's last 33 sectors. */
const OVERHEAD_MiB = 2;

export class DiskSelectorError extends Error {
  override name = 'DiskSelectorError';
  readonly step = 'disk-selector';
}

export const shq = (s: string) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** `/dev/vdb` + 3 -> /dev/vdb3; names ending in a digit (nvme0n1, loop0, mmcblk0) take a `p`: /dev/nvme0n1p3. */
export function partitionDevice(disk: string, n: number): string {
  const dev = disk.startsWith('/dev/') ? disk : `/dev/${disk}`;
  return /\d$/.test(dev) ? `${dev}p${n}` : `${dev}${n}`;
}

export function describeSelector(s: BmSelector): string {
  return 'serial' in s ? `serial=${s.serial}` : `sizeGiB=${s.sizeGiB.min}..${s.sizeGiB.max}`;
}

export function describeDisk(d: ReportedDisk): string {
  return `${d.name} (serial ${d.serial || '(none)'}, ${(d.bytes / GiB).toFixed(1)} GiB)`;
}

/** A serial glob (* and ?) as an anchored regexp. */
export function globMatch(glob: string, s: string): boolean {
  const re = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(s);
}

export function selectorMatches(s: BmSelector, d: ReportedDisk): boolean {
  if ('serial' in s) return globMatch(s.serial, d.serial);
  return d.bytes >= s.sizeGiB.min * GiB && d.bytes <= s.sizeGiB.max * GiB;
}

/** Checks the installer's disk list (from the phone-home body); throws Error naming the entry. */
export function validateReportedDisks(raw: unknown): ReportedDisk[] {
  if (!Array.isArray(raw)) throw new Error('disks: must be a list of {name, serial, bytes}');
  if (raw.length > 64) throw new Error('disks: more than 64');
  return raw.map((d, i) => {
    const o = d as Record<string, unknown>;
    if (typeof o !== 'object' || o === null) throw new Error(`disks[${i}]: must be an object`);
    if (typeof o.name !== 'string' || !DISK_NAME_RE.test(o.name)) throw new Error(`disks[${i}].name: not a kernel disk name (vda, nvme0n1): ${JSON.stringify(o.name)}`);
    const serial = o.serial === undefined || o.serial === null ? '' : o.serial;
    if (typeof serial !== 'string' || serial.length > 128) throw new Error(`disks[${i}].serial: must be a string`);
    if (typeof o.bytes !== 'number' || !Number.isSafeInteger(o.bytes) || o.bytes < 0) throw new Error(`disks[${i}].bytes: must be a non-negative integer`);
    return { name: o.name, serial, bytes: o.bytes };
  });
}

/** Each plan disk's device; throws DiskSelectorError listing the disks when a selector matches none or several, or two pick one. */
export function resolveDisks(cls: BmClass, disks: ReportedDisk[]): Map<string, ReportedDisk> {
  const all = disks.map(describeDisk).join(', ') || '(no disks reported)';
  const out = new Map<string, ReportedDisk>();
  for (const d of cls.disks) {
    const m = disks.filter((x) => selectorMatches(d.select, x));
    if (m.length === 0) throw new DiskSelectorError(`disk "${d.name}" selector ${describeSelector(d.select)} matches none of: ${all}`);
    if (m.length > 1) throw new DiskSelectorError(`disk "${d.name}" selector ${describeSelector(d.select)} matches ${m.length} disks: ${m.map(describeDisk).join(', ')} (it must match exactly one)`);
    const other = [...out.entries()].find(([, x]) => x.name === m[0].name);
    if (other) throw new DiskSelectorError(`disks "${other[0]}" and "${d.name}" both select ${describeDisk(m[0])}`);
    const fixed = d.partitions.reduce((s, p) => s + (p.sizeMiB ?? 1), 0) + OVERHEAD_MiB;
    if (fixed * MiB > m[0].bytes) throw new DiskSelectorError(`disk "${d.name}" needs at least ${fixed} MiB but ${describeDisk(m[0])} has ${Math.floor(m[0].bytes / MiB)} MiB`);
    out.set(d.name, m[0]);
  }
  return out;
}

export interface Ids {
  /** A filesystem UUID (ext4) for a partition. */
  uuid(): string;
  /** A vfat volume id, 8 hex. */
  vfatId(): string;
}
export const randomIds: Ids = {
  uuid: () => crypto.randomUUID(),
  vfatId: () => crypto.randomBytes(4).toString('hex').toUpperCase(),
};

export interface PlannedPartition extends BmPartition {
  disk: string;
  device: string;
  number: number;
  /** ext4: a UUID; vfat: "ABCD-1234" (as blkid and /dev/disk/by-uuid show it). */
  uuid?: string;
}

export interface DiskoPlan {
  disko: string;
  fstab: string;
  boot: { disk: string; rootUuid: string; espUuid: string | null };
  partitions: PlannedPartition[];
}

const vfatUuid = (id: string) => `${id.slice(0, 4)}-${id.slice(4)}`;

/**
 * The plan for a class on the reported disks. Throws DiskSelectorError (before anything is rendered) when it does
 * not fit; `ids` gives the filesystem ids (random unless a test fixes them).
 */
export function renderDisko(cls: BmClass, reported: ReportedDisk[], ids: Ids = randomIds, title = 'ultracloud install'): DiskoPlan {
  const resolved = resolveDisks(cls, reported);
  const parts: PlannedPartition[] = [];
  const lines: string[] = [
    '#!/bin/sh',
    `# ${title.replace(/\n/g, ' ')}: generated by the deployer (services/deployer/src/baremetal/disko.ts)`,
    'set -eu',
    'say() { echo "disko: $*"; }',
    'die() { echo "disko: $*" >&2; exit 1; }',
    // No udev in the installer: devtmpfs makes a partition's node when the kernel has re-read the table.
    'waitdev() { i=0; while [ ! -b "$1" ]; do i=$((i + 1)); [ "$i" -le 300 ] || die "$1 did not appear"; sleep 0.1; done; }',
    'umount -R /target 2>/dev/null || true',
  ];
  for (const d of cls.disks) {
    const disk = resolved.get(d.name)!;
    const dev = `/dev/${disk.name}`;
    const q = shq(dev);
    const prefix = shq(partitionDevice(dev, 1).slice(0, -1));
    lines.push(
      '',
      `# disk ${d.name}: ${describeDisk(disk)} (${describeSelector(d.select)})`,
      `[ -b ${q} ] || die ${shq(`${dev} is not a block device`)}`,
      `say ${shq(`wiping ${dev}`)}`,
      `for p in ${prefix}[0-9]*; do if [ -b "$p" ]; then wipefs -a -q "$p" || true; fi; done`,
      `wipefs -a -q ${q}`,
      `say ${shq(`partitioning ${dev}`)}`,
      `sfdisk --quiet --wipe-partitions always ${q} <<'UC_SFDISK'`,
      'label: gpt',
      ...d.partitions.map((p) => [p.sizeMiB !== undefined ? `size=${p.sizeMiB}MiB` : '', `type=${PART_TYPES[p.type]}`, `name=${p.name}`].filter(Boolean).join(', ')),
      'UC_SFDISK',
      // The kernel re-reads the table (sfdisk asks, blockdev again); partx adds what a re-read left out (a loop device).
      `blockdev --rereadpt ${q} 2>/dev/null || true`,
      `partx -u ${q} 2>/dev/null || true`,
    );
    d.partitions.forEach((p, i) => {
      const device = partitionDevice(dev, i + 1);
      lines.push(`waitdev ${shq(device)}`);
      const pp: PlannedPartition = { ...p, disk: dev, device, number: i + 1 };
      if (p.format === 'ext4') pp.uuid = ids.uuid();
      if (p.format === 'vfat') pp.uuid = vfatUuid(ids.vfatId());
      parts.push(pp);
    });
    for (const p of parts.filter((x) => x.disk === dev)) {
      const qd = shq(p.device);
      lines.push(`wipefs -a -q ${qd}`);
      if (p.format === 'ext4') lines.push(`say ${shq(`mkfs.ext4 ${p.device} (${p.name})`)}`, `mkfs.ext4 -q -F -U ${shq(p.uuid!)} -L ${shq(p.name)} ${qd}`);
      if (p.format === 'vfat') lines.push(`say ${shq(`mkfs.vfat ${p.device} (${p.name})`)}`, `mkfs.vfat -i ${shq(p.uuid!.replace('-', ''))} -n ${shq(p.name.toUpperCase())} ${qd} >/dev/null`);
    }
  }
  const mounted = parts.filter((p) => p.mount).sort((a, b) => (a.mount === '/' ? -1 : b.mount === '/' ? 1 : a.mount! < b.mount! ? -1 : 1));
  lines.push('', '# the target, "/" first');
  for (const p of mounted) {
    const at = p.mount === '/' ? '/target' : `/target${p.mount}`;
    lines.push(`mkdir -p ${shq(at)}`, `mount -t ${p.format} ${shq(p.device)} ${shq(at)}`);
  }
  lines.push(`say ${shq(`done: ${mounted.map((p) => `${p.device} on ${p.mount}`).join(', ')}`)}`, '');
  const root = mounted[0];
  const esp = parts.find((p) => p.type === 'esp');
  const bootPart = esp ?? parts.find((p) => p.type === 'bios') ?? root;
  const fstab = [
    '# /etc/fstab: written by the installer from the deployer\'s plan (filesystems by UUID)',
    ...mounted.map((p) => {
      // udev may take minutes to announce a disk on a slow (emulated) machine: systemd's 90 s default would drop
      // the boot into emergency mode with the disk fine.
      const wait = 'x-systemd.device-timeout=10min';
      const opts = p.mount === '/' ? 'errors=remount-ro' : p.format === 'vfat' ? `umask=0077,${wait}` : `defaults,${wait}`;
      return `UUID=${p.uuid} ${p.mount} ${p.format} ${opts} 0 ${p.mount === '/' ? 1 : 2}`;
    }),
    '',
  ].join('\n');
  return { disko: lines.join('\n'), fstab, boot: { disk: bootPart.disk, rootUuid: root.uuid!, espUuid: esp?.uuid ?? null }, partitions: parts };
}

/** The plan disk a partition name lives on (for messages). */
export function diskOf(cls: BmClass, partition: string): BmDisk | undefined {
  return cls.disks.find((d) => d.partitions.some((p) => p.name === partition));
}
