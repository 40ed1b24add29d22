# lightningstor = OpenStack Swift with the S3 API: proxies on the control
# nodes, account/container/object servers on the workers (one ring over the
# workers, built into the image by customize.sh). Runs at every boot, before
# any Swift server; rewrites the same lines each time, so it is idempotent.
#  - every node: the hash path prefix/suffix (swift.conf), derived from the
#    cluster secret; the S3/tempauth user (proxy-server.conf), password = the
#    cluster secret;
#  - ring members (their cluster IP is in ring-devices): bind_ip of the
#    storage servers, and the device directories under /srv/node.
addr="$ULTRACLOUD_CLUSTER_IP"
secret=$(cat /run/ultracloud/secret)
case "$secret" in
  '' | *[!0-9a-f]*) echo "lightningstor: /run/ultracloud/secret is not lowercase hex" >&2; exit 1 ;;
esac
etc=/etc/swift
devices=/usr/lib/ultracloud/roles/lightningstor/ring-devices

derive() { printf '%s:%s' "$1" "$secret" | sha256sum | cut -c1-32; }
prefix=$(derive swift-hash-path-prefix)
suffix=$(derive swift-hash-path-suffix)
sed -i -e '/^swift_hash_path_\(prefix\|suffix\)[ =]/d' \
  -e "/^\[swift-hash\]/a swift_hash_path_prefix = $prefix" \
  -e "/^\[swift-hash\]/a swift_hash_path_suffix = $suffix" "$etc/swift.conf"

# S3 access key "ultracloud:smoke", secret key = the cluster secret.
sed -i -e '/^user_ultracloud_smoke[ =]/d' \
  -e "/^\[filter:tempauth\]/a user_ultracloud_smoke = $secret .admin" "$etc/proxy-server.conf"

chown swift:swift "$etc/swift.conf" "$etc/proxy-server.conf"
chmod 0640 "$etc/swift.conf" "$etc/proxy-server.conf"
install -d -o swift -g swift -m 0755 /var/cache/swift /run/swift

mine=$(awk -v ip="$addr" '$1 !~ /^#/ && $3 == ip { print $4 }' "$devices")
[ -n "$mine" ] || exit 0

for server in account container object; do
  sed -i "s/^bind_ip = .*/bind_ip = $addr/" "$etc/$server-server.conf"
done
install -d -o swift -g swift -m 0755 /srv/node
for dev in $mine; do
  install -d -o swift -g swift -m 0755 "/srv/node/$dev"
done

# The servers bind the cluster IP itself: wait (up to 30 s) until it is
# this node's, or the first start fails with "cannot assign address".
i=0
until ip -4 route get "$addr" 2>/dev/null | grep -q '^local '; do
  i=$((i + 1))
  [ "$i" -le 300 ] || { echo "lightningstor: $addr is not an address of this node" >&2; exit 1; }
  sleep 0.1
done
