# deployer on a control node, agent on a worker, at every boot before the
# service: chainfire's client URLs from the role list the image carries,
# and this node's name, kind and cluster address.
set -eu
etcd=$(awk '{ printf "%shttp://%s:2379", (NR > 1 ? "," : ""), $2 }' /usr/lib/ultracloud/roles/chainfire.nodes)
kind=$(awk -v n="$ULTRACLOUD_NODE" '$1 == n { print $3 }' "$ROLE_NODES")
cat > /run/ultracloud/deployer.env <<ENV
DEPLOYER_ETCD=$etcd
DEPLOYER_NODE=$ULTRACLOUD_NODE
DEPLOYER_KIND=${kind:-worker}
DEPLOYER_ADDR=$ULTRACLOUD_CLUSTER_IP
DEPLOYER_LISTEN=0.0.0.0:8070
DEPLOYER_LEASE_TTL_S=10
ENV
chmod 0644 /run/ultracloud/deployer.env
