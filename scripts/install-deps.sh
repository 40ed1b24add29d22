#!/usr/bin/env bash
# Installs what the harness needs on a Debian 12 host and skips what is
# already there: QEMU, the VDE switch, mmdebstrap and friends from the
# host's own apt sources, then the npm packages from package-lock.json.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  qemu-system-x86   # the nodes
  qemu-utils        # qemu-img: qcow2 base images and overlays
  vde2              # vde_switch: the cluster L2
  mmdebstrap        # the Debian image builder
  e2fsprogs         # mkfs.ext4 -d: rootfs into a disk image
  openssh-client    # ssh-keygen for the cluster key; `cluster ssh`
  procps            # ps/pgrep for operators
  nix-bin           # nix-instantiate: evaluates the deployer's services.nix (pure Nix, no daemon); make lint parses every .nix file
  shellcheck        # make lint: the scripts
  yamllint          # make lint: the CI workflows
  grub-common grub-pc-bin grub-efi-amd64-bin  # grub-mkrescue: the bare-metal installer ISO, BIOS and UEFI
  xorriso mtools    # grub-mkrescue's ISO writer and its EFI image
  cpio zstd         # the installer's initramfs and the install bundle
  ovmf              # UEFI firmware for the bare-metal chassis
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "install-deps: apt-get install ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! command -v node >/dev/null; then
  echo "install-deps: Node.js >= 20.19 is required (not found)" >&2
  exit 1
fi
# shellcheck disable=SC2016 # JavaScript, not shell: nothing to expand
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  if (maj < 20 || (maj === 20 && min < 19)) {
    console.error(`install-deps: Node.js >= 20.19 is required, found ${process.version}`);
    process.exit(1);
  }'

# npm ci only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "install-deps: npm ci"
  npm ci --no-audit --no-fund
fi
