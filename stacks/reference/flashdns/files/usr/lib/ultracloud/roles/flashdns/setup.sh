# flashdns = PowerDNS Authoritative with its HTTP API. The first node of the
# role is the primary of the cluster zone; the others are secondaries that
# follow it by NOTIFY + AXFR.
ip="$ULTRACLOUD_CLUSTER_IP"
primary=$(awk 'NR == 1 { print $2 }' "$ROLE_NODES")
secret=$(cat /run/ultracloud/secret)
zone=ultracloud.test
db=/var/lib/powerdns/pdns.sqlite3
others=$(awk -v me="$ip" '$2 != me { printf "%s%s", (n++ ? "," : ""), $2 }' "$ROLE_NODES")

common="launch=gsqlite3
gsqlite3-database=$db
local-address=$ip, 127.0.0.1
api=yes
api-key=$secret
webserver=yes
webserver-address=0.0.0.0
webserver-port=8081
webserver-allow-from=127.0.0.0/8, 10.100.0.0/24
# Zone checks every 20 s instead of 60 s, and a 30 s SOA refresh, so a
# secondary that was down when a NOTIFY went out catches up by itself.
xfr-cycle-interval=20
default-soa-content=ns1.@ hostmaster.@ 0 30 15 604800 60
security-poll-suffix="
if [ "$ip" = "$primary" ]; then
  role="primary=yes
allow-axfr-ips=10.100.0.0/24
also-notify=$others"
else
  role="secondary=yes
allow-notify-from=10.100.0.0/24"
fi
printf '%s\n%s\n' "$common" "$role" > /etc/powerdns/pdns.conf
chown root:pdns /etc/powerdns/pdns.conf
chmod 0640 /etc/powerdns/pdns.conf

if [ ! -f "$db" ]; then
  sqlite3 "$db" < /usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql
  if [ "$ip" = "$primary" ]; then
    pdnsutil create-zone "$zone" "ns1.$zone"
    i=1
    while read -r name addr _; do
      [ "$i" = 1 ] || pdnsutil add-record "$zone" @ NS 3600 "ns$i.$zone"
      pdnsutil add-record "$zone" "ns$i" A 3600 "$addr"
      pdnsutil add-record "$zone" "$name" A 3600 "$addr"
      i=$((i + 1))
    done < "$ROLE_NODES"
    pdnsutil set-kind "$zone" primary
    pdnsutil set-meta "$zone" SOA-EDIT-API DEFAULT
  else
    pdnsutil create-secondary-zone "$zone" "$primary"
  fi
  chown -R pdns:pdns /var/lib/powerdns
fi
