#!/usr/bin/env bash
# One CI suite job, as .github/workflows/ci.yml runs it and as anyone can
# run it here: a clean state dir, the suite's Vitest project (its run
# folder: reports/runs/<time>-<project>, reports/latest), and when it fails
# `cluster export-logs` into that run folder before the cluster is stopped.
# What CI uploads is reports/runs/.
#
#   bash scripts/ci-suite-job.sh PROJECT [vitest options...]
#   bash scripts/ci-suite-job.sh --attached PROJECT [vitest options...]
#     (on the running cluster: no clean, and the cluster is left running)
#
# Exits with the suite's code.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
attached=0
if [ "${1:-}" = --attached ]; then attached=1; shift; fi
if [ $# -lt 1 ] || [[ "$1" == -* ]]; then
  echo "usage: bash scripts/ci-suite-job.sh [--attached] PROJECT [vitest options...]" >&2
  exit 2
fi
project=$1; shift
cluster() { node bin/cluster.mjs "$@"; }

if [ "$attached" = 0 ]; then
  cluster clean || exit $?
  # shellcheck disable=SC2317 # run by the EXIT trap
  stop_cluster() { cluster stop || echo "ci-suite-job: cluster stop failed (exit $?)" >&2; }
  trap stop_cluster EXIT
fi
# The cluster stays up after the suite so a failure's logs can be exported.
ULTRACLOUD_KEEP_CLUSTER=1 npx vitest run --project "$project" "$@"
rc=$?
run=$(readlink -f reports/latest 2>/dev/null || true)
if [ "$rc" -ne 0 ]; then
  echo "ci-suite-job: $project failed (exit $rc): exporting the cluster's logs into ${run:-the latest run folder}"
  cluster export-logs || echo "ci-suite-job: export-logs failed (exit $?)" >&2
fi
echo "ci-suite-job: the run folder: ${run:-none}; CI uploads reports/runs/"
exit "$rc"
