# The cluster as the harness boots it (harness/topology.ts, default profile)
# and the roles each node hosts (stacks/ultracloud/<role> hostedOn). Pure data:
# tests/unit/nix-topology.test.ts evaluates it with `nix-instantiate --eval`
# and checks it against both, so the two sides cannot drift apart.
let
  node = index: kind: clusterIp: memoryMiB: roles:
    let nn = if index < 10 then "0${toString index}" else toString index;
    in {
      name = "node${nn}";
      inherit index kind clusterIp memoryMiB roles;
      clusterPrefix = 24;
      clusterMac = "52:54:00:12:34:${nn}";
      mgmtMac = "52:54:00:aa:00:${nn}";
    };
  control = [ "base" "chainfire" "flaredb" "iam" "flashdns" "fiberlb" "prismnet" "plasmavmc" "lightningstor" "deployer" ];
  worker = [ "base" "prismnet" "plasmavmc" "lightningstor" "coronafs" "k8shost" "deployer" ];
  gateway = [ "base" "nightlight" "apigateway" "creditservice" ];
in
{
  nodes = {
    node01 = node 1 "control" "10.100.0.11" 1024 (control ++ [ "coronafs" ]);
    node02 = node 2 "control" "10.100.0.12" 1024 control;
    node03 = node 3 "control" "10.100.0.13" 1024 control;
    node04 = node 4 "worker" "10.100.0.21" 1536 worker;
    node05 = node 5 "worker" "10.100.0.22" 1536 worker;
    node06 = node 6 "gateway" "10.100.0.31" 1024 gateway;
  };
  # Guest ports the harness forwards from the host on node06 (harness/topology.ts).
  gatewayPorts = { apigateway = 80; nightlight = 9090; };
}
