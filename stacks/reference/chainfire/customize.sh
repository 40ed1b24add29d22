# No member state in the image: each node forms or joins the cluster at boot.
rm -rf /var/lib/etcd/default
