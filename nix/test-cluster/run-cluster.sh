#!/usr/bin/env bash
# `nix develop ./nix/test-cluster -c ./nix/test-cluster/run-cluster.sh <command>`:
# the `cluster` command from this checkout (npm ci first when node_modules is
# missing or older than package-lock.json), for local debugging in the dev shell.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
exec node bin/cluster.mjs "$@"
