# The spec's entry point, `nix run ./nix/test-cluster#cluster -- <command>`:
# everything comes from the project's root flake (../../flake.nix).
# UltraCloud's flake is the root's `ultracloud` input; override it here with
#   --override-input root/ultracloud <ref>
# or give it to the harness as ULTRACLOUD_FLAKE=<ref>.
{
  description = "UltraCloud test cluster (nix/test-cluster): the root flake's apps, shells, packages and checks";

  inputs.root.url = "path:../..";

  outputs = { self, root }: {
    inherit (root) apps devShells packages checks nixosConfigurations;
  };
}
