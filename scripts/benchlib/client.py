"""The benchmark's HTTP client: signs in through the real form, follows list cursors, and
times pages (p50 / p95 / p99, requests/s) over loopback."""

from __future__ import annotations

import html
import http.cookiejar
import random
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from scripts.benchlib.server import HTTP_TIMEOUT

DEEP_PAGE = 20
# What "first bytes" of a streamed download means: the BOM, the header row and some rows.
FIRST_BYTES = 4096
FIRST_BYTE_PAUSE = 0.5
TARGET_MS = 50.0
SLOW_TARGET_MS = 100.0  # dashboard and board
SLOW_TARGET_PAGES = ("dashboard", "deals.board")


@dataclass
class Page:
    name: str
    url: str
    htmx: bool = False
    # A streamed download (CSV export): time to its first bytes, as the client sees them, then
    # hang up. The server's Server-Timing is sent before the stream's first query runs, so it
    # would understate the wait.
    first_byte: bool = False

    @property
    def target_ms(self) -> float:
        return SLOW_TARGET_MS if self.name in SLOW_TARGET_PAGES else TARGET_MS


@dataclass
class Timing:
    user: str
    page: str
    url: str
    requests: int
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float
    source: str  # "Server-Timing" or "client wall time"
    target_ms: float
    # The client's loopback wall time as well (it includes the client's own CPU share).
    client_p50_ms: float = float("nan")
    client_p95_ms: float = float("nan")
    error_samples: list[str] = field(default_factory=list)

    @property
    def misses(self) -> bool:
        return self.errors > 0 or self.p95_ms >= self.target_ms


