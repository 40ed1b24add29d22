# What makes a NixOS system a node of the test cluster, whatever runs on it:
# direct kernel boot from the harness (no boot loader), the root filesystem
# on /dev/vda, the cluster NIC and the management NIC matched by MAC, root's
# SSH key and the stack's secrets from the harness at boot (kernel command
# line and QEMU fw_cfg, as the reference image's generator does), a root
# shell on the serial console, and nothing that idles for nothing under TCG.
{ config, lib, pkgs, modulesPath, node, topology, ... }:
let
  hosts = lib.concatMapStrings (n: "${n.clusterIp} ${n.name}\n") (lib.attrValues topology.nodes);
in
{
  imports = [
    (modulesPath + "/profiles/qemu-guest.nix")
    (modulesPath + "/profiles/minimal.nix")
  ];

  system.stateVersion = "24.11";
  networking.hostName = node.name;

  # The harness boots the kernel and initrd itself (QEMU -kernel/-initrd) with
  # init=<toplevel>/init from the image manifest.
  boot.loader.grub.enable = false;
  boot.initrd.availableKernelModules = [ "virtio_pci" "virtio_blk" "virtio_net" "ext4" ];
  boot.kernelModules = [ "qemu_fw_cfg" ] ++ lib.optionals (node.kind == "worker") [ "kvm-intel" "kvm-amd" ];
  boot.kernelParams = [ "console=ttyS0,115200" ];
  fileSystems."/" = { device = "/dev/vda"; fsType = "ext4"; };

  networking.useDHCP = false;
  networking.useNetworkd = true;
  networking.firewall.enable = false; # the cluster switch exists only inside the host
  networking.extraHosts = hosts;
  systemd.network = {
    links."10-cluster0" = { matchConfig.MACAddress = node.clusterMac; linkConfig.Name = "cluster0"; };
    links."10-mgmt0" = { matchConfig.MACAddress = node.mgmtMac; linkConfig.Name = "mgmt0"; };
    networks."10-cluster0" = {
      matchConfig.Name = "cluster0";
      address = [ "${node.clusterIp}/${toString node.clusterPrefix}" ];
      networkConfig.LinkLocalAddressing = "no";
    };
    # QEMU user networking (restrict=on): DHCP from QEMU, host forwards only.
    networks."20-mgmt0" = { matchConfig.Name = "mgmt0"; networkConfig.DHCP = "ipv4"; };
  };

  # No passwords anywhere: root logs in with the per-cluster key only.
  users.users.root.hashedPassword = "!";
  users.mutableUsers = false;
  services.openssh = {
    enable = true;
    settings = { PermitRootLogin = "prohibit-password"; PasswordAuthentication = false; KbdInteractiveAuthentication = false; };
    authorizedKeysFiles = [ "/run/ultracloud/authorized_keys" ];
  };

  # ultracloud.authkey= (base64 of the cluster's public key) -> root's authorized
  # keys; opt/ultracloud/<name> fw_cfg files -> /run/ultracloud/<name> (0600).
  systemd.services.ultracloud-node-identity = {
    description = "UltraCloud test node identity (SSH key and secrets from the harness)";
    wantedBy = [ "multi-user.target" ];
    before = [ "sshd.service" ];
    after = [ "systemd-modules-load.service" ];
    serviceConfig = { Type = "oneshot"; RemainAfterExit = true; };
    path = [ pkgs.coreutils ];
    script = ''
      install -d -m 0700 /run/ultracloud
      for arg in $(cat /proc/cmdline); do
        case "$arg" in
          ultracloud.authkey=*) printf '%s' "''${arg#ultracloud.authkey=}" | base64 -d > /run/ultracloud/authorized_keys ;;
        esac
      done
      test -s /run/ultracloud/authorized_keys || { echo "no ultracloud.authkey= on the kernel command line" >&2; exit 1; }
      chmod 0600 /run/ultracloud/authorized_keys
      fw=/sys/firmware/qemu_fw_cfg/by_name/opt/ultracloud
      if [ -d "$fw" ]; then
        for d in "$fw"/*; do
          [ -f "$d/raw" ] || continue
          install -m 0600 "$d/raw" "/run/ultracloud/$(basename "$d")"
        done
      fi
    '';
  };

  # A root shell on the serial console (cluster console <node>), for when SSH is what broke.
  services.getty.autologinUser = "root";

  environment.systemPackages = with pkgs; [ curl iproute2 bash coreutils procps util-linux ];

  # Quiet under TCG: nothing periodic nobody asked for.
  documentation.enable = false;
  services.timesyncd.enable = false;
  nix.gc.automatic = false;
  systemd.timers.logrotate.enable = false;
}
