"""Quarkus Super Heroes: draw a hero and a villain, then make them fight.

Run against the fights service (rest-fights), for example
http://rest-fights.quarkus-super-heroes.svc. Each user fetches two random
fighters and posts exactly that pair back as a fight, the way the app's own UI
does; a fight is only attempted when the draw succeeded.
"""

from locust import FastHttpUser, between, task


class FightWatcher(FastHttpUser):
    wait_time = between(0.5, 2)

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
            fighters = draw.json()
            if not fighters.get("hero") or not fighters.get("villain"):
                draw.failure("response lacks a hero or a villain")
                return
        with self.client.post(
            "/api/fights",
            json=fighters,
            name="POST /api/fights",
            catch_response=True,
        ) as fight:
            if fight.status_code != 200:
                fight.failure(f"status {fight.status_code}")
