# Runs inside the node-system root (the install bundle) after its packages
# and files are in place.
set -eu
kver=$(ls /lib/modules)
# Only the modules a virtio machine with an IDE CD-ROM needs, with their
# dependencies: the bundle (and the ISO, which takes the same set) stays
# small, and initramfs-tools has less to look at.
keep=/usr/lib/ultracloud/modules.keep
mkdir -p "$(dirname "$keep")"
: > "$keep"
for m in virtio_pci virtio_blk virtio_net virtio_rng virtio_console ext4 vfat nls_cp437 nls_iso8859_1 nls_ascii \
         efivarfs ata_piix sr_mod cdrom isofs crc32c_generic; do
  if ! deps=$(modprobe -S "$kver" --show-depends "$m" 2>&1); then
    echo "baremetal: WARNING: module $m: $deps" >&2
    continue
  fi
  printf '%s\n' "$deps" | awk '$1 == "insmod" { print $2 }' >> "$keep"
done
sort -u -o "$keep" "$keep"
find "/lib/modules/$kver/kernel" -name '*.ko*' | grep -vxF -f "$keep" | xargs -r rm -f
find "/lib/modules/$kver/kernel" -type d -empty -delete
depmod "$kver"
printf '%s\n' virtio_pci virtio_blk ext4 vfat >> /etc/initramfs-tools/modules
update-initramfs -u -k all
# The desired system deployer names decides which of these run.
systemctl disable etcd.service prometheus-node-exporter.service
systemctl enable systemd-networkd.service ultracloud-bm-agent.service
# Every install makes its own host key and machine-id.
rm -f /etc/ssh/ssh_host_*
: > /etc/machine-id
rm -f /etc/hostname
# No VGA on these machines; the serial console is ttyS0.
systemctl mask getty@tty1.service
