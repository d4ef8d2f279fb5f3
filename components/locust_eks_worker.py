"""locust-eks: every request a worker made reaches the master's results,
and the master serves the exact distribution of their response times.

Loaded beside the locustfiles by every LocustCluster pod. It defines no User.

A worker reports its samples to the master every 3 s (WORKER_REPORT_INTERVAL).
Read in Locust's runners.py at 2.12.1, 2.24.0 and 2.46.3, two moments lose
the samples made since the last report:

- The master stops a test (run time over, the web UI's stop, the loadtest
  command). The worker stops its users (Runner.stop, which fires test_stop
  once they have stopped: runners.py@2.12.1:419, @2.24.0:409, @2.46.3:412)
  and at once tells the master it has stopped (client_stopped:
  @2.12.1:1338, @2.24.0:1379, @2.46.3:1416). Its last samples follow up to
  3 s later, when the master already says "stopped" and the results have been
  read.
- Kubernetes stops the worker with SIGTERM (a scale-down, a rollout, a node
  drain). Locust fires `quitting`, whose runner listener tells the master the
  worker quits (@2.12.1:1209-1210, @2.24.0:1243-1244, @2.46.3:1264-1265)
  while its users still run; what they finish during the stop grace is never
  reported.

- A user stops while it waits between tasks. Locust's User.stop kills a
  waiting user's greenlet (users.py@2.12.1:191-192, @2.24.0:203-204,
  @2.46.3:214-215), but gevent throws the kill from a loop callback, after
  other greenlets have run; a user whose wait ended meanwhile has already
  sent its next request, which the target serves and no one records.
  Seen here: 4 runs in 10 lost one or two requests so. Marking the user
  stopping before the kill closes the gap: a user that wakes first leaves at
  the check after its wait (task.py@2.12.1:446-447, @2.24.0:445-446,
  @2.46.3:466-467) without a new request.

So on a worker: when a test stops (test_stop), the report goes out before
client_stopped; the master handles one worker's messages in order, so it has
merged them before it counts that worker stopped. And on `quitting`, the users
stop first (within --stop-timeout, which fires test_stop and so sends the
report), then the runner's own listener says quit; when the master was
already stopping the test (state cleanup), the worker waits for that stop's
report instead.

On the master, GET /locust-eks/histograms answers with every stats entry's
response-time histogram as the master holds it: each worker's
StatsEntry.response_times (response times rounded to Locust's buckets:
bucket_response_time / _log_response_time in stats.py) added into the
master's entry as its reports arrive. Percentiles cannot be averaged across
runs or load generators; histograms can be added, and the percentiles of the
sum are those of the pooled requests. cmd/loadtest saves this with each run.

On the master, GET /metrics answers in Prometheus' text exposition format
(version 0.0.4) with what the master knows: requests and failures per
endpoint (counters), users, workers by state, the current request rate,
each endpoint's response-time histogram with fixed bucket bounds, counted
from the merged distribution above, so every figure adds up across workers
by construction, and each endpoint's and the total's whole-run p50, p95 and
p99 as Locust computes them (the figures of its CSV and of summary.json).
It is served on a port of its own (--locust-eks-metrics-port), never the web
port: the web port is what an exposure forwards, and the metrics, request
names included, are for Prometheus inside the cluster only.
"""

import bisect
import hashlib
import hmac
import ipaddress
import itertools
import logging
import time
from collections import OrderedDict

import gevent
import gevent.lock
from locust import events
from locust.runners import STATE_CLEANUP, STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner
from locust.user.task import LOCUST_STATE_STOPPING, LOCUST_STATE_WAITING
from locust.user.users import User

# HISTOGRAMS_PATH is the master's route; cmd/loadtest reads it.
HISTOGRAMS_PATH = "/locust-eks/histograms"

# METRICS_PATH is the master's Prometheus route, on the metrics port.
METRICS_PATH = "/metrics"

# METRICS_PORT_OPTION names the port the master serves METRICS_PATH on; 0
# (the default) serves no metrics.
METRICS_PORT_OPTION = "--locust-eks-metrics-port"

