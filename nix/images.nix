# packages.x86_64-linux.cluster-images: the six node images in one build.
# Per node: a qcow2 of its NixOS system (ext4 on the whole disk, /dev/vda, no
# boot loader), its kernel, initrd and stage-2 init; plus a busybox initramfs
# for the harness's acceleration probe. manifest.json lists them all; the
# harness (harness/image/nix.ts, format 1) boots them with its QEMU wrapper.
{ lib, pkgs, nixpkgs, nodes }:
let
  makeDiskImage = import "${nixpkgs}/nixos/lib/make-disk-image.nix";

  disk = name: system: makeDiskImage {
    inherit lib pkgs;
    inherit (system) config;
    name = "ultracloud-${name}-disk";
    format = "qcow2";
    partitionTableType = "none";
    installBootLoader = false;
    copyChannel = false;
    diskSize = "auto";
    additionalSpace = "1024M";
  };

  entry = name: system:
    let cfg = system.config;
    in {
      disk = "${disk name system}/nixos.qcow2";
      kernel = "${cfg.system.build.kernel}/${cfg.system.boot.loader.kernelFile}";
      initrd = "${cfg.system.build.initialRamdisk}/${cfg.system.boot.loader.initrdFile}";
      init = "${cfg.system.build.toplevel}/init";
      kernelParams = cfg.boot.kernelParams;
    };

  # The acceleration probe: prints the harness's marker once userspace runs, then powers off.
  busybox = pkgs.pkgsStatic.busybox;
  probeInit = pkgs.writeScript "ultracloud-probe-init" ''
    #!${busybox}/bin/sh
    ${busybox}/bin/mount -t proc proc /proc 2>/dev/null || { ${busybox}/bin/mkdir -p /proc && ${busybox}/bin/mount -t proc proc /proc; }
    echo "ULTRACLOUD_PROBE_USERSPACE uptime=$(${busybox}/bin/cut -d' ' -f1 /proc/uptime) kvm=$([ -e /dev/kvm ] && echo yes || echo no)"
    ${busybox}/bin/poweroff -f
  '';
  probeInitrd = pkgs.makeInitrd {
    name = "ultracloud-probe-initrd";
    contents = [ { object = probeInit; symlink = "/init"; } ];
  };

  manifest = pkgs.writeText "manifest.json" (builtins.toJSON {
    format = 1;
    probeInitrd = "${probeInitrd}/initrd";
    nodes = lib.mapAttrs entry nodes;
  });
in
pkgs.runCommand "ultracloud-cluster-images" { } ''
  mkdir -p $out
  cp ${manifest} $out/manifest.json
  ${lib.concatStrings (lib.mapAttrsToList (name: system: ''
    ln -s ${disk name system} $out/${name}
  '') nodes)}
''
