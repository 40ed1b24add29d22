# k8shost at image build time: a container image made from Debian's
# busybox-static (no registry is reachable), imported into podman's storage
# here, once, with the pod infra ("pause") image podman builds for itself.
# On a worker under TCG the import cost about 40 s of its first boot and the
# pause image a while of its first `kube play`; neither depends on the node.
set -eu
image=localhost/ultracloud/busybox:1
root=$(mktemp -d)
mkdir -p "$root/bin" "$root/tmp" "$root/etc"
cp /bin/busybox "$root/bin/busybox"
for app in sh echo cat sleep hostname httpd wget ls ps id date; do ln -s busybox "$root/bin/$app"; done
echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
echo 'root:x:0:' > "$root/etc/group"
mkdir -p /usr/lib/ultracloud/k8shost
tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@0 -C "$root" -cf /usr/lib/ultracloud/k8shost/busybox-rootfs.tar .
rm -rf "$root"

# The chroot has /proc, /sys and /dev (mmdebstrap mounts them for hooks), its
# "/" is a mount point (the builder's hook bind-mounts it: podman remounts it
# private to unpack a layer), and it has the nodes' own podman configuration
# (no storage.conf: podman's defaults, root storage in
# /var/lib/containers/storage). The driver is named so that a build host
# where overlay cannot work fails here instead of quietly storing the image
# with another driver; the nodes pick overlay too (they find its directory).
# podman keeps its runtime state under /run, a tmpfs on the node: its feature
# checks and `system refresh` happen there at each boot anyway.
podman_() { podman --storage-driver overlay "$@"; }
# The pod infra image, named and made as podman 4.3 does before a pod's first
# start (buildPauseImage in pkg/specgen/generate/pod_create.go: catatonit as
# /catatonit, from scratch; it looks the name up first). A pod cannot be
# created here to have podman make it (no cgroup hierarchy in the chroot); if
# the name ever drifts, the first pod on a node builds its own, as before.
ctx=$(mktemp -d)
cp /usr/bin/catatonit "$ctx/catatonit"
printf '%s\n' 'FROM scratch' 'COPY catatonit /catatonit' 'ENTRYPOINT ["/catatonit", "-P"]' > "$ctx/Containerfile"
if podman_ import --quiet --change 'CMD ["/bin/sh"]' /usr/lib/ultracloud/k8shost/busybox-rootfs.tar "$image" > /dev/null \
  && podman_ image exists "$image" \
  && version=$(podman_ version --format '{{.Client.Version}}-{{.Client.Built}}') \
  && pause="localhost/podman-pause:$version" \
  && podman_ build --quiet --tag "$pause" "$ctx" > /dev/null \
  && podman_ image exists "$pause"; then
  echo "k8shost: $image and $pause are in the image's podman storage"
else
  # Never a half-written store: the workers import at boot instead (setup.sh).
  echo "k8shost: WARNING: podman could not store $image and the pod infra image in the build chroot; each worker imports it at boot" >&2
  umount -R /var/lib/containers/storage/overlay 2> /dev/null || true
  rm -rf /var/lib/containers/storage
fi
rm -rf "$ctx" /run/containers /run/libpod /run/crun /var/lib/containers/storage/tmp/* /etc/cni/net.d/cni.lock
