# chainfire = etcd 3.4: this node's member config from its identity and peers.
# Timers sized for TCG (see ../index.ts TIMING): hardware defaults of 100 ms
# heartbeat / 1 s election flap when a guest stalls for a second, and every
# heartbeat costs idle CPU under emulation.
ip="$ULTRACLOUD_CLUSTER_IP"
cluster=$(awk '{ printf "%s%s=http://%s:2380", (NR > 1 ? "," : ""), $1, $2 }' "$ROLE_NODES")
# A member that has joined before restarts into the existing cluster.
state=new
[ -d /var/lib/etcd/default/member ] && state=existing
cat > /run/ultracloud/etcd.env <<ENV
ETCD_NAME=$ULTRACLOUD_NODE
ETCD_DATA_DIR=/var/lib/etcd/default
ETCD_LISTEN_PEER_URLS=http://$ip:2380
ETCD_LISTEN_CLIENT_URLS=http://$ip:2379,http://127.0.0.1:2379
ETCD_INITIAL_ADVERTISE_PEER_URLS=http://$ip:2380
ETCD_ADVERTISE_CLIENT_URLS=http://$ip:2379
ETCD_INITIAL_CLUSTER=$cluster
ETCD_INITIAL_CLUSTER_STATE=$state
ETCD_INITIAL_CLUSTER_TOKEN=ultracloud-chainfire
ETCD_HEARTBEAT_INTERVAL=2000
ETCD_ELECTION_TIMEOUT=20000
ENV
