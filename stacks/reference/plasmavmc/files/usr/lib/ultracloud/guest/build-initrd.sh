#!/bin/sh
# Builds the inner guest's initramfs; see docs/inner-guest.md.
#
# Runs inside the node image's root at image build time, after
# linux-image-amd64 and busybox-static are installed:
#   sh -eu /usr/lib/ultracloud/guest/build-initrd.sh
# Makes, next to this script:
#   initrd.img  gzip newc cpio: static busybox, /init, the virtio modules
#   vmlinuz     relative symlink to the one installed /boot/vmlinuz-<version>
# Idempotent: the same inputs give a byte-identical initrd.img.
set -eu

guest=/usr/lib/ultracloud/guest
# Wanted modules (dashes and underscores are the same); their dependencies
# come from modules.dep. Built-in ones are skipped, missing ones are an error.
# virtio_pci: the bus (a module on Debian); virtio_net: the NIC (pulls in
# failover, net_failover); virtio_console: hvc0 if a virtio serial is given;
# virtio_rng: entropy if a virtio-rng device is given; virtio_blk: a data
# disk (/dev/vda, the init's ultracloud.disk=); ext4 and crc32c_generic (the
# checksum ext4 asks the crypto API for, a softdep modules.dep does not list):
# a root disk (the init's ultracloud.root=).
wanted='virtio_pci virtio_net virtio_console virtio_rng virtio_blk crc32c_generic ext4'

die() {
	echo "build-initrd: $*" >&2
	exit 1
}

# The one kernel: its modules and its image must both be there.
kver=
for d in /lib/modules/*/; do
	[ -d "${d}kernel" ] || continue
	[ -z "$kver" ] || die "more than one kernel under /lib/modules ($kver, $(basename "$d")); the guest's modules must match its kernel"
	kver=$(basename "$d")
done
[ -n "$kver" ] || die "no kernel modules under /lib/modules (is linux-image-amd64 installed?)"
mods=/lib/modules/$kver
[ -f "/boot/vmlinuz-$kver" ] || die "/boot/vmlinuz-$kver is missing"
[ -x /bin/busybox ] || die "/bin/busybox is missing (is busybox-static installed?)"
# A dynamic busybox (package busybox) would not run without its libraries.
if command -v dpkg-query >/dev/null 2>&1; then
	dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q ' installed$' ||
		die "busybox-static is not installed; the initrd needs a static /bin/busybox"
fi
if [ ! -f "$mods/modules.dep" ]; then
	command -v depmod >/dev/null 2>&1 || die "$mods/modules.dep is missing and there is no depmod"
	depmod "$kver"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys" "$root/tmp" "$root/lib/modules"

# Busybox and a symlink per applet, so /init needs no --install at boot.
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
ln -s bin "$root/sbin"
install -m 0755 "$guest/init" "$root/init"

# Module name of a path in modules.dep/modules.builtin: basename without
# .ko[.xz|.zst|.gz], dashes as underscores.
modname() {
	basename "$1" | sed -e 's/\.ko\(\.xz\|\.zst\|\.gz\)\{0,1\}$//' -e 's/-/_/g'
}

# The line of a module in modules.dep or modules.builtin, if any.
lookup() {
	awk -v want="$1" '{
		p = $1; sub(/:$/, "", p); sub(/.*\//, "", p)
		sub(/\.ko(\.xz|\.zst|\.gz)?$/, "", p); gsub(/-/, "_", p)
		if (p == want) { print; exit }
	}' "$2"
}

# Load order: for each wanted module, its dependencies as modules.dep lists
# them (closest last, so they load from the end of the list backwards),
# then the module itself; each file once.
: > "$work/order"
for want in $wanted; do
	want=$(echo "$want" | tr - _)
	line=$(lookup "$want" "$mods/modules.dep")
	if [ -z "$line" ]; then
		[ -f "$mods/modules.builtin" ] && [ -n "$(lookup "$want" "$mods/modules.builtin")" ] ||
			die "module $want is neither in $mods/modules.dep nor built in"
		echo "build-initrd: $want is built into $kver" >&2
		continue
	fi
	path=${line%%:*}
	deps=${line#*:}
	rev=
	for dep in $deps; do rev="$dep $rev"; done
	for f in $rev $path; do
		grep -qxF "$f" "$work/order" || echo "$f" >> "$work/order"
	done
done

# Copy flat into /lib/modules as plain .ko (busybox insmod reads no
# compressed modules) and write the list /init loads in order.
: > "$root/lib/modules/load"
while read -r f; do
	name=$(modname "$f").ko
	case $f in
	*.ko) cp "$mods/$f" "$root/lib/modules/$name" ;;
	*.ko.xz) /bin/busybox xz -dc "$mods/$f" > "$root/lib/modules/$name" ;;
	*.ko.gz) gzip -dc "$mods/$f" > "$root/lib/modules/$name" ;;
	*.ko.zst)
		command -v zstd >/dev/null 2>&1 || die "$f is zstd-compressed and zstd is not installed"
		zstd -q -dc "$mods/$f" > "$root/lib/modules/$name"
		;;
	*) die "unexpected module file $f" ;;
	esac
	echo "$name" >> "$root/lib/modules/load"
done < "$work/order"
echo "$kver" > "$root/lib/modules/kernel-version"

# Fixed mtimes, sorted entries, no gzip timestamp: same input, same bytes.
find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . | LC_ALL=C sort | /bin/busybox cpio -o -H newc 2>/dev/null) | gzip -9 -n > "$guest/initrd.img.tmp"
mv -f "$guest/initrd.img.tmp" "$guest/initrd.img"
# Relative, so it also resolves when the image's root is mounted elsewhere.
ln -sfn "../../../../boot/vmlinuz-$kver" "$guest/vmlinuz"

size=$(wc -c < "$guest/initrd.img")
echo "build-initrd: $guest/initrd.img: $size bytes, kernel $kver, modules: $(tr '\n' ' ' < "$root/lib/modules/load")" >&2
[ "$size" -lt 3145728 ] || echo "build-initrd: warning: initrd.img is over 3 MiB" >&2
