#!/usr/bin/env bash
# Measures how long the master's /metrics takes to render: the plugin's
# _metrics over a real Locust RequestStats as a master holds it, with N
# endpoints each holding K distinct response-time keys (Locust's rounded
# values: whole ms below 100 ms, then 2 significant digits, up to 60 s). The
# master renders it on its gevent loop, so this time is what a scrape holds
# every other greenlet (worker reports, the web UI) back. Prints, per Locust
# version, the median and fastest of R renders in wall-clock time, the
# median in CPU time (what the render itself costs, which other processes
# on a shared machine stretch less), and the size of the output.
#
# Usage: bench/metrics-scrape.sh [endpoints] [keys per endpoint] [renders]
#        (defaults: 500 100 20)
# Environment: PLUGIN, a locust_eks_worker.py to measure instead of
#   components/'s, e.g. an earlier commit's:
#   mkdir /tmp/before && git show REV:components/locust_eks_worker.py >/tmp/before/locust_eks_worker.py
#   PLUGIN=/tmp/before/locust_eks_worker.py bench/metrics-scrape.sh
# Needs Debian's python3-locust (2.12.1) and, for 2.24.0 and 2.46.7,
# bin/locust-debian13 and bin/locust-debian-sid (.ci/run deps and tools).
set -euo pipefail
endpoints=${1:-500} keys=${2:-100} renders=${3:-20}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
plugin=${PLUGIN:-$root/components/locust_eks_worker.py}
plugin_dir=$(cd "$(dirname "$plugin")" && pwd)
[[ $(basename "$plugin") == locust_eks_worker.py ]] || { echo "PLUGIN must be a file named locust_eks_worker.py" >&2; exit 2; }

versions=("2.12.1 /usr/bin/python3")
[[ -x "$root/bin/locust-debian13/python3" ]] && versions+=("2.24.0 $root/bin/locust-debian13/python3")
[[ -x "$root/bin/locust-debian-sid/python3" ]] && versions+=("2.46.7 $root/bin/locust-debian-sid/python3")

printf '%-8s %9s %5s %7s %10s %10s %14s %9s\n' locust endpoints keys renders "median ms" "fastest ms" "median CPU ms" "bytes"
for v in "${versions[@]}"; do
  read -r version python <<<"$v"
  PYTHONPATH=$plugin_dir "$python" - "$endpoints" "$keys" "$renders" "$version" <<'PY'
import statistics
import sys
import time

import locust_eks_worker as plugin
from locust.stats import RequestStats

endpoints, keys, renders = (int(a) for a in sys.argv[1:4])
version = sys.argv[4]
# Every value Locust's rounding can leave between 1 ms and 60 s.
rounded = list(range(1, 100)) + list(range(100, 1000, 10)) + list(range(1000, 10000, 100)) + list(range(10000, 60001, 1000))
if keys > len(rounded):
    sys.exit(f"at most {len(rounded)} distinct keys per endpoint")
stats = RequestStats()
for i in range(endpoints):
    start = 37 * i
    for j in range(keys):
        stats.log_request("GET", "/item/%d" % i, rounded[(start + j) % len(rounded)], 0)


class Runner:
    user_count = 0
    clients = {}
    state = "running"
    stats = stats


body = plugin._metrics(Runner())  # the first render picks the endpoints with series
times, cpu = [], []
for _ in range(renders):
    t0, c0 = time.perf_counter(), time.process_time()
    plugin._metrics(Runner())
    times.append((time.perf_counter() - t0) * 1000)
    cpu.append((time.process_time() - c0) * 1000)
print(f"{version:<8} {endpoints:>9} {keys:>5} {renders:>7} {statistics.median(times):>10.1f} {min(times):>10.1f} {statistics.median(cpu):>14.1f} {len(body.encode()):>9}")
PY
done