# Bucket bounds of the response-time histograms, in seconds. They are exact
# with respect to Locust's rounded values: a bound counts the requests whose
# rounded time is at or below it. Locust rounds half to even to 1 ms below
# 100 ms, 10 ms below 1 s, 100 ms below 10 s (stats.py@2.46.3:135-142), so
# le="0.1" also holds requests that took up to 105 ms, and le="10" up to
# 10.5 s. histogram_quantile over them is an estimate; the whole-run
# percentiles (RUN_QUANTILES) are Locust's own figures.
METRIC_BUCKETS = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.75,
    1, 1.5, 2, 2.5, 3, 4, 5, 10, 30, 60,
)

# The quantiles of the whole-run summary: those summary.json carries.
RUN_QUANTILES = (0.5, 0.95, 0.99)

# At most this many endpoints get series of their own, the ones with the
# most requests; the rest are added into one OTHER_NAME row. Locust's own
# /stats/requests stops at 500 entries too (web.py@2.46.3:476), and a
# locustfile without name= makes an entry per distinct URL.
MAX_ENDPOINTS = 500
OTHER_NAME = "other"
# The name Locust gives its total row (StatsEntry "Aggregated", method ""),
# as its CSV does.
AGGREGATED_NAME = "Aggregated"

# How much longer than its stop_timeout a worker stopped (SIGTERM) during a
# test's stop waits for that stop's last report: Runner.stop kills the users
# still running at stop_timeout, and then reports. The pods' grace period
# (components/args.go) leaves room for it.
STOP_REPORT_MARGIN = 2.0

# The states a worker can be in (STATE_* in locust/runners.py).
WORKER_STATES = ("ready", "spawning", "running", "cleanup", "stopping", "stopped", "missing")


def _label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


# The (name, method) of the entries that have series of their own. Once an
# entry has one it keeps it for as long as the master keeps the entry, so
# the other row only ever gains requests: an endpoint moving between its own
# series and the other row would make the other row's counters fall, which
# rate() reads as a counter reset (Prometheus, querying/functions, rate).
_with_series = set()


def _endpoint_rows(stats):
    """The entries that get series: up to MAX_ENDPOINTS, those that had
    one before, then the most requested of the others, and one OTHER_NAME
    row (method "") adding up the rest with Locust's own StatsEntry.extend,
    as the master adds its workers' reports. An entry named like a reserved
    row (OTHER_NAME or AGGREGATED_NAME, method "") goes into the other row,
    so no two series share labels."""
    from locust.stats import StatsEntry

    reserved = {(OTHER_NAME, ""), (AGGREGATED_NAME, "")}
    keyed = {(e.name, e.method or ""): e for e in stats.entries.values()}
    _with_series.intersection_update(keyed)
    ranked = sorted(keyed.items(), key=lambda ke: (-ke[1].num_requests, ke[0][0], ke[0][1]))
    for key, _ in ranked:
        if len(_with_series) >= MAX_ENDPOINTS:
            break
        if key not in reserved:
            _with_series.add(key)
    own = [e for key, e in ranked if key in _with_series]
    rest = [e for key, e in ranked if key not in _with_series]
    rows = sorted(own, key=lambda e: (e.name, e.method or ""))
    if rest:
        other = StatsEntry(stats, OTHER_NAME, "")
        for e in rest:
            other.extend(e)
        rows.append(other)
    return rows


def _response_time_figures(times):
    """An entry's histogram and whole-run figures from its response_times,
    with the keys sorted once: the cumulative count at each METRIC_BUCKETS
    bound (the requests whose rounded time is at or below it), the count of
    requests with a response time, and, as text, the RUN_QUANTILES
    percentiles in seconds as Locust computes them over those requests: what
    cmd/loadtest computes from the histograms (internal/distribution) for
    summary.json; NaN, Prometheus' value for an empty summary, when there
    are none. Summing per bound and calling Locust's percentile per quantile
    rescans (and re-sorts) the keys each time: at 500 endpoints that held a
    scrape on the master's event loop for over 0.1 s (docs/performance.md)."""
    keys = sorted(times)
    # below[i]: the requests among the i smallest keys.
    below = list(itertools.accumulate((times[k] for k in keys), initial=0))
    counted = below[-1]
    buckets = [below[bisect.bisect_right(keys, bound * 1000)] for bound in METRIC_BUCKETS]
    if counted == 0:
        return buckets, counted, ["NaN"] * len(RUN_QUANTILES)
    # Locust's calculate_response_time_percentile (stats.py@2.12.1:152-170,
    # @2.24.0:150-168, @2.46.3:161-179) walks the keys from the largest and
    # returns the first at which counted - processed <= int(counted * q);
    # counted - processed there is the count below that key, so it is the
    # largest key with below[i] <= int(counted * q). below[0] is 0, so one
    # always is.
    quantiles = []
    for q in RUN_QUANTILES:
        i = bisect.bisect_right(below, int(counted * q), 0, len(keys)) - 1
        quantiles.append(repr(keys[i] / 1000))
    return buckets, counted, quantiles


