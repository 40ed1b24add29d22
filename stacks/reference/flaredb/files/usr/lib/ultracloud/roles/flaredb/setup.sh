# flaredb = Redis 7: the first node of the role starts as primary, the others
# as its replicas; Sentinel runs on all three. Written once: afterwards Redis
# and Sentinel own their config files (failover rewrites them), so a node
# that comes back after a failover stays what Sentinel made it.
ip="$ULTRACLOUD_CLUSTER_IP"
primary=$(awk 'NR == 1 { print $2 }' "$ROLE_NODES")
secret=$(cat /run/ultracloud/secret)
marker=/var/lib/ultracloud/flaredb.configured
mkdir -p /var/lib/ultracloud
[ -f "$marker" ] && exit 0

cat > /etc/redis/redis.conf <<CONF
bind $ip 127.0.0.1
protected-mode no
port 6379
daemonize no
supervised systemd
pidfile /run/redis/redis-server.pid
loglevel notice
logfile ""
dir /var/lib/redis
dbfilename dump.rdb
save 60 1
appendonly no
requirepass $secret
masterauth $secret
replica-announce-ip $ip
replica-read-only yes
# Background tasks twice a second, not ten times: replication keeps its own
# 1 s cron, and an idle emulated node pays for every wakeup.
hz 2
dynamic-hz no
CONF
[ "$ip" = "$primary" ] || echo "replicaof $primary 6379" >> /etc/redis/redis.conf

# Sentinel: quorum 2 of 3; down-after and failover timeouts sized for TCG
# (see ../index.ts TIMING). Two sentinels that notice the failure together
# can split the vote; the next attempt waits 2 x failover-timeout, so that
# is kept at 20 s (a promotion here takes about 2 s) rather than 180 s.
cat > /etc/redis/sentinel.conf <<CONF
bind $ip 127.0.0.1
protected-mode no
port 26379
daemonize no
supervised systemd
pidfile /run/sentinel/redis-sentinel.pid
logfile ""
dir /var/lib/redis
sentinel resolve-hostnames no
sentinel announce-ip $ip
sentinel monitor flaredb $primary 6379 2
sentinel auth-pass flaredb $secret
sentinel down-after-milliseconds flaredb 8000
sentinel failover-timeout flaredb 20000
sentinel parallel-syncs flaredb 1
CONF
chown redis:redis /etc/redis/redis.conf /etc/redis/sentinel.conf
chmod 0640 /etc/redis/redis.conf /etc/redis/sentinel.conf
touch "$marker"
