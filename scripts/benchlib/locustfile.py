"""Simulated minicrm users for scripts/bench_load.py (run by `locust --headless`, never imported
by the app or the tests).

Each user takes the signed-in session of one of the scale accounts, then mixes the pages
bench_pages times, weighted like a working day: lists and records most, the board and the
dashboard now and then, search mostly as the header's as-you-type dropdown (HX-Request). Every
request is made without following redirects: anything but a 200 is a failure, a redirect to the
sign-in page included (its Location is in the failure message).

bench_load.py signs each account in through the real allauth form and finds what its pages
need (company links from the list, owners from the filter, the deep page by following "next")
before the clock starts, and hands that over in the file BENCH_LOAD_SESSIONS. Why not here:
allauth allows 30 sign-ins a minute per IP (config/settings.py) and every user comes from
127.0.0.1, so 50 sign-ins would be refused; and in a first version that did it here, the
sign-ins (PBKDF2) and the 20 list pages per account to reach the deep page took the whole of a
20 s trial run with 10 users on 2 cores, so the run measured its own set-up. Users of the same
account share its session, like browser tabs.

Also from the environment: BENCH_LOAD_WAIT ("min,max" think time in seconds),
BENCH_LOAD_TIMEOUT (seconds per request), BENCH_LOAD_SERVER_TIMING (a file for the figures of
the Server-Timing header) and BENCH_LOAD_DEEP_PAGE (for the deep page's name).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import urllib.parse
from pathlib import Path
from typing import Any

from locust import HttpUser, between, events, task
from locust.exception import StopUser

SESSIONS_FILE = os.environ.get("BENCH_LOAD_SESSIONS", "")
DEEP_PAGE = int(os.environ.get("BENCH_LOAD_DEEP_PAGE", "20"))
WAIT_MIN, WAIT_MAX = (float(v) for v in os.environ.get("BENCH_LOAD_WAIT", "1,3").split(","))
TIMEOUT = float(os.environ.get("BENCH_LOAD_TIMEOUT", "30"))
SERVER_TIMING_FILE = os.environ.get("BENCH_LOAD_SERVER_TIMING", "")

SEARCHES = {
    "exact": "John Smith",
    "prefix": "joh",
    "typos": "Jonh Smiht",
    "typos_common": "mary jonson",
}
APP_DUR = re.compile(r"(?:^|,)\s*app;dur=([0-9.]+)")
DB_DUR = re.compile(r"(?:^|,)\s*db;dur=([0-9.]+)")

# [{"email", "cookies", "companies", "owners", "deep_url"}], one per account, taken in turn.
SESSIONS: list[dict[str, Any]] = (
    json.loads(Path(SESSIONS_FILE).read_text()) if SESSIONS_FILE else []
)
_next_session = itertools.count()
# Server-Timing per request name, written out when the run stops: [app, db] in ms, where app
# is the whole request in Django and db its SQL (config/timing.py).
server_ms: dict[str, list[tuple[float, float]]] = {}


class CrmUser(HttpUser):
    wait_time = between(WAIT_MIN, WAIT_MAX)

    def on_start(self) -> None:
        if not SESSIONS:
            raise StopUser  # bench_load.py always sets them; a bare `locust -f` run does nothing
        self.account = SESSIONS[next(_next_session) % len(SESSIONS)]
        self.client.cookies.update(self.account["cookies"])

    # ------------------------------------------------------------ requests

    def _get(self, url: str, name: str, htmx: bool = False) -> None:
        headers = {"HX-Request": "true"} if htmx else {}
        with self.client.get(
            url,
            name=name,
            headers=headers,
            allow_redirects=False,
            timeout=TIMEOUT,
            catch_response=True,
        ) as resp:
            if resp.status_code == 0:  # no answer at all: timeout, refused, reset
                resp.failure(f"no response: {resp.error!r}")
            elif resp.status_code != 200:
                where = resp.headers.get("Location", "")
                login = " (the sign-in page)" if "/accounts/login" in where else ""
                resp.failure(f"{resp.status_code} {where}{login}".strip())
            else:
                timing = resp.headers.get("Server-Timing", "")
                app, db = APP_DUR.search(timing), DB_DUR.search(timing)
                if app:
                    sql = float(db.group(1)) if db else 0.0
                    server_ms.setdefault(name, []).append((float(app.group(1)), sql))

    def _search(self, label: str, htmx: bool) -> None:
        query = urllib.parse.urlencode({"q": SEARCHES[label]})
        self._get(f"/search/?{query}", f"search.{label}{'.hx' if htmx else ''}", htmx=htmx)

    @task(10)
    def contacts_default(self) -> None:
        self._get("/contacts/", "contacts.default")

    @task(4)
    def contacts_owner(self) -> None:
        owner = random.choice(self.account["owners"]) if self.account["owners"] else "me"
        self._get(f"/contacts/?owner={owner}", "contacts.owner")

    @task(3)
    def contacts_cf_segment(self) -> None:
        self._get("/contacts/?cf_segment=SMB", "contacts.cf_segment")

    @task(2)
    def contacts_deep(self) -> None:
        self._get(self.account["deep_url"], f"contacts.page{DEEP_PAGE}")

    @task(8)
    def company_detail(self) -> None:
        if self.account["companies"]:
            self._get(random.choice(self.account["companies"]), "company.detail")

    @task(4)
    def deals_board(self) -> None:
        self._get("/deals/board/", "deals.board")

    @task(5)
    def dashboard(self) -> None:
        self._get("/", "dashboard")

    @task(4)
    def search_dropdown(self) -> None:
        # As-you-type: a prefix first, then the whole name, sometimes mistyped.
        typed = ["prefix", "prefix", "exact", "typos", "typos_common"]
        self._search(random.choice(typed), htmx=True)

    @task(2)
    def search_page(self) -> None:
        self._search(random.choice(["prefix", "exact", "typos", "typos_common"]), htmx=False)

    @task(3)
    def leads_new(self) -> None:
        self._get("/leads/?status=new", "leads.status_new")


@events.test_stop.add_listener
def _write_server_timing(environment: Any, **kwargs: Any) -> None:
    if SERVER_TIMING_FILE:
        Path(SERVER_TIMING_FILE).write_text(json.dumps(server_ms))
