# nixosConfigurations.node01..06: one NixOS system per node of the topology,
# the harness's node module (identity, SSH, networks) plus the UltraCloud
# services its roles name.
{ nixpkgs, ultracloud, topology ? import ../topology.nix }:
let
  inherit (nixpkgs) lib;
in
lib.mapAttrs
  (name: node:
    lib.nixosSystem {
      system = "x86_64-linux";
      specialArgs = { inherit node topology ultracloud; };
      modules = [
        ../modules/harness-node.nix
        ../modules/ultracloud-roles.nix
      ];
    })
  topology.nodes