def _metrics(runner):
    stats = runner.stats
    entries = _endpoint_rows(stats)
    running = runner.state in (STATE_RUNNING, STATE_SPAWNING)
    out = []

    def family(name, kind, help_text):
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")

    def labels(entry):
        return f'method="{_label(entry.method or "")}",name="{_label(entry.name)}"'

    family("locust_requests_total", "counter", f"Requests made, per endpoint, as the master merged them from its workers; past {MAX_ENDPOINTS} endpoints the rest add up in name=\"{OTHER_NAME}\".")
    for e in entries:
        out.append(f"locust_requests_total{{{labels(e)}}} {e.num_requests}")
    family("locust_failures_total", "counter", "Failed requests, per endpoint.")
    for e in entries:
        out.append(f"locust_failures_total{{{labels(e)}}} {e.num_failures}")
    family("locust_response_time_seconds", "histogram", "Response times per endpoint, from the merged distribution; quantiles from these buckets are estimates.")
    figures = [_response_time_figures(e.response_times) for e in entries + [stats.total]]
    for e, (buckets, counted, _) in zip(entries, figures):
        lbl = labels(e)
        for bound, count in zip(METRIC_BUCKETS, buckets):
            out.append(f'locust_response_time_seconds_bucket{{{lbl},le="{bound}"}} {count}')
        out.append(f'locust_response_time_seconds_bucket{{{lbl},le="+Inf"}} {counted}')
        out.append(f"locust_response_time_seconds_sum{{{lbl}}} {e.total_response_time / 1000}")
        out.append(f"locust_response_time_seconds_count{{{lbl}}} {counted}")
    family("locust_run_response_time_seconds", "summary", f"Response times over the whole test, per endpoint and name=\"{AGGREGATED_NAME}\": Locust's own percentiles over the requests with a response time, as summary.json and Locust's CSV from 2.46.2.")
    for e, (_, counted, quantiles) in zip(entries + [stats.total], figures):
        lbl = labels(e) if e is not stats.total else f'method="",name="{AGGREGATED_NAME}"'
        for q, value in zip(RUN_QUANTILES, quantiles):
            out.append(f'locust_run_response_time_seconds{{{lbl},quantile="{q}"}} {value}')
        out.append(f"locust_run_response_time_seconds_sum{{{lbl}}} {e.total_response_time / 1000}")
        out.append(f"locust_run_response_time_seconds_count{{{lbl}}} {counted}")
    family("locust_users", "gauge", "Users running on all workers.")
    out.append(f"locust_users {runner.user_count}")
    family("locust_workers", "gauge", "Workers connected to the master, by state.")
    # Every state, 0 included: the master forgets stopped workers until they
    # say ready again, and a series that vanishes breaks dashboards.
    workers = dict.fromkeys(WORKER_STATES, 0)
    for w in runner.clients.values():
        workers[w.state] = workers.get(w.state, 0) + 1
    for state in sorted(workers):
        out.append(f'locust_workers{{state="{_label(state)}"}} {workers[state]}')
    # Locust's current_rps averages a window anchored on the last request
    # (stats.py@2.46.3:452-460), which stops moving when the test stops: it
    # would show the last rate forever.
    family("locust_current_requests_per_second", "gauge", "Requests per second over the last seconds, all endpoints; 0 unless a test runs.")
    out.append(f"locust_current_requests_per_second {(stats.total.current_rps or 0) if running else 0}")
    family("locust_running", "gauge", "1 while a test runs (spawning or running), else 0.")
    out.append(f"locust_running {1 if running else 0}")
    return "\n".join(out) + "\n"


