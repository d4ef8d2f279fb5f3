#!/usr/bin/env bash
# Stops a cluster started by tools/cluster-up.sh and removes its workdir.
# Usage: tools/cluster-down.sh <bin-dir> <name> <workdir>   (workdir = KWOK_WORKDIR it printed)
set -euo pipefail
if [[ $# -lt 3 ]]; then
  echo "usage: $0 <bin-dir> <name> <workdir>" >&2
  exit 2
fi
bin=$(cd "$1" && pwd)
KWOK_WORKDIR=$3 "$bin/kwokctl" delete cluster --name "$2" >&2 || true
rm -rf -- "$3"
