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
endpoint (counters), users, workers by state, the current request rate, and
each endpoint's response-time histogram with fixed bucket bounds, counted
from the merged distribution above, so every figure adds up across workers
by construction.
"""

from locust import events
from locust.runners import STATE_CLEANUP, STATE_RUNNING, STATE_SPAWNING, MasterRunner, WorkerRunner
from locust.user.task import LOCUST_STATE_STOPPING, LOCUST_STATE_WAITING
from locust.user.users import User

# HISTOGRAMS_PATH is the master's route; cmd/loadtest reads it.
HISTOGRAMS_PATH = "/locust-eks/histograms"

# METRICS_PATH is the master's Prometheus route, on its web port.
METRICS_PATH = "/metrics"

# Bucket bounds of the response-time histograms, in seconds. Locust rounds
# response times to 1 ms below 100 ms and to 10 ms below 1 s, so each bound
# holds exactly the requests Locust counted at or below it.
METRIC_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


# How much longer than its stop_timeout a worker stopped (SIGTERM) during a
# test's stop waits for that stop's last report: Runner.stop kills the users
# still running at stop_timeout, and then reports. The pods' grace period
# (components/args.go) leaves room for it.
STOP_REPORT_MARGIN = 2.0

# The states a worker can be in (STATE_* in locust/runners.py).
WORKER_STATES = ("ready", "spawning", "running", "cleanup", "stopping", "stopped", "missing")


def _label(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _metrics(runner):
    stats = runner.stats
    entries = sorted(stats.entries.values(), key=lambda e: (e.name, e.method or ""))
    out = []

    def family(name, kind, help_text):
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")

    def labels(entry):
        return f'method="{_label(entry.method or "")}",name="{_label(entry.name)}"'

    family("locust_requests_total", "counter", "Requests made, per endpoint, as the master merged them from its workers.")
    for e in entries:
        out.append(f"locust_requests_total{{{labels(e)}}} {e.num_requests}")
    family("locust_failures_total", "counter", "Failed requests, per endpoint.")
    for e in entries:
        out.append(f"locust_failures_total{{{labels(e)}}} {e.num_failures}")
    family("locust_response_time_seconds", "histogram", "Response times per endpoint, from the merged distribution.")
    for e in entries:
        times = e.response_times
        for bound in METRIC_BUCKETS:
            count = sum(n for ms, n in times.items() if ms <= bound * 1000)
            out.append(f'locust_response_time_seconds_bucket{{{labels(e)},le="{bound}"}} {count}')
        total = sum(times.values())
        out.append(f'locust_response_time_seconds_bucket{{{labels(e)},le="+Inf"}} {total}')
        out.append(f"locust_response_time_seconds_sum{{{labels(e)}}} {e.total_response_time / 1000}")
        out.append(f"locust_response_time_seconds_count{{{labels(e)}}} {total}")
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
    family("locust_current_requests_per_second", "gauge", "Requests per second over the last seconds, all endpoints.")
    out.append(f"locust_current_requests_per_second {stats.total.current_rps or 0}")
    family("locust_running", "gauge", "1 while a test runs (spawning or running), else 0.")
    out.append(f"locust_running {1 if runner.state in (STATE_RUNNING, STATE_SPAWNING) else 0}")
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
    from flask import Response, jsonify

    def histograms():
        stats = runner.stats
        return jsonify(
            {
                "entries": [_histogram(e) for e in stats.entries.values()],
                "total": _histogram(stats.total),
                "state": runner.state,
            }
        )

    def metrics():
        return Response(_metrics(runner), mimetype="text/plain; version=0.0.4; charset=utf-8")

    # Under --web-base-path (2.32.2 and later) Locust's own routes move
    # there (a Blueprint with that url_prefix, web.py); these follow.
    base = getattr(environment.parsed_options, "web_base_path", "") or ""
    # The same access rule as Locust's own stats routes (its web login).
    web_ui.app.add_url_rule(
        base + HISTOGRAMS_PATH, "locust_eks_histograms", web_ui.auth_required_if_enabled(histograms)
    )
    # Open: Prometheus scrapes without a session; the NetworkPolicy decides
    # who reaches the port.
    web_ui.app.add_url_rule(base + METRICS_PATH, "locust_eks_metrics", metrics)


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
WEB_USERNAME_ENV = "LOCUST_EKS_WEB_USERNAME"
WEB_PASSWORD_ENV = "LOCUST_EKS_WEB_PASSWORD"
# A failed login from an address waits this long times 2 per failure before
# it, up to LOGIN_MAX_DELAY, so guessing is slow.
LOGIN_DELAY = 0.25
LOGIN_MAX_DELAY = 8.0
LOGIN_ERROR = "Wrong username or password"
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
# Locust's routes that change a test's state on GET (web.py: /stop and
# /stats/reset), checked for their origin like every POST.
STATE_CHANGING_GETS = ("/stop", "/stats/reset")


@events.init.add_listener
def _web_login(environment, web_ui=None, **_kwargs):
    if web_ui is None or not getattr(web_ui, "web_login", False):
        return
    import hmac
    import os

    import gevent
    from flask import redirect, request, session, url_for
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
    failures = {}

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
        client = request.remote_addr or ""
        failed = failures.get(client, 0)
        if failed:
            gevent.sleep(min(LOGIN_DELAY * 2 ** (failed - 1), LOGIN_MAX_DELAY))
        # Both compared, in constant time, whatever the first gives: the
        # answer says nothing of which one was wrong.
        user_ok = hmac.compare_digest(fields.get("username", "").encode(), username.encode())
        password_ok = hmac.compare_digest(fields.get("password", "").encode(), password.encode())
        if user_ok and password_ok:
            failures.pop(client, None)
            web_ui.auth_args.pop("error", None)
            session.pop("auth_error", None)
            login_user(_User(username))
            return redirect(page("index"))
        failures[client] = failed + 1
        session["auth_error"] = LOGIN_ERROR
        web_ui.auth_args = {**web_ui.auth_args, "error": LOGIN_ERROR}
        return redirect(page("login"))

    # Locust's login form submits by GET up to 2.31.7 (Auth.tsx), by POST after.
    methods = ["POST"] if os.environ.get(WEB_EXPOSED_ENV) == "1" else ["GET", "POST"]
    web_ui.app.add_url_rule(base + LOGIN_SUBMIT_PATH, "locust_eks_login", login_submit, methods=methods)
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
