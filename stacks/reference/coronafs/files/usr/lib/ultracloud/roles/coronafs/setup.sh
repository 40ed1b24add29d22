# coronafs on node01 (the controller export) and the workers (node-local
# exports), at every boot before the NBD server: the volume file, created
# once (sparse, 64 MiB) with a label in its first sector so a reader can
# tell it read the right export; and the export's name for the server unit.
# Input: ULTRACLOUD_NODE, ROLE_NODES ("name address kind" lines).
set -eu
: "${ULTRACLOUD_NODE:?}" "${ULTRACLOUD_CLUSTER_IP:?}"
kind=$(awk -v me="$ULTRACLOUD_NODE" '$1 == me { print $3 }' "$ROLE_NODES")
case "$kind" in
  control) export=coronafs-controller ;;
  *) export="coronafs-$ULTRACLOUD_NODE" ;;
esac
dir=/var/lib/coronafs
vol="$dir/$export.raw"
mkdir -p "$dir"
if [ ! -f "$vol" ]; then
  truncate -s 64M "$vol.tmp"
  printf 'ULTRACLOUD-CORONAFS export=%s node=%s\n' "$export" "$ULTRACLOUD_NODE" | dd of="$vol.tmp" conv=notrunc status=none
  mv "$vol.tmp" "$vol"
fi
cat > /run/ultracloud/coronafs.env <<ENV
CORONAFS_EXPORT=$export
CORONAFS_VOLUME=$vol
CORONAFS_ADDR=$ULTRACLOUD_CLUSTER_IP
ENV
