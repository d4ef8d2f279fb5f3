#!/usr/bin/env bash
# Measures several Locust masters loaded at once and run as one test, as a
# stack of shards runs (docs/performance.md, "Several masters at once"): for
# each count of masters, that many real masters of one Locust version, each
# with the component's plugin loaded last as a LocustCluster loads it
# (components/locust_eks_worker.py: cmd/loadtest merges the histograms it
# serves), each loaded by a bench/workersim of its own, and cmd/loadtest
# running one test across them (--stack and --master-url per master), 2
# users per worker. Per point it prints:
#   - masters, and the simulated workers in all;
#   - the requests cmd/loadtest merged (summary.json) and those the
#     simulators say they reported; "exact" is yes when they are equal and
#     each master's row equals its own simulator's count;
#   - each master's CPU (share of one core, its own process time from
#     /proc/PID/stat over the run) and peak memory, and the simulators' CPU
#     in all;
#   - the start skew (summary.json: the spread of the masters' answers to
#     /swarm);
#   - the workers the masters marked missing (3 heartbeats missed), and the
#     stats lag, the worst of the masters' (each simulator's probe:
#     bench/workersim/lag.go; median/max ms, uncached CSV and cached
#     /stats/requests); "behind" is yes when a worker was marked missing or
#     a master never showed a report the probe sent;
#   - the 1- and 5-minute load averages at the run's end.
#
# Usage: bench/shards-scale.sh [seconds per run] [master counts...]
#        (defaults: 60 s; 1 2 3)
# Environment:
#   WORKERS (1000) simulated workers per master: the measured per-master limit,
#   RPS_PER_WORKER (20) and ENDPOINTS (10): each worker's load, as in the
#     first table of docs/performance.md (uniform 5-204 ms, 1% failed),
#   VERSION (2.46.7 when bin/locust-debian-sid has it, else 2.12.1) the Locust of the masters,
#   KEEP (unset) a folder to keep each point's logs, summaries and results in.
# Needs Debian's python3-locust (2.12.1) or bin/locust-debian13 (2.24.0) or
# bin/locust-debian-sid (2.46.7) (.ci/run deps and tools), and Go.
# Exit codes: 0 every point merged exactly what was reported; 1 a point could
# not run (a master or simulator did not start, cmd/loadtest did not finish
# its run); 2 bad arguments; 3 a point's merged count differs from what the
# simulators reported.
set -euo pipefail
seconds=${1:-60}
shift || true
counts=("$@")
((${#counts[@]})) || counts=(1 2 3)
for v in "$seconds" "${counts[@]}" "${WORKERS:-1000}"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "usage: bench/shards-scale.sh [seconds] [master counts...]; each a whole number above 0, not $v" >&2; exit 2; }
done
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
workers=${WORKERS:-1000}
rps_per_worker=${RPS_PER_WORKER:-20}
endpoints=${ENDPOINTS:-10}
case "${VERSION:-}" in
  "") if [[ -x "$root/bin/locust-debian-sid/python3" ]]; then version=2.46.7; else version=2.12.1; fi ;;
  *) version=$VERSION ;;
esac
case "$version" in
  2.12.1) python=/usr/bin/python3 ;;
  2.24.0) python=$root/bin/locust-debian13/python3 ;;
  2.46.7) python=$root/bin/locust-debian-sid/python3 ;;
  *) echo "VERSION $version: 2.12.1, 2.24.0 or 2.46.7" >&2; exit 2 ;;
esac
[[ -x "$python" ]] || { echo "no Locust $version here ($python): .ci/run deps tools installs it" >&2; exit 1; }
work=$(mktemp -d)
pids=()
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building bench/workersim and cmd/loadtest" >&2
(cd "$root" && go build -o "$work/workersim" ./bench/workersim && go build -o "$work/loadtest" ./cmd/loadtest)
cat >"$work/locustfile.py" <<'PY'
from locust import User, task


