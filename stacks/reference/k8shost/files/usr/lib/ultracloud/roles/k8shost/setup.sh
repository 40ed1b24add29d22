# k8shost on a worker, at every boot: the local container image that pods
# use (imported once per disk from the tarball the image build made).
set -eu
image=localhost/ultracloud/busybox:1
podman image exists "$image" && exit 0
podman import --quiet --change 'CMD ["/bin/sh"]' /usr/lib/ultracloud/k8shost/busybox-rootfs.tar "$image" >/dev/null
