# Config is written per node at first boot (roles/flaredb/setup.sh).
rm -f /var/lib/redis/dump.rdb
