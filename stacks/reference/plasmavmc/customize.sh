# plasmavmc at image build time: libvirt without the default NAT network
# (no dnsmasq, no iptables: tenant guests attach to OVN's br-int), and the
# inner guest's kernel + initramfs (guest/build-initrd.sh).
set -eu
rm -f /etc/libvirt/qemu/networks/autostart/default.xml
sh -eu /usr/lib/ultracloud/guest/build-initrd.sh
