/**
 * base: what every node needs before any role: sshd with the cluster key,
 * systemd-networkd (cluster and management NICs matched by MAC), and the
 * clock from the host RTC. Everything else a Debian image would start is
 * masked, since each idle service costs host CPU under TCG.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Role } from '../../../harness/stack.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export const base: Role = {
  name: 'base',
  description: 'sshd, systemd-networkd, acpid (power button), node identity from the kernel command line',
  hostedOn: () => true,
  image: {
    packages: [
      'systemd-sysv',
      'udev',
      'kmod',
      'linux-image-amd64',
      'initramfs-tools',
      'zstd',
      'openssh-server',
      'iproute2',
      'iputils-ping',
      'procps',
      'busybox-static',
      'acpid',
      'curl',
    ],
    filesDir: path.join(here, 'files'),
    customizeScript: path.join(here, 'customize.sh'),
    maskUnits: [
      'apt-daily.timer',
      'apt-daily-upgrade.timer',
      'dpkg-db-backup.timer',
      'e2scrub_all.timer',
      'e2scrub_reap.service',
      'fstrim.timer',
      'getty@tty1.service',
      // serial-getty@ttyS0 stays: `cluster console` needs a shell there when SSH is what broke
      // (files/etc/systemd/system/serial-getty@ttyS0.service.d: root autologin, serial line only).
      'getty-static.service',
      'systemd-pstore.service',
      'systemd-timesyncd.service',
      // Identity comes from our own generator, not from ip= on the command line.
      'systemd-network-generator.service',
      'systemd-rfkill.socket',
      'systemd-rfkill.service',
      'sys-kernel-debug.mount',
      'sys-kernel-tracing.mount',
      // Modules these would preload autoload on first use anyway.
      'modprobe@dm_mod.service',
      'modprobe@loop.service',
      'modprobe@drm.service',
      'modprobe@efi_pstore.service',
      'modprobe@fuse.service',
    ],
  },
  units: ['systemd-networkd.service', 'ssh.service', 'acpid.service'],
};