def _histogram(entry):
    # Keys are whole ms. Locust's own are, unless a locustfile replaces
    # bucket_response_time (stats.py@2.46.3:124-142) with bins like 0.5 ms:
    # those add into the whole ms below, so every count is kept, and the
    # percentiles are int() of Locust's, which is what its CSV prints
    # (_percentile_fields, stats.py@2.46.3:1033-1039).
    times = {}
    for k, v in entry.response_times.items():
        key = str(int(k))
        times[key] = times.get(key, 0) + v
    return {
        "name": entry.name,
        "method": entry.method or "",
        "num_requests": entry.num_requests,
        "num_failures": entry.num_failures,
        # Requests without a response time are counted but in no bucket.
        "num_none_requests": getattr(entry, "num_none_requests", 0),
        "response_times": times,
    }


@events.init.add_listener
def _serve_histograms(environment, web_ui=None, **_kwargs):
    runner = environment.runner
    if web_ui is None or not isinstance(runner, MasterRunner):
        return
    from flask import jsonify

    def histograms():
        stats = runner.stats
        return jsonify(
            {
                "entries": [_histogram(e) for e in stats.entries.values()],
                "total": _histogram(stats.total),
                "state": runner.state,
            }
        )

    # Under --web-base-path (2.32.2 and later) Locust's own routes move
    # there (a Blueprint with that url_prefix, web.py); this follows.
    base = getattr(environment.parsed_options, "web_base_path", "") or ""
    # The same access rule as Locust's own stats routes (its web login).
    web_ui.app.add_url_rule(
        base + HISTOGRAMS_PATH, "locust_eks_histograms", web_ui.auth_required_if_enabled(histograms)
    )


@events.init_command_line_parser.add_listener
def _metrics_port_option(parser, **_kwargs):
    parser.add_argument(
        METRICS_PORT_OPTION,
        type=int,
        default=0,
        include_in_web_ui=False,
        help="locust-eks: the master serves Prometheus metrics on this port, apart from the web UI (0: none)",
    )


@events.init.add_listener
def _serve_metrics(environment, **_kwargs):
    """The master's /metrics, on a server of its own: what an exposure
    forwards is the web port only, so request names, counts and the test's
    state never leave the cluster through it, and Prometheus scrapes
    without a session. Bound to the web UI's host (--web-host, "*" meaning
    every address, as Locust's main.py reads it) and, when Locust serves
    TLS itself (--tls-cert), with the same certificate, as Locust's own
    server does (web.py@2.46.3:636-650, pywsgi.WSGIServer)."""
    runner = environment.runner
    options = environment.parsed_options
    port = getattr(options, METRICS_PORT_OPTION[2:].replace("-", "_"), 0) if options else 0
    if not port or not isinstance(runner, MasterRunner):
        return
    from gevent import pywsgi

    def app(env, start_response):
        if env.get("PATH_INFO") != METRICS_PATH:
            start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8")])
            return [f"Only {METRICS_PATH} is served here.\n".encode()]
        body = _metrics(runner).encode()
        start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"), ("Content-Length", str(len(body)))])
        return [body]

    host = "" if options.web_host == "*" else options.web_host
    # Plain HTTP even when Locust serves its UI with its own certificate:
    # the port never leaves the cluster (no exposure forwards it, the
    # NetworkPolicy admits only the Locust namespace and metricsNamespaces),
    # and a scraper could not verify that certificate.
    server = pywsgi.WSGIServer((host, port), app, log=None)
    # Bound now: a port already taken stops the master at its start.
    server.start()


@events.init.add_listener
def _report_every_sample(environment, **_kwargs):
    runner = environment.runner
    if not isinstance(runner, WorkerRunner) or not hasattr(runner, "_send_stats"):
        return

    from gevent.event import Event

    reported = Event()

    def report_now(**_kw):
        runner._send_stats()
        reported.set()

    def stop_users_first(**_kw):
        if runner.state in (STATE_RUNNING, STATE_SPAWNING):
            runner.stop()  # fires test_stop: the last report goes out
        elif runner.state == STATE_CLEANUP:
            # The master is stopping the test: the "stop" message's
            # greenlet waits in Runner.stop for the users, up to
            # stop_timeout, then fires test_stop (runners.py@2.12.1:398-419,
            # @2.24.0:388-409, @2.46.3:391-412). Quitting now would say quit
            # before that report, and the master would drop the worker,
            # then say stopped without it or discard it (2.46: "Discarded
            # report from unrecognized worker"). So wait for the report.
            # No yield since the state was read: test_stop has not fired
            # for this stop, and clearing cannot lose it.
            reported.clear()
            reported.wait(timeout=(environment.stop_timeout or 0) + STOP_REPORT_MARGIN)

    environment.events.test_stop.add_listener(report_now)
    # The quitting event runs its listeners in reverse order: added after the
    # runner's own (which sends "quit"), this one runs before it.
    environment.events.quitting.add_listener(stop_users_first)


