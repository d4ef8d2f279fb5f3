"""Istio Bookinfo: read the product page, and see when it is broken.

Run against the productpage service, for example
http://productpage.bookinfo.svc:9080. The product page calls the details,
reviews and ratings services, so this one request exercises the whole app.

productpage answers /productpage with 200 even when a backend fails: the page
then says so in its HTML. A status check alone would count a broken Bookinfo
as a success, so the page's error texts are failures here.

Checked against istio/istio samples/bookinfo/src/productpage/productpage.py
and templates/productpage.html (unchanged from Istio 1.28.0 to 1.31), and the
reviews service's rating error (reviews-application LibertyRestEndpoint.java).
"""

from locust import FastHttpUser, between, task

# What productpage.html renders when a backend fails.
BROKEN_PAGE_TEXTS = (
    "Error fetching product details",  # details down
    "Error fetching product reviews",  # reviews down
    "Ratings service is currently unavailable",  # ratings down, via reviews
)


def body_text(response):
    """The body as text; "" when there is none (status 0: the connection
    failed) or Locust cannot decode it. Inside catch_response, any exception
    but a ResponseError drops the request from the stats (Locust's
    fasthttp.py@2.46.3:738-743), so nothing here may raise: .text is None
    without a body or a detectable charset (fasthttp.py@2.46.3:537-554), and
    str() raises LookupError on a charset it does not know."""
    try:
        return response.text or ""
    except LookupError:
        return ""


class Reader(FastHttpUser):
    wait_time = between(0.5, 1.5)

    @task
    def product_page(self):
        with self.client.get("/productpage", name="GET /productpage", catch_response=True) as page:
            if page.status_code != 200:
                page.failure(f"status {page.status_code}")
                return
            text = body_text(page)
            if not text:
                page.failure("empty page")
                return
            for broken in BROKEN_PAGE_TEXTS:
                if broken in text:
                    page.failure(broken)
                    return
