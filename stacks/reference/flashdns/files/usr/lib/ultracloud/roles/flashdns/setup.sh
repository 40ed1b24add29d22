# flashdns = PowerDNS Authoritative with its HTTP API. The first node of the
# role is the primary of the cluster zone; the others are secondaries that
# follow it by NOTIFY + AXFR.
. /usr/lib/ultracloud/roles/flashdns/zone.env
ip="$ULTRACLOUD_CLUSTER_IP"
primary=$(awk 'NR == 1 { print $2 }' "$ROLE_NODES")
secret=$(cat /run/ultracloud/secret)
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
default-soa-content=$SOA
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

# The database with the zone comes from the image (zone-db.sh, run by the
# image build): the primary's, or the secondaries' one. A disk that has one
# keeps it (records made through the API since).
if [ ! -f "$db" ]; then
  kind=secondary
  [ "$ip" = "$primary" ] && kind=primary
  install -o pdns -g pdns -m 0644 "/usr/lib/ultracloud/roles/flashdns/$kind.sqlite3" "$db"
  chown -R pdns:pdns /var/lib/powerdns
fi