def _stop_waiting_users_for_good():
    locust_stop = User.stop
    if getattr(locust_stop, "locust_eks", False):
        return

    def stop(self, force=False):
        if not force and self._state == LOCUST_STATE_WAITING:
            # Before the kill, which lands later: a user that wakes first
            # sees this and leaves before its next request.
            self._state = LOCUST_STATE_STOPPING
            self._group.killone(self._greenlet)
            return True
        return locust_stop(self, force)

    stop.locust_eks = True
    User.stop = stop


_stop_waiting_users_for_good()


# The web login (the stack's webLogin). Locust's --web-login (2.21 and
# later) puts every route of the web UI behind flask_login but leaves the
# login itself to user code: a user_loader, a SECRET_KEY for the session
# cookie, and a route the login page's form posts to, named in
# web_ui.auth_args["username_password_callback"] (web.py@2.24.0:136-139,
# 518-531, 561-577; @2.46.3:172-175, 569-580, 642-660). This is that code,
# with the credentials from the master's environment, which the stack fills
# from a Kubernetes Secret. The form submits by GET at 2.24 and by POST at
# 2.46 (the login page's own code; examples/web_ui_auth*.py at each tag);
# 2.24 shows auth_args["error"], 2.46 the session's "auth_error".
LOGIN_SUBMIT_PATH = "/locust-eks/login"
# Each wrong login is logged with its address and how many in a row came
# from it (at most 2 a second: LOGIN_INTERVAL), for whoever reads the
# master's log; the name tried is not, as it may be a mistyped password.
_log = logging.getLogger("locust_eks.login")
WEB_USERNAME_ENV = "LOCUST_EKS_WEB_USERNAME"
WEB_PASSWORD_ENV = "LOCUST_EKS_WEB_PASSWORD"
# A login from an address waits this long times 2 per failure before it
# (none after no failure), up to LOGIN_MAX_DELAY, so guessing is slow: one
# address gets about 10 000 guesses a day once at the cap.
LOGIN_DELAY = 0.25
LOGIN_MAX_DELAY = 8.0
# Attempts from one address that may be under way at once (queued behind
# its delay); more are answered 429 unchecked. While other addresses are
# quiet the last of 4 waits about 4 x 8 s, under the 60 s a proxy gives an
# answer (ingress-nginx's proxy-read-timeout), where everyone behind it
# shares one address.
LOGIN_PER_ADDRESS = 4
# All addresses together: attempts are checked at least LOGIN_INTERVAL
# apart, 2 a second, so a botnet's thousands of addresses guess no faster
# than 172 800 a day, about 6 days for a list of a million common passwords,
# against the 12-character floor (stackconfig). A team logging in by hand
# makes a few attempts a minute and never meets it.
LOGIN_INTERVAL = 0.5
# Attempts under way from all addresses together; more are answered 429
# unchecked, so one that is admitted waits at most 15 x LOGIN_INTERVAL
# (7.5 s) for its turn, plus its own address's delay: a right login during
# or after a burst is answered in bounded time.
LOGIN_IN_FLIGHT = 16
# Addresses whose failures are remembered; past it the least recently seen
# idle one is forgotten (its next attempt waits nothing), so the table holds
# at most LOGIN_ADDRESSES + LOGIN_IN_FLIGHT (those with attempts under way)
# whatever number of addresses guess, a few MB. The global bound still holds.
LOGIN_ADDRESSES = 4096
LOGIN_ERROR = "Wrong username or password"
LOGIN_BUSY = "Too many login attempts under way; try again in a few seconds.\n"
# The session cookie's own name: on a host shared with other apps, Flask's
# default "session" would be sent to them and overwritten by theirs.
SESSION_COOKIE_NAME = "locust_eks_session"
# Set to "1" by the stack when people reach the UI over HTTPS (an NLB or
# Ingress that ends TLS); Locust's own TLS (--tls-cert) is seen here.
WEB_HTTPS_ENV = "LOCUST_EKS_WEB_HTTPS"
# Set to "1" by the stack when the UI is exposed (webExposure): the login
# then takes only POST, so the password never sits in a URL, a browser's
# history or a proxy's access log (the stack exposes only Locust whose login
# form posts).
WEB_EXPOSED_ENV = "LOCUST_EKS_WEB_EXPOSED"
# Set to "1" by the stack when the UI is reached through an Ingress: the
# master then sees the controller's address (or the ALB's) for everyone,
# and takes each client's from the X-Forwarded-For entry that proxy wrote.
WEB_BEHIND_PROXY_ENV = "LOCUST_EKS_WEB_BEHIND_PROXY"
# Locust's routes that change a test's state on GET (web.py: /stop and
# /stats/reset), checked for their origin like every POST.
STATE_CHANGING_GETS = ("/stop", "/stats/reset")


