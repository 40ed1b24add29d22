# prismnet on a worker: make this Open vSwitch an OVN chassis named after
# the node, reaching the Southbound cluster on the control nodes and
# terminating Geneve tunnels on its cluster address; br-int is made by
# ovn-controller. Probe intervals are relaxed for TCG (see index.ts TIMING),
# and so is Open vSwitch's housekeeping: interface statistics go into the
# database every 60 s instead of 5 s (each write also wakes ovsdb-server and
# ovn-controller), the revalidators sweep datapath flows every 5 s instead of
# 0.5 s. Measured on an idle worker over 40 s: ovs-vswitchd 1.14 -> 0.14 s
# CPU, ovn-controller 0.52 -> 0.22 s.
set -eu
: "${ULTRACLOUD_NODE:?}" "${ULTRACLOUD_CLUSTER_IP:?}" "${ROLE_NODES:?}"
sb=''
while read -r _ addr kind; do
  # OVN central (the Southbound database) runs on the control nodes.
  [ "$kind" = control ] || continue
  sb="${sb:+$sb,}tcp:$addr:6642"
done < "$ROLE_NODES"
[ -n "$sb" ] || { echo "prismnet chassis: no OVN central nodes" >&2; exit 1; }
ovs-vsctl --timeout=60 set Open_vSwitch . \
  external-ids:system-id="$ULTRACLOUD_NODE" \
  external-ids:hostname="$ULTRACLOUD_NODE" \
  external-ids:ovn-remote="$sb" \
  external-ids:ovn-encap-type=geneve \
  external-ids:ovn-encap-ip="$ULTRACLOUD_CLUSTER_IP" \
  external-ids:ovn-remote-probe-interval=30000 \
  external-ids:ovn-openflow-probe-interval=60 \
  other_config:inactivity-probe=30000 \
  other_config:stats-update-interval=60000 \
  other_config:max-revalidator=5000 \
  other_config:max-idle=30000
