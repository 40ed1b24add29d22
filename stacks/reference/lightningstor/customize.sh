# lightningstor (OpenStack Swift + s3api), in the image root at build time,
# after the packages and files/ are in place. Builds the account, container
# and object rings once, so every node boots with identical rings; nothing
# node-specific is made here (see roles/lightningstor/setup.sh).
set -eu
devices=/usr/lib/ultracloud/roles/lightningstor/ring-devices
# One device (d1) per storage node: the role's workers from the topology
# ("name address kind" lines), each in its own zone.
{
  echo '# region zone ip device weight (made by customize.sh from lightningstor.nodes)'
  awk '$3 == "worker" { z++; print 1, z, $2, "d1", 100 }' /usr/lib/ultracloud/roles/lightningstor.nodes
} > "$devices"
[ "$(grep -vc '^#' "$devices")" -ge 2 ] || { echo "lightningstor: fewer than 2 storage nodes for 2 replicas" >&2; exit 1; }
cd /etc/swift

# ring port: part power 8 (256 partitions), 2 replicas, min_part_hours 1;
# one device per line of ring-devices. A fixed seed makes the same
# assignment on every build.
build_ring() {
  rm -f "$1.builder" "$1.ring.gz"
  swift-ring-builder "$1.builder" create 8 2 1
  grep -v '^#' "$devices" | while read -r region zone ip dev weight; do
    [ -n "$region" ] || continue
    swift-ring-builder "$1.builder" add --region "$region" --zone "$zone" \
      --ip "$ip" --port "$2" --device "$dev" --weight "$weight"
  done
  swift-ring-builder "$1.builder" rebalance --seed 1
  test -s "$1.ring.gz"
}
build_ring object 6200
build_ring container 6201
build_ring account 6202
chown -R swift:swift /etc/swift

# The packages enable every unit they ship. Role units start only on nodes
# that host the role (the node generator), and the background daemons not at
# all: replicators, auditors, updaters, reaper, sharder, reconciler,
# container-sync, reconstructor (see README.md).
for unit in memcached swift-proxy swift-account swift-container swift-object \
  swift-account-auditor swift-account-reaper swift-account-replicator \
  swift-container-auditor swift-container-reconciler swift-container-replicator \
  swift-container-sharder swift-container-sync swift-container-updater \
  swift-object-auditor swift-object-reconstructor swift-object-replicator \
  swift-object-updater; do
  if [ -e "/lib/systemd/system/$unit.service" ]; then systemctl disable "$unit.service"; fi
done
# Debian's swift package depends on rsyslog and logrotate (which may bring
# cron). Swift logs to /dev/log, which journald serves; an rsyslogd copying
# everything to /var/log, and the timers rotating it, would only cost every
# node CPU and disk.
for unit in rsyslog.service cron.service logrotate.timer; do
  if [ -e "/lib/systemd/system/$unit" ]; then systemctl disable "$unit"; fi
done
# swift-recon-cron every 5 min; recon is not in our pipelines.
rm -f /etc/cron.d/swift-object
