# flashdns: the PowerDNS database of one kind of node, "primary" (the zone
# with NS and A records of every flashdns node) or "secondary" (the zone as
# a secondary of the primary, filled by AXFR). Nothing in it depends on the
# node or the cluster's secrets, only on the topology (ROLE_NODES), so the
# image build makes both (customize.sh) and setup.sh copies the one its node
# needs onto a disk without a database: eleven pdnsutil runs at the first
# boot of node01 were seconds of TCG time.
# Usage: zone-db.sh primary|secondary <output file>; ROLE_NODES as in setup.sh.
set -eu
kind=$1 out=$2
: "${ROLE_NODES:?}"
. /usr/lib/ultracloud/roles/flashdns/zone.env
primary=$(awk 'NR == 1 { print $2 }' "$ROLE_NODES")
conf=$(mktemp -d)
trap 'rm -rf "$conf"' EXIT
# pdnsutil only needs the backend and the SOA new zones get (as pdns.conf on
# the node, written by setup.sh).
printf 'launch=gsqlite3\ngsqlite3-database=%s\ndefault-soa-content=%s\n' "$out.new" "$SOA" > "$conf/pdns.conf"
pdnsutil() { /usr/bin/pdnsutil --config-dir="$conf" "$@" > /dev/null; }
rm -f "$out.new"
sqlite3 -bail "$out.new" < /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
case "$kind" in
  primary)
    pdnsutil create-zone "$ZONE" "ns1.$ZONE"
    i=1
    while read -r name addr _; do
      [ "$i" = 1 ] || pdnsutil add-record "$ZONE" @ NS 3600 "ns$i.$ZONE"
      pdnsutil add-record "$ZONE" "ns$i" A 3600 "$addr"
      pdnsutil add-record "$ZONE" "$name" A 3600 "$addr"
      i=$((i + 1))
    done < "$ROLE_NODES"
    pdnsutil set-kind "$ZONE" primary
    pdnsutil set-meta "$ZONE" SOA-EDIT-API DEFAULT
    ;;
  secondary) pdnsutil create-secondary-zone "$ZONE" "$primary" ;;
  *) echo "zone-db.sh: unknown kind $kind" >&2; exit 2 ;;
esac
mv "$out.new" "$out"
