# prismnet on a control node, at every boot, before the OVN databases and
# northd start: OVN_CTL_OPTS for a 3-member raft cluster of the Northbound
# and Southbound databases. The first node of the role creates both
# clusters (with an election timer sized for TCG), the others join it; a
# node with a database file from an earlier boot just reopens it.
# Input: ULTRACLOUD_CLUSTER_IP, ROLE_NODES ("name address kind" lines).
set -eu
: "${ULTRACLOUD_CLUSTER_IP:?}" "${ROLE_NODES:?}"
ip=$ULTRACLOUD_CLUSTER_IP
first=$(awk '$3 == "control" { print $2; exit }' "$ROLE_NODES")
nb='' sb=''
while read -r _ addr kind; do
  # OVN central runs on the control nodes; the workers are chassis.
  [ "$kind" = control ] || continue
  nb="${nb:+$nb,}tcp:$addr:6641"
  sb="${sb:+$sb,}tcp:$addr:6642"
done < "$ROLE_NODES"
# Raft's election timer (heartbeats are a third of it). OVN's 1 s default
# flaps when six emulated guests share two cores; see ../../../../../index.ts TIMING.
election_ms=16000
join=''
[ "$ip" = "$first" ] || join="--db-nb-cluster-remote-addr=$first --db-sb-cluster-remote-addr=$first"
cat > /etc/default/ovn-central <<CONF
# Written at boot by ultracloud-role-setup@prismnet (prismnet/setup.sh).
OVN_CTL_OPTS="--db-nb-addr=$ip --db-sb-addr=$ip --db-nb-create-insecure-remote=yes --db-sb-create-insecure-remote=yes --db-nb-cluster-local-addr=$ip --db-sb-cluster-local-addr=$ip --db-nb-election-timer=$election_ms --db-sb-election-timer=$election_ms $join --ovn-northd-nb-db=$nb --ovn-northd-sb-db=$sb"
CONF
mkdir -p /etc/ultracloud
printf 'OVN_NB_DB=%s\nOVN_SB_DB=%s\n' "$nb" "$sb" > /etc/ultracloud/prismnet.env
