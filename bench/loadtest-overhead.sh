#!/usr/bin/env bash
# What cmd/loadtest itself costs: the time from its launch to the swarm
# started (workers already connected, stats reset, POST /swarm answered),
# and the CPU it uses while it polls the master for progress. Runs a real
# Locust master (web UI) and two workers against a private nginx, then the
# command several times; prints each run and the medians.
#
# Usage: bench/loadtest-overhead.sh [runs] [seconds per run]
# Needs Debian's python3-locust and nginx (.ci/run installs both).
set -euo pipefail
runs=${1:-5} seconds=${2:-10}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
python=/usr/bin/python3
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building cmd/loadtest" >&2
(cd "$root" && go build -o "$work/loadtest" ./cmd/loadtest)

# shellcheck source=bench/local-locust.sh
source "$here/local-locust.sh"
use_private_locust
start_nginx
master_port=$(free_port) web_port=$(free_port)
# Always started in the background: exec makes $! the Locust process itself,
# so that the clean-up stops it.
locust() { exec $python -m locust -f "$here/nginx_target.py" -H "http://127.0.0.1:$nginx_port" "$@"; }
locust --master --master-bind-host 127.0.0.1 --master-bind-port "$master_port" --web-host 127.0.0.1 --web-port "$web_port" >"$work/master.log" 2>&1 &
pids+=($!)
for i in 1 2; do
  locust --worker --master-host 127.0.0.1 --master-port "$master_port" >"$work/w$i.log" 2>&1 &
  pids+=($!)
done
echo "waiting for the master's web UI on :$web_port" >&2
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$web_port") 2>/dev/null && break; sleep 0.2; done

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
starts="" cpus=""
for i in $(seq "$runs"); do
  /usr/bin/time -f "%U %S" -o "$work/time" "$work/loadtest" --stack bench --stack-outputs=false \
    --master-url "http://127.0.0.1:$web_port" --users 10 --spawn-rate 10 --run-time "${seconds}s" \
    --expect-workers 2 --progress-interval 5s --results-dir "$work/results" >"$work/run$i.log" 2>&1 || true
  start=$(sed -n 's/^swarm started \([0-9.]*\)s after launch$/\1/p' "$work/run$i.log")
  cpu=$(awk -v s="$seconds" '{printf "%.2f", 100 * ($1 + $2) / s}' "$work/time")
  printf 'run %d: swarm started %ss after launch; CPU %s%% of one core over the %ss run\n' "$i" "$start" "$cpu" "$seconds"
  starts+=" $start" cpus+=" $cpu"
  sleep 2 # the workers report ready again after a stop
done
printf 'median: swarm started %ss after launch; CPU %s%% of one core\n' "$(echo "$starts" | median)" "$(echo "$cpus" | median)"
