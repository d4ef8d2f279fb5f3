"""Istio Bookinfo: read the product page.

Run against the productpage service, for example
http://productpage.bookinfo.svc:9080. The product page calls the details,
reviews and ratings services, so this one request exercises the whole app.
"""

from locust import FastHttpUser, between, task


class Reader(FastHttpUser):
    wait_time = between(0.5, 1.5)

    @task
    def product_page(self):
        self.client.get("/productpage", name="GET /productpage")
