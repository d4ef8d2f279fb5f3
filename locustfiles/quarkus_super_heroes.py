"""Quarkus Super Heroes: draw fighters and a location, then make them fight.

Run against the fights service (rest-fights), for example
http://rest-fights.quarkus-super-heroes.svc. Each iteration is what the UI
(ui-super-heroes fight-service.js) and the project's own Hyperfoil test
(rest-fights/hyperfoil/perform-fight.hf.yml) do for one fight:

- GET /api/fights/randomfighters   a hero and a villain
- GET /api/fights/randomlocation   where they fight (rest-fights 3.8 and later)
- POST /api/fights                 {"hero": .., "villain": .., "location": ..}

A rest-fights older than 3.8 has no location service: there randomlocation
answers 404 (or an error for a fight id it cannot parse). When that is the
answer to a user's first draw, it is not counted as a failure: the user stops
asking and posts fights without a location, which every version accepts. Once
a location has been drawn, an error there is a failure like any other.

Checked against quarkusio/quarkus-super-heroes rest-fights
src/main/resources/openapi/openapi.yml (main, 91d6974) and FightResource.java
(tags 3.8.Final to 3.20.Final): hero and villain are required, each with a
non-empty name and picture and a level; location is optional.
"""

import json

from locust import FastHttpUser, between, task


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


def json_object(response, what):
    """The body as a JSON object, or None with the response marked failed,
    saying why: no body, not JSON, or JSON of another shape."""
    text = body_text(response)
    try:
        body = json.loads(text)
    except ValueError:
        response.failure(f"{what} is not JSON: {text[:100]!r}")
        return None
    if not isinstance(body, dict):
        response.failure(f"{what} is a JSON {type(body).__name__}, not an object")
        return None
    return body


class FightWatcher(FastHttpUser):
    wait_time = between(0.5, 2)

    def on_start(self):
        # None until the first draw tells whether this server has locations.
        self.has_locations = None

    def draw_location(self):
        """The drawn location, or None when this rest-fights has none."""
        with self.client.get(
            "/api/fights/randomlocation",
            name="GET /api/fights/randomlocation",
            catch_response=True,
        ) as draw:
            if draw.status_code == 200:
                self.has_locations = True
                location = json_object(draw, "the location")
                if location is None:
                    return None
                if not location.get("name"):
                    draw.failure("location has no name")
                    return None
                return location
            if self.has_locations is None and draw.status_code in (404, 500):
                # Before 3.8, /api/fights/{id} takes "randomlocation" as a
                # fight id: 404, or 500 where the id is no ObjectId.
                draw.success()
                self.has_locations = False
                return None
            draw.failure(f"status {draw.status_code}")
            return None

    @task
    def fight(self):
        with self.client.get(
            "/api/fights/randomfighters",
            name="GET /api/fights/randomfighters",
            catch_response=True,
        ) as draw:
            if draw.status_code != 200:
                draw.failure(f"status {draw.status_code}")
                return
            fighters = json_object(draw, "the fighters")
            if fighters is None:
                return
            if not fighters.get("hero") or not fighters.get("villain"):
                draw.failure("response lacks a hero or a villain")
                return
        request = {"hero": fighters["hero"], "villain": fighters["villain"]}
        if self.has_locations is not False:
            location = self.draw_location()
            if location is not None:
                request["location"] = location
        with self.client.post(
            "/api/fights",
            json=request,
            name="POST /api/fights",
            catch_response=True,
        ) as fight:
            if fight.status_code != 200:
                fight.failure(f"status {fight.status_code}: {body_text(fight)[:200]}")
                return
            result = json_object(fight, "the fight")
            if result is not None and not result.get("winnerName"):
                fight.failure("fight has no winner")
