# UltraCloud test cluster: the harness (TypeScript, run by node) and the
# `ultracloud` stack's six NixOS node images. nix/README.md says what each
# output is, and what was verified where.
#
#   nix run .#cluster -- fresh-smoke                 the harness (also ./nix/test-cluster#cluster)
#   nix develop                                      node, QEMU, VDE, mmdebstrap and the linters
#   nix build .#checks.x86_64-linux.portable-control-plane-regressions
#   nix build .#cluster-images --override-input ultracloud <UltraCloud's flake>
{
  description = "UltraCloud test cluster: six QEMU nodes validated layer by layer, and UltraCloud's node images";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-24.11";
    # UltraCloud's flake (its NixOS modules). A placeholder that throws until
    # overridden: --override-input ultracloud <ref>, or ULTRACLOUD_FLAKE=<ref>
    # for the harness, which passes that override to its one `nix build`.
    ultracloud = {
      url = "path:./nix/ultracloud-unset";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs = { self, nixpkgs, ultracloud }:
    let
      system = "x86_64-linux";
      pkgs = nixpkgs.legacyPackages.${system};
      inherit (nixpkgs) lib;

      # What the harness runs on the host (harness/host.ts HOST_TOOLS), for the app's PATH and the shells.
      hostTools = with pkgs; [
        qemu_kvm
        qemu-utils
        vde2
        mmdebstrap
        e2fsprogs
        openssh
        procps
        util-linux
        coreutils
        gnutar
        gzip
        cpio
        zstd
        xorriso
        mtools
        grub2
        grub2_efi
        OVMF
        nix
        curl
        iproute2
        git
      ];

      src = lib.cleanSourceWith {
        src = ./.;
        filter = path: type:
          let base = baseNameOf path;
          in !(lib.elem base [ "node_modules" "reports" ".git" "result" ]);
      };

      harness = pkgs.callPackage ./nix/harness.nix { inherit src hostTools; };
      nodes = import ./nix/nodes { inherit nixpkgs ultracloud; };
      clusterImages = pkgs.callPackage ./nix/images.nix { inherit nixpkgs nodes; };
    in
    {
      packages.${system} = {
        inherit harness;
        cluster-images = clusterImages;
        default = harness;
      };

      apps.${system} = {
        cluster = { type = "app"; program = "${harness}/bin/cluster"; };
        default = self.apps.${system}.cluster;
      };

      devShells.${system}.default = pkgs.mkShell {
        packages = hostTools ++ (with pkgs; [ nodejs_22 shellcheck yamllint actionlint ]);
        shellHook = ''
          echo "UltraCloud test cluster: ./nix/test-cluster/run-cluster.sh <command> (or npx cluster <command> after npm ci)"
        '';
      };

      checks.${system}.portable-control-plane-regressions =
        pkgs.callPackage ./nix/checks/portable.nix { inherit harness clusterImages hostTools; };

      nixosConfigurations = nodes;
    };
}