class Reader(User):
    @task
    def read(self):
        pass
PY
# shellcheck source=bench/local-locust.sh
source "$here/local-locust.sh" # free_port, cpu_ticks, rss_mb
hz=$(getconf CLK_TCK)
now() { date +%s.%N; }
# share T0 T1 S0 S1: the percentage of one core that T1 - T0 ticks are over S1 - S0 seconds.
share() { awk -v a="$1" -v b="$2" -v s0="$3" -v s1="$4" -v hz="$hz" 'BEGIN { printf "%.0f", 100 * (b - a) / hz / (s1 - s0) }'; }
# answers URL: whether the master's web UI answers.
answers() { curl -s -m 5 -o /dev/null "$1/stats/requests"; }

echo "$(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, Locust $version, $workers workers a master, each $rps_per_worker requests/s over $endpoints endpoints, ${seconds} s a run" >&2
printf '%-7s %7s %10s %10s %5s %-17s %-17s %5s %7s %7s %-13s %-13s %6s %9s\n' masters workers merged reported exact "master% each" "peakMB each" "sim%" skewMs missing "lag csv" "lag json" behind load1/5
status=0
for n in "${counts[@]}"; do
  point=$work/masters-$n
  mkdir -p "$point"
  masters=() sims=() urls=()
  for i in $(seq 0 $((n - 1))); do
    bind=$(free_port) web=$(free_port)
    "$python" -m locust --locustfile "$work/locustfile.py,$root/components/locust_eks_worker.py" --master \
      --master-bind-host 127.0.0.1 --master-bind-port "$bind" --web-host 127.0.0.1 --web-port "$web" \
      --stop-timeout 10 >"$point/master-$i.log" 2>&1 &
    masters+=($!) pids+=($!)
    urls+=("http://127.0.0.1:$web")
    up=no
    for _ in $(seq 150); do answers "${urls[i]}" && up=yes && break; sleep 0.2; done
    if [[ $up == no ]]; then
      echo "$n masters: master $i did not answer on ${urls[i]} in 30 s:" >&2
      tail -5 "$point/master-$i.log" >&2
      exit 1
    fi
    "$work/workersim" --master "127.0.0.1:$bind" --workers "$workers" --rps "$rps_per_worker" --endpoints "$endpoints" \
      --version "$version" --web "${urls[i]}" >"$point/sim-$i.json" 2>"$point/sim-$i.log" &
    sims+=($!) pids+=($!)
  done
  echo "$n masters: up; $((n * workers)) simulated workers connecting; cmd/loadtest waits for them and runs ${seconds} s" >&2
  stack_args=()
  for i in $(seq 0 $((n - 1))); do stack_args+=(--stack "master-$i" --master-url "${urls[i]}"); done
  "$work/loadtest" --stack-outputs=false "${stack_args[@]}" --users $((2 * n * workers)) --spawn-rate $((2 * n * workers)) \
    --run-time "${seconds}s" --expect-workers "$workers" --wait-workers 300s --progress-interval 10s \
    --results-dir "$point/results" >"$point/loadtest.log" 2>&1 &
  loadtest=$!
  pids+=("$loadtest")
  # The run's window: from the swarm started to the run time up, as
  # cmd/loadtest says them.
  waitfor() { while ! grep -qs "$1" "$point/loadtest.log"; do kill -0 "$loadtest" 2>/dev/null || return 1; sleep 0.2; done; }
  if ! waitfor '^swarm started'; then
    echo "$n masters: cmd/loadtest ended before the swarm started:" >&2
    tail -5 "$point/loadtest.log" >&2
    exit 1
  fi
  echo "  swarm started; measuring" >&2
  t0=$(now) m0=() peak=() s0=0
  for p in "${masters[@]}"; do m0+=("$(cpu_ticks "$p")") peak+=(0); done
  for p in "${sims[@]}"; do s0=$((s0 + $(cpu_ticks "$p"))); done
  while ! grep -qs "the run time is up" "$point/loadtest.log"; do
    kill -0 "$loadtest" 2>/dev/null || break
    for i in "${!masters[@]}"; do
      r=$(rss_mb "${masters[i]}")
      ((r > peak[i])) && peak[i]=$r
    done
    sleep 1
  done
  t1=$(now) cpu=() s1=0
  for i in "${!masters[@]}"; do cpu+=("$(share "${m0[i]}" "$(cpu_ticks "${masters[i]}")" "$t0" "$t1")"); done
  for p in "${sims[@]}"; do s1=$((s1 + $(cpu_ticks "$p"))); done
  load=$(awk '{print $1 "/" $2}' /proc/loadavg)
  rc=0
  wait "$loadtest" || rc=$?
  # Counted while the simulated workers still beat (bench/master-capacity.sh
  # says why).
  missing=0
  for i in "${!masters[@]}"; do missing=$((missing + $(grep -c "setting state to missing" "$point/master-$i.log" || true))); done
  for p in "${sims[@]}"; do kill -INT "$p"; done
  for p in "${sims[@]}"; do wait "$p" || true; done
  for p in "${masters[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  [[ -n "${KEEP:-}" ]] && mkdir -p "$KEEP" && cp -r "$point" "$KEEP/"
  dir=$(sed -n 's/^results: //p' "$point/loadtest.log")
  if [[ -z "$dir" || ! -f "$dir/summary.json" ]]; then
    echo "$n masters: cmd/loadtest exited $rc without a summary:" >&2
    tail -5 "$point/loadtest.log" >&2
    exit 1
  fi
  ((rc == 0)) || echo "  cmd/loadtest exited $rc (its verdict; the counts below still hold)" >&2
  # merged reported exact skew lagCsv lagJson behind, from the summary and
  # the simulators' lines.
  read -r merged reported exact skew lag_csv lag_json behind < <(python3 - "$dir/summary.json" "$missing" "$point"/sim-*.json <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
missing = int(sys.argv[2])
sims = [json.loads(open(p).read().strip().splitlines()[-1]) for p in sorted(sys.argv[3:], key=lambda p: int(p.rsplit("-", 1)[1].split(".")[0]))]
merged = s["stats"]["total"]["requests"]
reported = sum(x["requests"] for x in sims)
# One master is a run on one stack: no rows, no skew (cmd/loadtest/run.go).
rows = [r["total"]["requests"] for r in s["stacks"]] if "stacks" in s else [merged]
exact = merged == reported and rows == [x["requests"] for x in sims]
lags = [x.get("lag", {}) for x in sims]
def worst(med, mx):
    if any(l.get(med, -1) < 0 for l in lags):
        return "-"
    return "%.0f/%.0f" % (max(l[med] for l in lags), max(l[mx] for l in lags))
unseen = any(l.get("seenCsv", 0) < l.get("sent", 0) for l in lags)
skew = "%.0f" % s["startSkewMs"] if "startSkewMs" in s else "-"
print(merged, reported, "yes" if exact else "no", skew,
      worst("csvMedianMs", "csvMaxMs"), worst("jsonMedianMs", "jsonMaxMs"), "yes" if missing or unseen else "no")
PY
  )
  [[ "$exact" == yes ]] || status=3
  printf '%-7d %7d %10d %10d %5s %-17s %-17s %4s%% %7s %7d %-13s %-13s %6s %9s\n' "$n" $((n * workers)) "$merged" "$reported" "$exact" \
    "$(IFS=,; echo "${cpu[*]/%/%}")" "$(IFS=,; echo "${peak[*]}")" "$(share "$s0" "$s1" "$t0" "$t1")" "$skew" "$missing" "$lag_csv" "$lag_json" "$behind" "$load"
  pids=()
  sleep 2
done
exit "$status"
