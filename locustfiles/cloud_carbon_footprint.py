"""Cloud Carbon Footprint: one dashboard visit, as the CCF client makes it.

Run against the CCF front end that serves the client and proxies /api to the
API (docker/nginx.conf), for example http://ccf.carbon.svc:8080. Each
iteration asks what the client's dashboard asks on load:

- GET /                                the client's page
- GET /api/regions/emissions-factors   (EmissionFactorServiceHook.ts)
- GET /api/footprint?start=..&end=..&ignoreCache=false&groupBy=day&limit=50000&skip=N
  paged until an empty page comes back, as FootprintServiceHook.ts does.

The date range is the client's default, the last 12 months up to today (UTC)
(packages/client/src/Config.ts DATE_RANGE, utils/helpers/handleDates.ts).
Set CCF_DATE_RANGE_MONTHS (1-120) to load a different range; a longer range
means bigger estimates and more work for the API.

Checked against cloud-carbon-footprint/cloud-carbon-footprint at b7a049c
(@cloud-carbon-footprint/api 1.9.0, client 4.x): packages/api/src/api.ts
(GET routes only: a POST gets Express's 404), packages/api/src/middleware.ts
and packages/app/src/CreateValidRequest.ts (start and end required, ISO
dates, not in the future, start <= end; groupBy day|week|month|quarter|year;
limit at most 50000).
"""

import datetime
import json
import os
from urllib.parse import urlencode

from locust import FastHttpUser, between, task

# The client's defaults (packages/client/src/Config.ts).
GROUP_BY = "day"
PAGE_LIMIT = 50000
# A runaway server that never returns an empty page must not trap a user.
MAX_PAGES = 20


def date_range_months():
    raw = os.environ.get("CCF_DATE_RANGE_MONTHS", "12")
    try:
        months = int(raw)
    except ValueError:
        raise ValueError(f"CCF_DATE_RANGE_MONTHS must be a whole number from 1 to 120, got {raw!r}")
    if not 1 <= months <= 120:
        raise ValueError(f"CCF_DATE_RANGE_MONTHS must be a whole number from 1 to 120, got {raw!r}")
    return months


def months_before(day, months):
    """The same day of the month, months earlier (clamped to the month's end)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    for d in (day.day, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=d)
        except ValueError:
            continue


MONTHS = date_range_months()


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


class DashboardVisitor(FastHttpUser):
    wait_time = between(1, 3)

    @task
    def visit_dashboard(self):
        self.client.get("/", name="GET /")
        self.client.get(
            "/api/regions/emissions-factors",
            name="GET /api/regions/emissions-factors",
        )
        end = datetime.datetime.now(datetime.timezone.utc).date()
        start = months_before(end, MONTHS)
        skip = 0
        for _ in range(MAX_PAGES):
            query = urlencode(
                {
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "ignoreCache": "false",
                    "groupBy": GROUP_BY,
                    "limit": PAGE_LIMIT,
                    "skip": skip,
                }
            )
            with self.client.get(
                "/api/footprint?" + query,
                name="GET /api/footprint",
                catch_response=True,
            ) as page:
                text = body_text(page)
                if page.status_code != 200:
                    page.failure(f"status {page.status_code}: {text[:200]}")
                    return
                try:
                    estimates = json.loads(text)
                except ValueError:
                    page.failure(f"response is not JSON: {text[:100]!r}")
                    return
                if not isinstance(estimates, list):
                    page.failure("response is not a list of estimates")
                    return
            if not estimates:
                return
            skip += PAGE_LIMIT
