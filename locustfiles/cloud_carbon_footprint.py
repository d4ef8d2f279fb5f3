"""Cloud Carbon Footprint: load the dashboard, its emission factors and a footprint.

Run against the CCF client and API, for example http://ccf.carbon.svc:8080.
Each iteration is what one dashboard visit asks of the server.
"""

from locust import FastHttpUser, between, task


class DashboardVisitor(FastHttpUser):
    wait_time = between(1, 3)

    @task
    def visit_dashboard(self):
        self.client.get("/", name="GET /")
        self.client.get(
            "/api/regions/emissions-factors",
            name="GET /api/regions/emissions-factors",
        )
        self.client.post("/api/footprint", name="POST /api/footprint")
