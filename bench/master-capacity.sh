#!/usr/bin/env bash
# Measures how many workers one Locust master holds: a real master of each
# Locust version this machine has, against N simulated workers
# (bench/workersim, Locust's own worker protocol) that report stats at a
# steady rate while a swarm runs. For each N it prints the master's CPU share
# (of one core: the master is one Python process) and peak memory, the
# simulator's CPU share, how many workers the master saw ready and marked
# missing, whether the master's request count equals what the workers
# reported, and the stats lag (report sent to its figures shown; median and
# largest, in the uncached CSV and in /stats/requests, which Locust caches
# for 2 s: bench/workersim/lag.go).
#
# Usage: bench/master-capacity.sh [seconds per size] [worker counts...]
#        (defaults: 30 s; 50 100 200 400 700 1000)
# Environment (bench/workersim's flags of the same names say more):
#   RPS_PER_WORKER (20) requests/s each worker reports,
#   ENDPOINTS (10) distinct endpoints they spread over,
#   RT_MEDIAN (0: uniform 5-204 ms) and RT_SIGMA (1) a lognormal's median ms and shape,
#   FAIL_RATIO (0.01) and ERROR_KINDS (1) distinct error texts per endpoint,
#   EXCEPTIONS (0) task exceptions per worker per second,
#   RAMP_STEP (0: all at once) workers joining every RAMP_EVERY (10s), the swarm
#     starting with the first step and the measurement with the swarm,
#   CHURN (0) workers vanishing, and as many joining, CHURN_AT (60s) after the ramp,
#   UI (0) 1: also poll /logs, /tasks and /exceptions every 5 s as an open web UI does,
#   VERSIONS (all this machine has) the Locust versions to run, e.g. "2.24.0 2.46.7",
#   SIM_JSON_DIR (unset) a directory to keep each run's simulator summary in.
# Beside each row: the 1- and 5-minute load averages at its end (the machine
# is shared; the master's CPU is its own process time, which contention
# inflates least), the master's CPU share over its busiest 10 s, its CPU
# time until it had merged every report (or for 4 minutes more, scaled up
# by the share it had merged; -1 when none) over the window ("keepup%": a
# master the machine starves falls behind, and its share of the window
# understates what it needs), and the exceptions it counted of those
# reported.
# Needs Debian's python3-locust (2.12.1) and, for 2.24.0 and 2.46.7,
# bin/locust-debian13 and bin/locust-debian-sid (.ci/run deps and tools). Exit 0, or 1 when a run could not start.
set -euo pipefail
seconds=${1:-30}
shift || true
sizes=("$@")
((${#sizes[@]})) || sizes=(50 100 200 400 700 1000)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
rps_per_worker=${RPS_PER_WORKER:-20}
endpoints=${ENDPOINTS:-10}
sim_flags=(--rt-median "${RT_MEDIAN:-0}" --rt-sigma "${RT_SIGMA:-1}" --fail-ratio "${FAIL_RATIO:-0.01}"
  --error-kinds "${ERROR_KINDS:-1}" --exceptions "${EXCEPTIONS:-0}" --ramp-step "${RAMP_STEP:-0}"
  --ramp-every "${RAMP_EVERY:-10s}" --churn "${CHURN:-0}" --churn-at "${CHURN_AT:-60s}")
[[ "${UI:-0}" == 1 ]] && sim_flags+=(--ui)
ramp_step=${RAMP_STEP:-0}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "building bench/workersim" >&2
(cd "$root" && go build -o "$work/workersim" ./bench/workersim)
cat >"$work/locustfile.py" <<'PY'
from locust import User, task


class Reader(User):
    @task
    def read(self):
        pass
PY
python=python3 # free_port's; each version's Python below
# shellcheck source=bench/local-locust.sh
source "$here/local-locust.sh"
# stats URL: the master's state, worker count, total requests and failures,
# and the exceptions it counted, as "state workers requests failures exceptions".
stats() {
  python3 - "$1" <<'PY'
import json, sys, urllib.request
try:
    s = json.load(urllib.request.urlopen(sys.argv[1] + "/stats/requests", timeout=30))
    e = json.load(urllib.request.urlopen(sys.argv[1] + "/exceptions", timeout=30))
except Exception:
    print("down 0 0 0 0"); sys.exit()
total = next((e for e in s["stats"] if e["name"] == "Aggregated"), {"num_requests": 0, "num_failures": 0})
ready = sum(1 for w in s.get("workers", []) if w.get("state") != "missing")
print(s["state"], ready, total["num_requests"], total["num_failures"], sum(x["count"] for x in e["exceptions"]))
PY
}
hz=$(getconf CLK_TCK)
# share T0 T1: the percentage of one core that T1 - T0 ticks are over the run.
share() { awk -v a="$1" -v b="$2" -v hz="$hz" -v s="$seconds" 'BEGIN { print 100 * (b - a) / hz / s }'; }

versions=("2.12.1 /usr/bin/python3")
[[ -x "$root/bin/locust-debian13/python3" ]] && versions+=("2.24.0 $root/bin/locust-debian13/python3")
[[ -x "$root/bin/locust-debian-sid/python3" ]] && versions+=("2.46.7 $root/bin/locust-debian-sid/python3")
if [[ -n "${VERSIONS:-}" ]]; then
  wanted=()
  for v in "${versions[@]}"; do [[ " $VERSIONS " == *" ${v%% *} "* ]] && wanted+=("$v"); done
  versions=("${wanted[@]}")
fi

printf '%-8s %6s %9s %8s %9s %8s %7s %7s %8s %10s %10s %5s %11s %9s %15s %15s\n' locust workers "ready" "master%" "busy10s%" "keepup%" "peakMB" "sim%" missing \
  counted reported exact "exceptions" "load1/5" "lag csv p50/max" "lag json p50/max"
echo "(each worker: $rps_per_worker requests/s over $endpoints endpoints, ${sim_flags[*]}; lag in ms)" >&2
for v in "${versions[@]}"; do
  read -r version python <<<"$v"
  for n in "${sizes[@]}"; do
    bind=$(free_port) web=$(free_port) url=""
    "$python" -m locust -f "$work/locustfile.py" --master --master-bind-host 127.0.0.1 --master-bind-port "$bind" \
      --web-host 127.0.0.1 --web-port "$web" >"$work/master.log" 2>&1 &
    master=$!
    pids+=("$master")
    url="http://127.0.0.1:$web"
    for _ in $(seq 100); do [[ "$(stats "$url" | cut -d' ' -f1)" != down ]] && break; sleep 0.2; done
    "$work/workersim" --master "127.0.0.1:$bind" --workers "$n" --rps "$rps_per_worker" --endpoints "$endpoints" \
      --version "$version" --web "$url" "${sim_flags[@]}" \
      >"$work/sim.json" 2>"$work/sim.log" &
    sim=$!
    pids+=("$sim")
    # A ramp's swarm starts with its first step; the rest join while it runs.
    first=$n
    ((ramp_step > 0 && ramp_step < n)) && first=$ramp_step
    echo "locust $version, $n workers: waiting up to 120 s for $first to be ready" >&2
    ready=0
    for _ in $(seq 120); do
      ready=$(stats "$url" | cut -d' ' -f2)
      ((ready >= first)) && break
      sleep 1
    done
    curl -s -m 120 -o /dev/null -X POST -d "user_count=$((2 * n))&spawn_rate=${SPAWN_RATE:-$((2 * n))}" "$url/swarm"
    ((ramp_step > 0)) || sleep 5 # spawning and the first reports
    m0=$(cpu_ticks "$master") s0=$(cpu_ticks "$sim") peak=0 busy=0 ticks=("$m0")
    echo "  measuring for ${seconds}s" >&2
    for i in $(seq "$seconds"); do
      sleep 1
      r=$(rss_mb "$master")
      ((r > peak)) && peak=$r
      ticks+=("$(cpu_ticks "$master")")
      if ((i >= 10)); then
        b=$((ticks[i] - ticks[i - 10]))
        ((b > busy)) && busy=$b
      fi
    done
    m1=$(cpu_ticks "$master") s1=$(cpu_ticks "$sim")
    ready=$(stats "$url" | cut -d' ' -f2)
    load=$(awk '{print $1 "/" $2}' /proc/loadavg)
    curl -s -m 120 -o /dev/null "$url/stop"
    sleep 4 # the last reports, and /stats/requests' 2 s cache (web.py, memoize)
    # Counted while the simulated workers still beat: once the simulator
    # is stopped, a slow machine can pass the master's heartbeat timeout
    # before it has read their quit, and that is not a worker lost in the
    # run.
    missing=$(grep -c "setting state to missing" "$work/master.log" || true)
    kill -INT "$sim"
    wait "$sim" || true
    read -r reported reported_failures reported_exceptions lag_csv lag_json < <(python3 - "$work/sim.json" <<'PY' 2>/dev/null || echo "0 0 0 - -"
import json, sys
r = json.load(open(sys.argv[1]))
lag = r.get("lag", {})
# -1: the probe saw no report in that view: no figure, not zero.
fig = lambda m, x: "-" if lag.get(m, -1) < 0 else "%.0f/%.0f" % (lag[m], lag[x])
print(r["requests"], r["failures"], r["exceptions"], fig("csvMedianMs", "csvMaxMs"), fig("jsonMedianMs", "jsonMaxMs"))
PY
)
    # A master the machine starves falls behind and merges the backlog
    # later: wait (up to 4 minutes) until it has merged everything
    # reported. Its CPU time from the window's start to then, scaled by the
    # share of the reported requests it had merged, over the window, is
    # what it needs to keep up ("keepup%"), which a starved master's share
    # of the window understates. (Reports are alike, so the master's work
    # is about proportional to the requests it merged; the scaling counts
    # the reports of the 5 s before the window as well, a small excess.)
    drain_until=$((SECONDS + 240))
    while ((SECONDS < drain_until)); do
      read -r _ _ counted counted_failures counted_exceptions < <(stats "$url")
      [[ "$counted" == "$reported" && "$counted_exceptions" == "$reported_exceptions" ]] && break
      sleep 2
    done
    m2=$(cpu_ticks "$master")
    # The simulator's own summary (what it sent, the UI poller's figures).
    [[ -n "${SIM_JSON_DIR:-}" ]] && cp "$work/sim.json" "$SIM_JSON_DIR/sim-$version-$n.json"
    kill "$master" 2>/dev/null || true
    wait "$master" 2>/dev/null || true
    exact=no
    # Reports sent after the stop (each worker's next periodic one, empty)
    # add nothing; any difference is a report the master lost or mis-merged.
    [[ "$counted" == "$reported" && "$counted_failures" == "$reported_failures" &&
      "$counted_exceptions" == "$reported_exceptions" ]] && exact=yes
    busiest=- # no 10 s window in a shorter run: no figure, not zero
    ((seconds >= 10)) && busiest=$(awk -v b="$busy" -v hz="$hz" 'BEGIN { printf "%.0f%%", 100 * b / hz / 10 }')
    printf '%-8s %6d %9s %7.0f%% %9s %7.0f%% %7d %6.0f%% %8d %10s %10s %5s %11s %9s %15s %15s\n' "$version" "$n" "$ready/$n" \
      "$(share "$m0" "$m1")" "$busiest" "$(awk -v c="$counted" -v r="$reported" -v k="$(share "$m0" "$m2")" 'BEGIN { print (c > 0 ? k * r / c : -1) }')" "$peak" "$(share "$s0" "$s1")" \
      "$missing" "$counted" "$reported" "$exact" "$counted_exceptions/$reported_exceptions" "$load" "$lag_csv" "$lag_json"
  done
done