@events.init.add_listener
def _web_login(environment, web_ui=None, **_kwargs):
    if web_ui is None or not getattr(web_ui, "web_login", False):
        return
    import os

    from flask import Response, redirect, request, session, url_for
    from flask_login import UserMixin, login_user

    username = os.environ.get(WEB_USERNAME_ENV, "")
    password = os.environ.get(WEB_PASSWORD_ENV, "")
    if not username or not password:
        raise RuntimeError(f"--web-login needs {WEB_USERNAME_ENV} and {WEB_PASSWORD_ENV} (the stack's webUsername and webPassword)")

    class _User(UserMixin):
        def __init__(self, name):
            self.id = name

    web_ui.login_manager.user_loader(lambda name: _User(name) if name == username else None)
    # Sessions end when the master restarts: no key to keep or leak.
    web_ui.app.config["SECRET_KEY"] = os.urandom(32)
    base = getattr(environment.parsed_options, "web_base_path", "") or ""
    _session_cookie(web_ui.app.config, base, os.environ.get(WEB_HTTPS_ENV) == "1" or bool(getattr(environment.parsed_options, "tls_cert", "")))
    web_ui.app.before_request(_same_origin_only(base))
    web_ui.auth_args = {"username_password_callback": base + LOGIN_SUBMIT_PATH}
    throttle = _LoginThrottle(gevent.sleep, time.monotonic)
    behind_proxy = os.environ.get(WEB_BEHIND_PROXY_ENV) == "1"
    username_digest, password_digest = _digest(username), _digest(password)

    def page(name):
        # Locust's routes sit in the "locust" blueprint from 2.3x.
        for endpoint in ("locust." + name, name):
            try:
                return url_for(endpoint)
            except Exception:
                pass
        return base + "/"

    def login_submit():
        fields = request.form if request.method == "POST" else request.args
        client = _client_address(request.remote_addr or "", request.headers.get("X-Forwarded-For", ""), behind_proxy)

        def right():
            # Both compared, whatever the first gives, as digests of equal
            # length: the answer and its time say nothing of which one was
            # wrong, nor of either one's length.
            user_ok = hmac.compare_digest(_digest(fields.get("username", "")), username_digest)
            password_ok = hmac.compare_digest(_digest(fields.get("password", "")), password_digest)
            return user_ok and password_ok

        outcome = throttle.attempt(client, right)
        if outcome is None:
            return Response(LOGIN_BUSY, status=429, mimetype="text/plain", headers={"Retry-After": str(int(LOGIN_MAX_DELAY))})
        ok, in_a_row = outcome
        if ok:
            session.pop("auth_error", None)
            login_user(_User(username))
            return redirect(page("index"))
        _log.warning("wrong login from %s, %d in a row from it", client, in_a_row)
        session["auth_error"] = LOGIN_ERROR
        return redirect(page("login"))

    # Locust's login form submits by GET up to 2.31.7 (Auth.tsx), by POST after.
    methods = ["POST"] if os.environ.get(WEB_EXPOSED_ENV) == "1" else ["GET", "POST"]
    web_ui.app.add_url_rule(base + LOGIN_SUBMIT_PATH, "locust_eks_login", login_submit, methods=methods)
    _login_error_per_session(web_ui)
    _guard_update_user(web_ui)


def _guard_update_user(web_ui):
    """Puts POST /user behind the login where Locust left it open: up to
    2.37.1 it has no auth_required_if_enabled (web.py@2.24.0:533-534,
    @2.37.1:566-567) and sets any attribute of the master's User classes.
    Wrapping an already guarded view again only checks the session twice."""
    for endpoint in ("locust.update_user", "update_user"):
        view = web_ui.app.view_functions.get(endpoint)
        if view is not None and not getattr(view, "locust_eks_guarded", False):
            guarded = web_ui.auth_required_if_enabled(view)
            guarded.locust_eks_guarded = True
            web_ui.app.view_functions[endpoint] = guarded


