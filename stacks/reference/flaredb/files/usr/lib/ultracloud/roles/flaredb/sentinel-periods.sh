# flaredb: Sentinel's PING period 3 s (Redis: 1 s) and hello period 6 s
# (2 s), run by redis-sentinel.service after every start (SENTINEL DEBUG
# settings are not kept in sentinel.conf).
#
# Each Sentinel PINGs the primary, both replicas and the other two Sentinels,
# and publishes a hello to all three Redis servers, which fan it out to every
# Sentinel: most of an idle control node's Redis traffic. Measured on the
# real binaries on loopback (3 Redis + 3 Sentinels, 60 s, together with the
# 50 ms timer slack of both units): Sentinel 506 -> 275 ms CPU and 77 -> 38
# wakeups/s, Redis 121 -> 80 ms and 28 -> 15 wakeups/s; a stopped primary
# was replaced in 9.3-10.4 s as before (9.3-10.7 s). The down-after (8 s)
# still decides when a primary is down: a failover now starts 8-11 s after
# a silent primary's last answer instead of 8-9 s. What grows is the wait
# before Sentinel turns a returning old primary into a replica (4 hello
# periods: 24 s instead of 8 s): 36-37 s instead of 15-16 s on loopback,
# against a 120 s deadline (flaredb/index.ts TIMING.rejoinS).
set -eu
i=0
until out=$(redis-cli -h 127.0.0.1 -p 26379 sentinel debug ping-period 3000 publish-period 6000 2>&1) && [ "$out" = OK ]; do
  i=$((i + 1))
  [ "$i" -lt 50 ] || { echo "flaredb: SENTINEL DEBUG did not answer OK: $out" >&2; exit 1; }
  sleep 0.2
done
