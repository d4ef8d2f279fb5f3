#!/usr/bin/env bash
# Measures what distribution costs: requests/second of one Locust master plus
# two workers against the same load from two standalone Locust processes, on
# the same cores, against a local nginx that answers "ok" (so Locust, not the
# target, is the bottleneck). Prints each run and the medians.
#
# Usage: bench/locust-throughput.sh [runs] [seconds per run] [users]
# Needs Debian's python3-locust and nginx (.ci/run installs both).
set -euo pipefail
runs=${1:-3} seconds=${2:-20} users=${3:-40}
here=$(cd "$(dirname "$0")" && pwd)
python=/usr/bin/python3
cpus=0-$(($(nproc) - 1))
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=bench/local-locust.sh
source "$here/local-locust.sh"
use_private_locust
start_nginx
# Always started in the background: exec makes $! the Locust process itself,
# so that the clean-up stops it.
locust() { exec taskset -c "$cpus" $python -m locust -f "$here/nginx_target.py" -H "http://127.0.0.1:$nginx_port" "$@"; }

# rps PREFIX: the Aggregated Requests/s of a Locust CSV.
rps() { awk -F, 'NR==1{for(i=1;i<=NF;i++) if($i=="Requests/s") c=i} $2=="Aggregated"{print $c}' "$1_stats.csv"; }

distributed() {
  local port; port=$(free_port)
  locust --master --headless --master-bind-host 127.0.0.1 --master-bind-port "$port" --expect-workers 2 \
    -u "$users" -r "$users" -t "${seconds}s" --csv "$work/dist" --only-summary >"$work/master.log" 2>&1 &
  local m=$!
  locust --worker --master-host 127.0.0.1 --master-port "$port" >"$work/w1.log" 2>&1 &
  local w1=$!
  locust --worker --master-host 127.0.0.1 --master-port "$port" >"$work/w2.log" 2>&1 &
  local w2=$!
  wait "$m" "$w1" "$w2"
  awk -v d="$(rps "$work/dist")" 'BEGIN{printf "%.2f\n", d}'
}

standalone() {
  local half=$((users / 2))
  locust --headless -u "$half" -r "$half" -t "${seconds}s" --csv "$work/solo1" --only-summary >"$work/s1.log" 2>&1 &
  local a=$!
  locust --headless -u "$half" -r "$half" -t "${seconds}s" --csv "$work/solo2" --only-summary >"$work/s2.log" 2>&1 &
  local b=$!
  wait "$a" "$b"
  awk -v a="$(rps "$work/solo1")" -v b="$(rps "$work/solo2")" 'BEGIN{printf "%.2f\n", a+b}'
}

median() { sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }

echo "Locust $locust_version, $users users, ${seconds}s per run, $runs runs, CPUs $cpus, target nginx on 127.0.0.1:$nginx_port"
printf '%-4s %26s %26s\n' run "master+2 workers (req/s)" "2 standalone (req/s)"
: >"$work/d.txt"; : >"$work/s.txt"
for i in $(seq "$runs"); do
  d=$(distributed); s=$(standalone)
  echo "$d" >>"$work/d.txt"; echo "$s" >>"$work/s.txt"
  printf '%-4s %26s %26s\n' "$i" "$d" "$s"
done
dm=$(median <"$work/d.txt"); sm=$(median <"$work/s.txt")
printf '%-4s %26s %26s\n' median "$dm" "$sm"
awk -v d="$dm" -v s="$sm" 'BEGIN{printf "distributed / standalone = %.2f\n", d/s}'