def _digest(text):
    """SHA-256 of a credential: hmac.compare_digest on the raw values takes
    a time that may tell their lengths apart (Python's hmac docs); digests
    are all 32 bytes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _login_error_per_session(web_ui):
    """Shows the login page's "Wrong username or password" only to the
    session whose login failed. Up to 2.2x Locust's login page renders
    web_ui.auth_args as they stand (web.py@2.24.0:518-531), one dict for
    every visitor; from 2.3x it puts the session's auth_error there itself
    (@2.46.3:574). Setting auth_args from the session just before the page
    renders holds per request: nothing between the two yields to another
    greenlet."""
    from flask import session

    for endpoint in ("locust.login", "login"):
        view = web_ui.app.view_functions.get(endpoint)
        if view is None:
            continue

        def login_page(*args, _view=view, **kwargs):
            auth_args = {k: v for k, v in web_ui.auth_args.items() if k != "error"}
            if session.get("auth_error"):
                auth_args["error"] = session["auth_error"]
            web_ui.auth_args = auth_args
            return _view(*args, **kwargs)

        web_ui.app.view_functions[endpoint] = login_page


class _LoginAddress:
    """One client address's login attempts: failures in a row (raised as an
    attempt arrives, cleared by a right one), attempts under way, and the
    lock that makes them take turns."""

    def __init__(self):
        self.failures = 0
        self.in_flight = 0
        self.lock = gevent.lock.Semaphore()


# Where a port-forward's connections come from: the kubelet's runtime dials
# localhost inside the pod's network namespace (containerd,
# sandbox_portforward_linux.go), so 127.0.0.1, or ::1 where localhost is.
PORT_FORWARD_ADDRESSES = ("127.0.0.1", "::1", "::ffff:127.0.0.1")


def _from_port_forward(address):
    return address in PORT_FORWARD_ADDRESSES


def _client_address(remote, forwarded_for, behind_proxy):
    """The address the login's slow-down counts failures for. Behind an
    Ingress it is the last X-Forwarded-For entry: the address the proxy
    itself saw, which it appends (ALB: "X-Forwarded-For" in the ALB user
    guide, HTTP headers; ingress-nginx: $full_x_forwarded_for ends with
    $realip_remote_addr, or the header is $remote_addr alone). Entries
    before it come from the client and are not trusted. The NetworkPolicy
    lets only the proxy (and the Locust namespace) reach the web port. A
    connection from loopback is the port-forward, whose header is never
    read."""
    if behind_proxy and forwarded_for and not _from_port_forward(remote):
        last = forwarded_for.rsplit(",", 1)[-1].strip()
        try:
            return str(ipaddress.ip_address(last))
        except ValueError:
            pass
    return remote


class _LoginThrottle:
    """The login's slow-down, whatever the concurrency. Locust's server is a
    pywsgi.WSGIServer without spawn (web.py@2.24.0:546-552,
    @2.46.3:617-632), so gevent runs each connection in a greenlet of its
    own with "no artificial limit on the number of concurrent requests"
    (gevent baseserver.py, BaseServer): a count read before a sleep and
    written after it let N guesses sent at once all wait one delay. Here an
    attempt raises its address's count as it arrives, takes its turn behind
    that address's earlier attempts (a lock per address), sleeps its delay
    holding the lock, then waits for the next global turn (LOGIN_INTERVAL
    apart for all addresses) before check() runs. Beyond LOGIN_PER_ADDRESS
    or LOGIN_IN_FLIGHT attempts under way, an attempt is refused unchecked
    and uncounted. Loopback (the port-forward, which takes the
    pods/portforward permission) has a budget of its own: it neither waits
    for the global turn nor counts against LOGIN_IN_FLIGHT, so a flood from
    outside never keeps cmd/loadtest or a port-forwarded browser out."""

    def __init__(self, sleep, clock):
        self._sleep = sleep
        self._clock = clock
        self._addresses = OrderedDict()  # least recently seen first
        self._in_flight = 0
        self._next_turn = 0.0

    def attempt(self, address, check):
        """(check(), failures in a row from address counting this attempt)
        once the slow-down lets the attempt be checked; None when too many
        attempts are under way."""
        entry = self._addresses.get(address)
        shared = not _from_port_forward(address)
        if (shared and self._in_flight >= LOGIN_IN_FLIGHT) or (entry is not None and entry.in_flight >= LOGIN_PER_ADDRESS):
            return None
        if entry is None:
            self._forget_idle()
            entry = self._addresses[address] = _LoginAddress()
        self._addresses.move_to_end(address)
        entry.failures += 1
        in_a_row = entry.failures
        entry.in_flight += 1
        self._in_flight += shared
        try:
            with entry.lock:
                if in_a_row > 1:
                    self._sleep(min(LOGIN_DELAY * 2 ** (in_a_row - 2), LOGIN_MAX_DELAY))
                if shared:
                    self._take_turn()
                ok = check()
        finally:
            entry.in_flight -= 1
            self._in_flight -= shared
        if ok:
            entry.failures = 0
            if not entry.in_flight:
                del self._addresses[address]
        return ok, in_a_row

    def _take_turn(self):
        now = self._clock()
        turn = max(now, self._next_turn)
        self._next_turn = turn + LOGIN_INTERVAL
        if turn > now:
            self._sleep(turn - now)

    def _forget_idle(self):
        """Makes room for one more address by forgetting the least recently
        seen addresses with nothing under way: among the first excess +
        LOGIN_IN_FLIGHT entries at most LOGIN_IN_FLIGHT are busy."""
        excess = len(self._addresses) + 1 - LOGIN_ADDRESSES
        if excess <= 0:
            return
        head = itertools.islice(self._addresses.items(), excess + LOGIN_IN_FLIGHT)
        idle = [address for address, entry in head if not entry.in_flight]
        for address in idle[:excess]:
            del self._addresses[address]


def _session_cookie(config, base, https):
    """Flask's session cookie settings (Flask's defaults: named "session",
    Path=/, neither SameSite nor Secure). Locust has no CSRF token, and
    POST /swarm takes a plain form: SameSite=Strict keeps a browser from
    sending the session with any request another site starts, so a foreign
    page cannot start or stop a test. Secure keeps it off plain HTTP when the
    UI is served over HTTPS (browsers and Go's cookie jar still send it to
    http://127.0.0.1, the port-forward). Under --web-base-path the cookie
    stays there."""
    config["SESSION_COOKIE_NAME"] = SESSION_COOKIE_NAME
    config["SESSION_COOKIE_SAMESITE"] = "Strict"
    config["SESSION_COOKIE_HTTPONLY"] = True
    config["SESSION_COOKIE_SECURE"] = https
    config["SESSION_COOKIE_PATH"] = base or "/"


def _same_origin_only(base):
    """A before_request hook refusing, with 403, a state-changing request a
    browser says another origin started: Sec-Fetch-Site other than
    same-origin or none, or, from a browser that does not send it, an Origin
    (else Referer) whose host is not the one asked. SameSite=Strict already withholds the session cross-site;
    this also covers other origins of the same site (a sibling subdomain).
    Requests without these headers (the loadtest command, curl) pass: they
    carry no browser's ambient cookie."""
    from urllib.parse import urlsplit

    from flask import Response, request

    # A response, not abort(403): Locust 2.2x's error handler turns any
    # raised HTTP error into a 500.
    def refuse():
        return Response("Refused: a request started by another origin may not change a test.\n", status=403, mimetype="text/plain")

    def check():
        path = request.path[len(base) :] if base and request.path.startswith(base) else request.path
        if request.method in ("GET", "HEAD", "OPTIONS") and path not in STATE_CHANGING_GETS:
            return None
        site = request.headers.get("Sec-Fetch-Site")
        if site is not None:
            # The browser's own word decides. Origin is no help beside it: a
            # form posted under a no-referrer policy sends "Origin: null"
            # even to its own origin (Fetch standard, serializing a
            # request origin), and Locust's login is such a form.
            return None if site in ("same-origin", "none") else refuse()
        origin = request.headers.get("Origin") or request.headers.get("Referer")
        if origin is None:
            return None
        hosts = {request.host.lower()}
        forwarded = request.headers.get("X-Forwarded-Host")
        if forwarded:
            hosts.add(forwarded.split(",")[0].strip().lower())
        if urlsplit(origin).netloc.lower() not in hosts:
            return refuse()
        return None

    return check
