#!/usr/bin/env bash
# The publishable suite: records the environment, then runs fresh-smoke,
# fresh-demo-vm-webapp and fresh-matrix in that order, each with its own
# JUnit file, and writes one merged summary. A failed suite does not stop the
# run (the summary stays complete); the exit code is 1 when any suite failed.
#
#   scripts/run-publishable-kvm-suite.sh [--out DIR] [--dry-run] [-- vitest options]
#
#   --out DIR   the run folder (default reports/publishable-<UTC date and time>)
#   --dry-run   write the environment metadata and print the plan; boot nothing
#
# The stack is ULTRACLOUD_STACK's (reference by default). Meant for hosts with
# /dev/kvm and nested virtualization; on others the harness falls back to TCG
# and metadata.json says so (accel per node).
set -euo pipefail

root="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$root"

SUITES=(fresh-smoke fresh-demo-vm-webapp fresh-matrix)
out=""
dry_run=0
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    --out=*) out="${1#--out=}"; shift ;;
    --dry-run) dry_run=1; shift ;;
    --) shift; extra=("$@"); break ;;
    -h | --help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run-publishable-kvm-suite: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
out="${out:-reports/publishable-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

cluster() { node "$root/bin/cluster.mjs" "$@"; }

# One value or "absent": the first line of a command's output.
version_of() {
  local v
  if v="$("$@" 2>/dev/null | head -n 1)" && [ -n "$v" ]; then printf '%s' "$v"; else printf 'absent'; fi
}

# --- environment metadata -------------------------------------------------
cpu_flags="$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2- || true)"
virt_flags=()
for f in vmx svm hypervisor; do
  case " $cpu_flags " in *" $f "*) virt_flags+=("$f") ;; esac
done
kvm_dev="absent"
if [ -e /dev/kvm ]; then
  if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then kvm_dev="present, read-write"; else kvm_dev="present, not accessible to $(id -un)"; fi
fi
nested="absent"
for p in /sys/module/kvm_intel/parameters/nested /sys/module/kvm_amd/parameters/nested; do
  [ -r "$p" ] && nested="$(basename "$(dirname "$(dirname "$p")")")=$(cat "$p")"
done

# shellcheck disable=SC2016 # JavaScript, not shell: nothing to expand
node -e '
  const [file, ...kv] = process.argv.slice(1);
  const m = {};
  for (let i = 0; i < kv.length; i += 2) m[kv[i]] = kv[i + 1];
  m.virtFlags = m.virtFlags ? m.virtFlags.split(" ").filter(Boolean) : [];
  m.suites = m.suites.split(" ");
  m.dryRun = m.dryRun === "1";
  m.accel = null; // filled in from `cluster status --json` after the first suite
  require("fs").writeFileSync(file, JSON.stringify(m, null, 2) + "\n");
' "$out/metadata.json" \
  startedAt "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  host "$(uname -n)" \
  kernel "$(uname -srvm)" \
  os "$(
    # shellcheck source=/dev/null
    . /etc/os-release 2>/dev/null && printf '%s' "${PRETTY_NAME:-unknown}")" \
  cpuModel "$(grep -m1 '^model name' /proc/cpuinfo 2>/dev/null | cut -d: -f2- | sed 's/^ *//' || echo unknown)" \
  cpus "$(nproc 2>/dev/null || echo unknown)" \
  memory "$(grep -m1 MemTotal /proc/meminfo 2>/dev/null | awk '{print $2 " kB"}')" \
  virtFlags "${virt_flags[*]}" \
  devKvm "$kvm_dev" \
  nestedKvm "$nested" \
  qemu "$(version_of qemu-system-x86_64 --version)" \
  node "$(version_of node --version)" \
  nix "$(version_of nix --version)" \
  gitRevision "$(version_of git -C "$root" rev-parse HEAD)" \
  gitDirty "$(if git -C "$root" diff --quiet HEAD -- 2>/dev/null; then echo no; else echo yes; fi)" \
  stack "${ULTRACLOUD_STACK:-reference}" \
  profile "${ULTRACLOUD_PROFILE:-default}" \
  accelSetting "${ULTRACLOUD_ACCEL:-auto}" \
  suites "${SUITES[*]}" \
  dryRun "$dry_run"

echo "run-publishable-kvm-suite: run folder $out" >&2
echo "run-publishable-kvm-suite: metadata $out/metadata.json" >&2

if [ "$dry_run" = 1 ]; then
  echo "plan (stack ${ULTRACLOUD_STACK:-reference}):"
  for s in "${SUITES[@]}"; do
    echo "  npx cluster $s --outputFile.junit=$out/$s.junit.xml${extra[*]:+ ${extra[*]}}   > $out/$s.log"
  done
  echo "  npx cluster status --json > $out/status-after-fresh-smoke.json   (accel per node, after the first suite)"
  echo "  summary: $out/summary.json, $out/summary.md"
  exit 0
fi

# --- the suites, in order ------------------------------------------------
codes=()
for s in "${SUITES[@]}"; do
  echo "run-publishable-kvm-suite: $s" >&2
  started=$(date +%s)
  set +e
  cluster "$s" "--outputFile.junit=$out/$s.junit.xml" "${extra[@]}" 2>&1 | tee "$out/$s.log"
  code=${PIPESTATUS[0]}
  set -e
  echo "$code $(( $(date +%s) - started ))" > "$out/$s.exit"
  codes+=("$code")
  echo "run-publishable-kvm-suite: $s exit $code" >&2
  if [ "$s" = "${SUITES[0]}" ]; then
    cluster status --json > "$out/status-after-$s.json" 2>> "$out/$s.log" || true
  fi
done

# --- merged summary ------------------------------------------------------
node "$root/scripts/publishable-summary.mjs" "$out" "${SUITES[@]}"

for c in "${codes[@]}"; do
  [ "$c" = 0 ] || exit 1
done
exit 0
