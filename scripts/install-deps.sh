#!/usr/bin/env bash
# Installs what the harness needs on a Debian 12 host and skips what is
# already there: QEMU, the VDE switch, mmdebstrap and friends from the
# host's own apt sources, then the npm packages from package-lock.json.
# The unit tests' servers (OpenSSH, Redis, Sentinel) are installed as
# binaries only: their Debian services are neither started nor enabled.
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
  chromium          # tests/unit/html-report.test.ts: the HTML report opened in headless Chromium (puppeteer-core)
  # The unit tests run these binaries on 127.0.0.1 themselves (ssh-exec: the
  # kill-on-close guarantees against a real sshd; creditservice-sentinel:
  # real Sentinel failovers). Their services stay off: see SERVICES below.
  openssh-server    # /usr/sbin/sshd
  redis-server      # redis-server
  redis-sentinel    # redis-sentinel
  etcd-server       # /usr/bin/etcd: tests/unit/etcd-registers.test.ts runs the register workload against a real one-member etcd
)

# The services those packages' postinst would start and enable: a fresh
# install leaves them stopped and disabled. Packages that were installed
# before (a hand install, a running sshd) are left exactly as they are.
declare -A SERVICES=(
  [openssh-server]="ssh.service ssh.socket"
  [redis-server]="redis-server.service"
  [redis-sentinel]="redis-sentinel.service"
  [etcd-server]="etcd.service"
)
declare -A SYSV_SCRIPTS=([openssh-server]=ssh [redis-server]=redis-server [redis-sentinel]=redis-sentinel [etcd-server]=etcd)

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
  # policy-rc.d exiting 101 forbids every service start (invoke-rc.d,
  # deb-systemd-invoke) while apt runs; a policy the host already has (a
  # container's) is put back afterwards, even when this script is killed
  # (a leftover .install-deps-saved from a killed run is restored first).
  policy=/usr/sbin/policy-rc.d saved=/usr/sbin/policy-rc.d.install-deps-saved
  if [ -e "$saved" ]; then mv -f "$saved" "$policy"; fi
  if [ -e "$policy" ]; then mv "$policy" "$saved"; fi
  restore_policy() {
    rm -f "$policy"
    if [ -e "$saved" ]; then mv -f "$saved" "$policy"; fi
  }
  trap restore_policy EXIT
  trap 'exit 130' INT TERM HUP
  printf '#!/bin/sh\n# install-deps.sh: no service starts while apt-get installs\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
  restore_policy
  trap - EXIT INT TERM HUP
  # The postinsts enabled what they could not start: disable (and, where
  # systemd runs, stop) the services of the packages installed just now.
  for pkg in "${missing[@]}"; do
    [ -n "${SERVICES[$pkg]:-}" ] || continue
    echo "install-deps: $pkg: services ${SERVICES[$pkg]} disabled, not started"
    # shellcheck disable=SC2086 # a list of unit names
    if [ -d /run/systemd/system ]; then
      systemctl disable --now ${SERVICES[$pkg]} >/dev/null 2>&1 || true
    elif command -v systemctl >/dev/null; then
      systemctl disable ${SERVICES[$pkg]} >/dev/null 2>&1 || true  # offline: only the links
    fi
    if [ -e "/etc/init.d/${SYSV_SCRIPTS[$pkg]}" ]; then
      update-rc.d "${SYSV_SCRIPTS[$pkg]}" disable >/dev/null 2>&1 || true
    fi
  done
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
