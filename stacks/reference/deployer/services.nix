# Native services the deployer schedules on the workers (schema:
# services/deployer/src/schema.ts). Pure Nix, no nixpkgs: evaluated on the
# host by `nix-instantiate --eval --strict --json` into JSON, validated,
# and seeded into chainfire (`deployerctl seed`). Each command runs under
# /bin/sh -c as a systemd unit on the node the deployer picks, with
# SERVICE, INSTANCE, REPLICA, NODE, ADDR (the node's cluster address),
# STATE (a runtime directory of its own) and PORT (port + replica) set.
# Kept tiny: the workers are 1.5 GiB TCG guests.
let
  onWorkers = antiAffinity: maxPerNode: { kinds = [ "worker" ]; inherit antiAffinity maxPerNode; };
  # An HTTP check of the replica's own page, which names the instance.
  # Generous timeouts: a worker starved by a neighbour's boot (TCG) answers late, not wrongly.
  httpCheck = "curl -sf -m 8 http://$ADDR:$PORT/ | grep -qx \"$INSTANCE\"";
in
{
  # Two replicas spread over the workers (one each while both can host),
  # both on the one left when the other is drained or lost.
  hello-web = {
    command = ''
      echo "$INSTANCE" > "$STATE/index.html"
      exec busybox httpd -f -p "$ADDR:$PORT" -h "$STATE"
    '';
    port = 8180;
    replicas = 2;
    health = { command = httpCheck; intervalS = 3; timeoutS = 10; };
    placement = onWorkers "preferred" 2;
  };

  # One replica: a heartbeat file (replaced whole, never seen half-written)
  # that its health check requires to be fresh.
  ticker = {
    command = ''
      while :; do date +%s > "$STATE/beat.new" && mv "$STATE/beat.new" "$STATE/beat"; sleep 2; done
    '';
    replicas = 1;
    health = { command = "test $(( $(date +%s) - $(cat $STATE/beat) )) -lt 10"; intervalS = 3; timeoutS = 10; };
    placement = onWorkers "preferred" 1;
  };
}