class Browser:
    """urllib with a cookie jar (requests is not installed in .venv)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(
        self, path: str, headers: dict[str, str] | None = None, limit: int | None = None
    ) -> tuple[int, Any, str, str]:
        """(status, headers, body, final URL), 4xx/5xx included; with `limit`, only the first
        `limit` bytes of the body are read before the connection is closed."""
        request = urllib.request.Request(self.base + path, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(request, timeout=HTTP_TIMEOUT) as resp:
                body = resp.read(limit) if limit else resp.read()
                return resp.status, resp.headers, body.decode(errors="replace"), resp.url
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")
            return exc.code, exc.headers, body, exc.url

    def login(self, email: str, password: str) -> None:
        status, _, body, _ = self.get("/accounts/login/")
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', body)
        if status != 200 or not match:
            raise RuntimeError(f"no sign-in form at /accounts/login/ (status {status})")
        data = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": match.group(1), "login": email, "password": password}
        ).encode()
        request = urllib.request.Request(  # noqa: S310
            self.base + "/accounts/login/",
            data=data,
            headers={"Referer": self.base + "/accounts/login/"},
        )
        try:
            with self.opener.open(request, timeout=HTTP_TIMEOUT) as resp:
                final = resp.url
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"sign-in as {email} answered {exc.code}") from exc
        if "/accounts/login" in final or not any(c.name == "sessionid" for c in self.jar):
            raise RuntimeError(f"sign-in as {email} failed (ended at {final})")


def deep_page_url(browser: Browser, start: str, hops: int) -> str:
    """Follow the list's rel="next" link `hops` times; the URL of the page reached. A list that
    ends sooner (a small data set) stops at its last page, and says so."""
    url = start
    for hop in range(hops):
        status, _, body, _ = browser.get(url)
        if status != 200:
            raise RuntimeError(f"page {hop + 1} of {start} answered {status}")
        match = re.search(r'<a rel="next" href="([^"]+)"', body)
        if not match:
            print(f"  {start} has {hop + 1} pages: timing its last one as the deep page")
            return url
        href = html.unescape(match.group(1))
        url = urllib.parse.urljoin(start, href)
    return url


def _server_ms(headers: Any) -> float | None:
    """The server's own time from its Server-Timing header: minicrm's `app` metric (the whole
    request, config/timing.py), else the sum of the dur= values; None without the header."""
    value = headers.get("Server-Timing") if headers is not None else None
    if not value:
        return None
    app = re.search(r"(?:^|,)\s*app;dur=([0-9.]+)", value)
    if app:
        return float(app.group(1))
    durations = [float(d) for d in re.findall(r"dur=([0-9.]+)", value)]
    return sum(durations) if durations else None


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Sampler:
    """One page as one user: its requests, timed one at a time, and the Timing they make. The
    time its requests took (warm-up included) is what `budget` bounds."""

    def __init__(self, browser: Browser, user: str, page: Page) -> None:
        self.browser, self.user, self.page = browser, user, page
        self.headers = {"HX-Request": "true"} if page.htmx else {}
        self.limit = FIRST_BYTES if page.first_byte else None
        self.errors: list[str] = []
        self.wall: list[float] = []
        self.server: list[float] = []
        self.spent = 0.0  # seconds in this page's requests, warm-up included
        self.timed = 0.0  # and in its timed ones alone (a download's pause included)

    def _get(self) -> tuple[int | str, Any, str]:
        """(status, headers, final URL); a connection that failed (timeout, reset) is an
        error of this page, not the end of the run: interleaved, every page's results would go
        with it."""
        try:
            status, headers, _, final = self.browser.get(self.page.url, self.headers, self.limit)
        except OSError as exc:  # urllib's URLError, timeouts and resets
            return f"{type(exc).__name__}: {exc}", None, self.page.url
        return status, headers, final

    def warm(self) -> None:
        t0 = time.perf_counter()
        status, _, _ = self._get()
        self.spent += time.perf_counter() - t0
        if status != 200:
            self.errors.append(f"warm-up {status}")

    def over(self, budget: float) -> bool:
        """Out of time: `budget` seconds spent and 5 timed requests made at least."""
        return self.spent > budget and len(self.wall) >= 5

    def sample(self) -> None:
        t0 = time.perf_counter()
        status, resp_headers, final = self._get()
        self.wall.append((time.perf_counter() - t0) * 1000)
        if status != 200 or urllib.parse.urlsplit(final).path.startswith("/accounts/login"):
            self.errors.append(f"{status} {final}")
        if self.page.first_byte:
            # Hanging up leaves the server making the stream's next chunk (5,000 rows, about
            # 150 ms) before it notices; timed back to back, each start would queue behind the
            # last one's leftovers, which no real user produces.
            time.sleep(FIRST_BYTE_PAUSE)
        self.spent += time.perf_counter() - t0
        self.timed += time.perf_counter() - t0
        ms = None if self.page.first_byte else _server_ms(resp_headers)
        if ms is not None:
            self.server.append(ms)

    def timing(self) -> Timing:
        page, done = self.page, len(self.wall)
        if page.first_byte:
            samples, source = self.wall, "client first byte"
        else:
            complete = len(self.server) == done
            samples, source = (
                (self.server, "Server-Timing") if complete else (self.wall, "client wall")
            )
        return Timing(
            user=self.user,
            page=page.name,
            url=page.url,
            requests=done,
            errors=len(self.errors),
            p50_ms=round(percentile(samples, 50), 1),
            p95_ms=round(percentile(samples, 95), 1),
            p99_ms=round(percentile(samples, 99), 1),
            # One client, one request at a time: requests/s of this page back to back.
            rps=round(done / self.timed, 1) if done else 0.0,
            source=source,
            target_ms=page.target_ms,
            client_p50_ms=round(percentile(self.wall, 50), 1),
            client_p95_ms=round(percentile(self.wall, 95), 1),
            error_samples=self.errors[:5],
        )


def measure(browser: Browser, user: str, page: Page, warmup: int, n: int, budget: float) -> Timing:
    """One page's requests back to back: `warmup`, then `n` timed (fewer past `budget`)."""
    sampler = Sampler(browser, user, page)
    for _ in range(warmup):
        if sampler.spent > budget:
            break
        sampler.warm()
    for _ in range(n):
        if sampler.over(budget):
            break  # a very slow page: fewer samples, said in the "requests" column
        sampler.sample()
    return sampler.timing()


def measure_interleaved(samplers: list[Sampler], warmup: int, n: int, budget: float) -> None:
    """Every page's requests in rounds, one request per page and user a round, in an order
    shuffled each round (seeded: runs repeat it): a slow minute of a shared host (its speed
    drifts 20-40% within minutes) then falls on every page alike, where timed back to back it
    fell on the few pages being timed at the time; and no page always follows the same one
    (the one before may leave work behind: a streamed export, a cache the next one misses).
    Warm-up rounds first."""
    for _ in range(warmup):
        for sampler in samplers:
            if sampler.spent <= budget:
                sampler.warm()
    order = random.Random(8)  # an order of requests, not a secret
    for _ in range(n):
        for sampler in order.sample(samplers, len(samplers)):
            if not sampler.over(budget):
                sampler.sample()
