"""Throughput probe for bench/locust-throughput.sh: no think time, one cheap GET."""

from locust import FastHttpUser, constant, task


class Hammer(FastHttpUser):
    wait_time = constant(0)

    @task
    def ok(self):
        self.client.get("/", name="GET /")
