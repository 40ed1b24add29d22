# flashdns at image build time. pdns.conf is written per node at boot
# (roles/flashdns/setup.sh); the two databases a node may start from (the
# primary's zone, or the secondaries' one) depend only on the topology, so
# they are made here and copied at a node's first boot.
set -eu
rm -f /var/lib/powerdns/pdns.sqlite3 /etc/powerdns/pdns.d/*
dir=/usr/lib/ultracloud/roles/flashdns
for kind in primary secondary; do
  ROLE_NODES=/usr/lib/ultracloud/roles/flashdns.nodes sh -eu "$dir/zone-db.sh" "$kind" "$dir/$kind.sqlite3"
done
