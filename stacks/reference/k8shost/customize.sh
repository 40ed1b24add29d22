# k8shost at image build time: a container image made from Debian's
# busybox-static (no registry is reachable), as a rootfs tarball that each
# worker imports into podman at boot (setup.sh).
set -eu
root=$(mktemp -d)
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
cp /bin/busybox "$root/bin/busybox"
for app in sh echo cat sleep hostname httpd wget ls ps id date; do ln -s busybox "$root/bin/$app"; done
echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
mkdir -p /usr/lib/ultracloud/k8shost
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$root" -cf /usr/lib/ultracloud/k8shost/busybox-rootfs.tar .
rm -rf "$root"
