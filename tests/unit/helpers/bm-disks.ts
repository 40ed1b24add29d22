/**
 * The two-disk layout the bare-metal unit tests share (the chassis' own in
 * fixtures/baremetal.ts): a system disk by serial with BIOS boot, ESP and
 * root, and a data disk by size. A new object each call: tests mutate it.
 */
export const systemAndDataDisks = () => [
  {
    name: 'system',
    select: { serial: 'UCSYS-*' },
    partitions: [
      { name: 'bios', sizeMiB: 1, type: 'bios' },
      { name: 'esp', sizeMiB: 64, type: 'esp', format: 'vfat', mount: '/boot/efi' },
      { name: 'root', type: 'linux', format: 'ext4', mount: '/' },
    ],
  },
  { name: 'data', select: { sizeGiB: { min: 1, max: 3 } }, partitions: [{ name: 'data', type: 'linux', format: 'ext4', mount: '/var/lib/ultracloud' }] },
];
