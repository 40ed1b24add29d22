# Runs inside the image root after packages and files are in place.
set -eu
# qemu_fw_cfg: the cluster's secrets arrive as fw_cfg files, read by the
# node generator before udev would load the module.
printf '%s\n' virtio_pci virtio_blk ext4 qemu_fw_cfg >> /etc/initramfs-tools/modules
# Each node makes its own host key at first boot (ultracloud-ssh-hostkey).
rm -f /etc/ssh/ssh_host_*
# Identity comes from the kernel command line; an empty machine-id is not
# "first boot", so systemd applies no presets behind our back.
: > /etc/machine-id
rm -f /etc/hostname
systemctl enable systemd-networkd.service
# Tiny initramfs with busybox for the acceleration probe and inner guests.
probe=$(mktemp -d)
mkdir -p "$probe/bin" "$probe/dev"
cp /bin/busybox "$probe/bin/busybox"
install -m 0755 /usr/lib/ultracloud/probe-init "$probe/init"
(cd "$probe" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -9 > /usr/lib/ultracloud/probe-initrd.img)
rm -rf "$probe"
update-initramfs -u -k all
