/**
 * What goes into the bare-metal bootstrap's artifacts (harness/image/
 * baremetal.ts builds them; a stack hands this in as Stack.baremetal):
 *
 * - the node system: Debian with systemd, the kernel, GRUB for BIOS and
 *   UEFI, sshd, Node and our deployer bundle whose `bm-agent` converges it,
 *   and the servers its desired systems run (system/files, system/customize.sh);
 * - the installer: a small Debian userland (sfdisk, mkfs, curl, jq) with
 *   installer/init as /init.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BaremetalDef } from '../harness/image/baremetal.js';
import { bundledService } from '../services/bundled.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The installed node system. etcd-server and prometheus-node-exporter are
 * what the control-plane and worker desired systems run (disabled until the
 * agent enables them); grub-*-bin so the installer can install GRUB for
 * either firmware from inside the new root.
 */
export const SYSTEM_PACKAGES = [
  'systemd-sysv', 'udev', 'linux-image-amd64', 'initramfs-tools', 'zstd', 'kmod',
  'grub2-common', 'grub-pc-bin', 'grub-efi-amd64-bin',
  'openssh-server', 'iproute2', 'e2fsprogs', 'curl', 'nodejs',
  'etcd-server', 'etcd-client', 'prometheus-node-exporter',
];

/** The installer's userland (the ISO's initramfs): partitioning, filesystems, HTTP, JSON. */
export const LIVE_PACKAGES = ['mount', 'fdisk', 'e2fsprogs', 'dosfstools', 'zstd', 'curl', 'jq', 'iproute2', 'kmod'];

/** Loaded by the installer before it looks for NICs and disks (the rest load on demand). */
export const INSTALLER_MODULES = ['virtio_pci', 'virtio_net', 'virtio_blk', 'ext4', 'vfat', 'nls_cp437', 'nls_iso8859_1'];

export const baremetalArtifacts: BaremetalDef = {
  system: {
    packages: SYSTEM_PACKAGES,
    filesDir: path.join(here, 'system/files'),
    customizeScript: path.join(here, 'system/customize.sh'),
    // The deployer bundle: its bm-agent converges the installed system.
    generated: bundledService('deployer', 'usr/lib/ultracloud/deployer/deployer.js'),
  },
  installer: {
    packages: LIVE_PACKAGES,
    init: path.join(here, 'installer/init'),
    modules: INSTALLER_MODULES,
  },
};
