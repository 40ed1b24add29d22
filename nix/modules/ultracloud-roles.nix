# The UltraCloud services of a node: each role the topology gives the node
# (nix/topology.nix) switched on through UltraCloud's own NixOS modules, taken
# from the flake input `ultracloud`.
#
# (guess) UltraCloud's module and option names are not documented to us
# (../shared/upstream-facts.md lists units, ports and health endpoints only).
# Every name below is our guess, in this one file: `nixosModules.default`
# and `services.<role>.enable` plus the few cluster settings each role must
# have. Evaluating a node against the real flake will name any option that
# does not exist; adapt it here.
{ lib, pkgs, node, topology, ultracloud, ... }:
let
  has = role: lib.elem role node.roles;
  peersOf = role: lib.filter (n: lib.elem role n.roles) (lib.attrValues topology.nodes);
  peerAddrs = role: map (n: { name = n.name; address = n.clusterIp; }) (peersOf role);
  clustered = role: {
    enable = true;
    nodeId = node.name;
    bindAddress = node.clusterIp;
    peers = peerAddrs role;
  };
in
{
  imports = [ ultracloud.nixosModules.default ];

  config = lib.mkMerge [
    (lib.mkIf (has "chainfire") {
      services.chainfire = clustered "chainfire";
      # The harness drives chainfire's etcd-like API with etcdctl on the node (stacks/etcd-v3.ts).
      environment.systemPackages = [ pkgs.etcd ];
    })
    (lib.mkIf (has "flaredb") { services.flaredb = clustered "flaredb"; })
    (lib.mkIf (has "iam") { services.iam = clustered "iam"; })
    (lib.mkIf (has "prismnet") { services.prismnet = { enable = true; role = if node.kind == "worker" then "chassis" else "central"; }; })
    (lib.mkIf (has "plasmavmc") { services.plasmavmc = { enable = true; role = if node.kind == "worker" then "agent" else "controller"; }; })
    (lib.mkIf (has "flashdns") {
      services.flashdns = {
        enable = true;
        zone = "ultracloud.test";
        primary = node.name == "node01";
      };
    })
    (lib.mkIf (has "fiberlb") { services.fiberlb.enable = true; })
    (lib.mkIf (has "lightningstor") { services.lightningstor = { enable = true; role = if node.kind == "worker" then "storage" else "gateway"; }; })
    (lib.mkIf (has "coronafs") { services.coronafs = { enable = true; role = if node.kind == "worker" then "node-local" else "controller"; }; })
    (lib.mkIf (has "k8shost") { services.k8shost.enable = true; })
    (lib.mkIf (has "nightlight") { services.nightlight = { enable = true; port = topology.gatewayPorts.nightlight; }; })
    (lib.mkIf (has "apigateway") { services.apigateway = { enable = true; port = topology.gatewayPorts.apigateway; }; })
    (lib.mkIf (has "creditservice") { services.creditservice.enable = true; })
    (lib.mkIf (has "deployer" && node.kind == "control") { services.deployer.enable = true; })
    (lib.mkIf (has "deployer" && node.kind == "worker") { services.nix-agent.enable = true; })
  ];
}
