"""locust-eks: a worker that is stopped reports its last samples first.

Loaded beside the locustfiles by every LocustCluster pod. Kubernetes stops a
worker with SIGTERM (a scale-down, a rollout, a node drain); Locust then
tells the master it quits, and the requests made since the worker's last
report (every 3 s) never reach the master's results. This listener sends that
last report before the quit message. It defines no User, and does nothing on
the master.
"""

from locust import events
from locust.runners import WorkerRunner


@events.init.add_listener
def _report_before_quitting(environment, **_kwargs):
    runner = environment.runner
    if not isinstance(runner, WorkerRunner) or not hasattr(runner, "_send_stats"):
        return

    def send_last_report(**_kw):
        runner._send_stats()

    # The quitting event runs its listeners in reverse order: added after
    # the runner's own (which sends "quit"), this one runs before it.
    environment.events.quitting.add_listener(send_last_report)
