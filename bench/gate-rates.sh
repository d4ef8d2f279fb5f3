#!/usr/bin/env bash
# Measures the regression gate's false alarms and detections on real runs:
# TestGateRatesOnRealRuns (cmd/loadtest/gaterates_test.go) at full size, at
# two run sizes. Each size runs 5 warm-up runs with the gate off, then TRIALS trials of one
# unchanged run and one with the target 15% slower, every run judged as CI
# judges it (an empty results folder, baselines from the bucket). Appends one
# tab-separated row per Locust version and size to OUT and prints them.
#
# Usage: bench/gate-rates.sh [trials] [versions] [out]
#   trials    trials per size (default 30; the issue's minimum)
#   versions  comma-separated Locust versions (default 2.46.7, the image's)
#   out       the rows' file (default bench-gate-rates.tsv)
# Sizes: the stack's defaults (10 users, spawn rate 1, 1m: about 600
# requests) and a larger run (100 users, 2m: about 12000 requests).
# Time: (5 + 2 x trials) runs per size, each its run time plus about 10 s,
# so about 70 minutes and 140 minutes at 30 trials. Measure on a machine
# doing nothing else: Locust's response times include its own scheduling
# delays, and a busy CPU shows up as latency noise that is not the target's.
# Needs what bash .ci/run tools installs (the Locust roots in bin/).
# Exit codes: 0 measured; 1 a run broke an invariant (counts, validity) or
# the test could not run.
set -euo pipefail
trials=${1:-30} versions=${2:-2.46.7} out=${3:-bench-gate-rates.tsv}
cd "$(dirname "$0")/.."
for size in "10 1 1m" "100 100 2m"; do
  read -r users spawn runtime <<<"$size"
  echo "measuring $versions: $trials trials of $users users for $runtime ($(date -u +%H:%M:%S))"
  go test -count=1 -timeout 0 -run 'TestGateRatesOnRealRuns$' ./cmd/loadtest -args \
    -gaterates.trials="$trials" -gaterates.users="$users" -gaterates.spawn-rate="$spawn" \
    -gaterates.run-time="$runtime" -gaterates.versions="$versions" -gaterates.out="$PWD/$out" >/dev/null
done
cat "$out"
