"""Issue #8's page benchmark: the main pages timed over HTTP on the scale dataset.

    .venv/bin/python scripts/bench_pages.py                        # 1M contacts (~3 min seed)
    .venv/bin/python scripts/bench_pages.py --contacts 20000       # a quick run
    .venv/bin/python scripts/bench_pages.py --requests 50 --json benchmarks/results/pages.json

What it does:
1. a migrated scratch database (config.localdb.scratch_django(): a throwaway embedded
   PostgreSQL without DATABASE_URL, a scratch database on that server with it), filled by
   `manage.py seed_scale --contacts N --seed S` (crm/scale);
2. gunicorn (2 sync workers, config.wsgi) on 127.0.0.1 and a free port, DEBUG=false, waited for
   on /healthz and always stopped at the end;
3. signs in through the real allauth form (/accounts/login/, CSRF token from the form) with
   urllib and a cookie jar, as a sales rep (rep01@) and a manager (manager01@);
4. per page and user: warm-up requests, then N timed requests: p50 / p95 / p99 in ms and
   requests/s. minicrm sends no Server-Timing header, so the time is the client's wall time on
   loopback (the header is used when present); any non-200 answer is counted as an error;
5. query hygiene, in-process with django.test.Client: the SQL queries per page, and
   EXPLAIN (ANALYZE, FORMAT JSON) of each SELECT: sequential scans of tables whose
   pg_class.reltuples is over 10,000, and the slowest query with its plan;
6. prints a table and writes JSON (default benchmarks/results/pages.json).

CSV export is not benchmarked: the app has no CSV export yet.
Targets (issue #8): p95 under 50 ms per page, dashboard and board under 100 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import http.cookiejar
import json
import os
import platform
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_JSON = ROOT / "benchmarks" / "results" / "pages.json"
BIG_TABLE_ROWS = 10_000
DEEP_PAGE = 20
TARGET_MS = 50.0
SLOW_TARGET_MS = 100.0  # dashboard and board
SLOW_TARGET_PAGES = ("dashboard", "deals.board")
HTTP_TIMEOUT = 120.0


@dataclass
class Page:
    name: str
    url: str
    htmx: bool = False

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
    error_samples: list[str] = field(default_factory=list)

    @property
    def misses(self) -> bool:
        return self.errors > 0 or self.p95_ms >= self.target_ms


@dataclass
class Hygiene:
    user: str
    page: str
    status: int
    queries: int
    selects_explained: int
    seq_scans: list[str]
    sql_ms: float
    page_ms: float
    slowest_sql: str
    slowest_ms: float
    slowest_plan: list[str]
    seq_scans_not_run: list[str] = field(default_factory=list)  # planned, loops = 0
    seq_scan_sql: str = ""
    seq_scan_plan: list[str] = field(default_factory=list)

    @property
    def python_ms(self) -> float:
        return round(max(self.page_ms - self.sql_ms, 0.0), 1)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=1_000_000, help="scale dataset size")
    parser.add_argument("--seed", type=int, default=1, help="seed_scale's random seed")
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per page first")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--budget",
        type=float,
        default=60.0,
        help="seconds at most per page and user (warm-up included); at least 5 timed requests",
    )
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write results")
    args = parser.parse_args(argv)
    if args.contacts < 1 or args.requests < 1 or args.warmup < 0 or args.workers < 1:
        parser.error("--contacts, --requests and --workers must be 1 or more, --warmup 0+")
    return args


# ---------------------------------------------------------------- data


def fixtures() -> dict[str, Any]:
    """Who signs in, and the ids the page URLs need, from the freshly seeded data."""
    from django.db.models import Count

    from accounts.models import User
    from crm import scale
    from crm.models import Company

    rep = User.objects.get(email=f"rep01@{scale.SCALE_DOMAIN}")
    manager = User.objects.get(email=f"manager01@{scale.SCALE_DOMAIN}")
    # A company both users may see (rep01 owns it; manager01 leads rep01's team) with the most
    # related rows of its owner's companies: its panels have something to show.
    company = (
        Company.objects.filter(owner=rep)
        .annotate(n=Count("contacts"))
        .order_by("-n", "pk")
        .values("pk", "n")
        .first()
    )
    if company is None:
        raise SystemExit("rep01 owns no company: cannot benchmark company detail")
    return {"rep": rep, "manager": manager, "company": company}


def pages(fx: dict[str, Any]) -> list[Page]:
    rep_id = fx["rep"].pk
    listed = [
        Page("contacts.default", "/contacts/"),
        Page("contacts.owner", f"/contacts/?owner={rep_id}"),
        Page("contacts.cf_segment", "/contacts/?cf_segment=SMB"),
        Page(f"contacts.page{DEEP_PAGE}", "/contacts/"),  # URL found by following "next"
        Page("company.detail", f"/companies/{fx['company']['pk']}/"),
        Page("deals.board", "/deals/board/"),
        Page("dashboard", "/"),
    ]
    for label, q in (("exact", "John Smith"), ("prefix", "joh"), ("typos", "Jonh Smiht")):
        url = "/search/?" + urllib.parse.urlencode({"q": q})
        listed.append(Page(f"search.{label}", url))
        listed.append(Page(f"search.{label}.hx", url, htmx=True))
    listed.append(Page("leads.status_new", "/leads/?status=new"))
    return listed


# ---------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, workers: int) -> Iterator[str]:
    """gunicorn on 127.0.0.1:<free port>; yields its base URL; stops it whatever happens."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MINICRM_ENV": "development",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log", delete=False)  # noqa: SIM115
    cmd = [
        str(Path(sys.executable).parent / "gunicorn"),
        "config.wsgi:application",
        "--workers",
        str(workers),
        "--bind",
        f"127.0.0.1:{port}",
        "--chdir",
        str(ROOT),
        "--timeout",
        "120",
        "--no-control-socket",
    ]
    proc = subprocess.Popen(
        cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited ({proc.returncode}):\n{_tail(log.name)}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as resp:  # noqa: S310
                    if resp.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"/healthz never answered 200:\n{_tail(log.name)}")
            time.sleep(0.25)
        print(f"gunicorn ({workers} workers) is up at {base}", flush=True)
        yield base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        log.close()
        with contextlib.suppress(OSError):
            os.unlink(log.name)
        print("gunicorn stopped", flush=True)


def _tail(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")[-3000:]
    except OSError:
        return ""


# ---------------------------------------------------------------- HTTP client


class Browser:
    """urllib with a cookie jar (requests is not installed in .venv)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any, str, str]:
        """(status, headers, body, final URL), 4xx/5xx included."""
        request = urllib.request.Request(self.base + path, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(request, timeout=HTTP_TIMEOUT) as resp:
                return resp.status, resp.headers, resp.read().decode(errors="replace"), resp.url
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
    """Follow the list's rel="next" link `hops` times; the URL of the page reached."""
    url = start
    for hop in range(hops):
        status, _, body, _ = browser.get(url)
        match = re.search(r'<a rel="next" href="([^"]+)"', body)
        if status != 200 or not match:
            raise RuntimeError(f"no next link on page {hop + 1} of {start} (status {status})")
        href = html.unescape(match.group(1))
        url = urllib.parse.urljoin(start, href)
    return url


def _server_ms(headers: Any) -> float | None:
    """The total of a Server-Timing header's dur= values, if the server sent one."""
    value = headers.get("Server-Timing") if headers is not None else None
    if not value:
        return None
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


def measure(browser: Browser, user: str, page: Page, warmup: int, n: int, budget: float) -> Timing:
    headers = {"HX-Request": "true"} if page.htmx else {}
    errors: list[str] = []
    deadline = time.monotonic() + budget
    for _ in range(warmup):
        if time.monotonic() > deadline:
            break
        status, _, _, _ = browser.get(page.url, headers)
        if status != 200:
            errors.append(f"warm-up {status}")
    wall: list[float] = []
    server: list[float] = []
    started = time.perf_counter()
    for i in range(n):
        if i >= 5 and time.monotonic() > deadline:
            break  # a very slow page: fewer samples, said in the "requests" column
        t0 = time.perf_counter()
        status, resp_headers, _, final = browser.get(page.url, headers)
        wall.append((time.perf_counter() - t0) * 1000)
        if status != 200 or urllib.parse.urlsplit(final).path.startswith("/accounts/login"):
            errors.append(f"{status} {final}")
        ms = _server_ms(resp_headers)
        if ms is not None:
            server.append(ms)
    elapsed = time.perf_counter() - started
    done = len(wall)
    samples, source = (server, "Server-Timing") if len(server) == done else (wall, "client wall")
    return Timing(
        user=user,
        page=page.name,
        url=page.url,
        requests=done,
        errors=len(errors),
        p50_ms=round(percentile(samples, 50), 1),
        p95_ms=round(percentile(samples, 95), 1),
        p99_ms=round(percentile(samples, 99), 1),
        rps=round(done / elapsed, 1),
        source=source,
        target_ms=page.target_ms,
        error_samples=errors[:5],
    )


# ---------------------------------------------------------------- query hygiene


def _walk(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _walk(child)


def _plan_summary(plan: dict[str, Any], limit: int = 12) -> list[str]:
    lines: list[str] = []

    def visit(node: dict[str, Any], depth: int) -> None:
        if len(lines) >= limit:
            return
        label = node["Node Type"]
        if node.get("Relation Name"):
            label += f" on {node['Relation Name']}"
        if node.get("Index Name"):
            label += f" using {node['Index Name']}"
        extra = node.get("Filter") or node.get("Index Cond") or node.get("Hash Cond") or ""
        actual = node.get("Actual Total Time")
        rows = node.get("Actual Rows")
        loops = node.get("Actual Loops")
        text = f"{'  ' * depth}{label} (rows={rows} loops={loops} time={actual} ms)"
        if extra:
            text += f" [{extra[:160]}]"
        lines.append(text)
        for child in node.get("Plans", []):
            visit(child, depth + 1)

    visit(plan, 0)
    return lines


def hygiene(pages_: list[Page], users: dict[str, Any], deep_urls: dict[str, str]) -> list[Hygiene]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    with connection.cursor() as cur:
        cur.execute("SELECT relname, reltuples FROM pg_class WHERE relkind IN ('r', 'p', 'm')")
        reltuples = {name: rows for name, rows in cur.fetchall()}

    results: list[Hygiene] = []
    for user_label, user in users.items():
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(user)
        for page in pages_:
            url = deep_urls[user_label] if page.name.startswith("contacts.page") else page.url
            extra = {"HTTP_HX_REQUEST": "true"} if page.htmx else {}
            client.get(url, **extra)  # warm: templates loaded, caches filled, like the HTTP runs
            t0 = time.perf_counter()
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(url, **extra)
            page_ms = (time.perf_counter() - t0) * 1000
            captured = list(ctx.captured_queries)
            seq: set[str] = set()
            seq_not_run: set[str] = set()
            explained = 0
            sql_ms = 0.0
            slowest: tuple[str, float, list[str]] = ("", 0.0, [])
            seq_query: tuple[str, list[str]] = ("", [])
            for query in captured:
                sql = query["sql"] or ""
                head = sql.lstrip().upper()
                if not (head.startswith("SELECT") or head.startswith("WITH")):
                    continue
                if "SET_CONFIG" in head:
                    continue
                with connection.cursor() as cur:
                    try:
                        cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
                    except Exception as exc:
                        print(f"  EXPLAIN failed on {page.name}: {exc}", flush=True)
                        continue
                    raw = cur.fetchone()[0]
                doc = (json.loads(raw) if isinstance(raw, str) else raw)[0]
                explained += 1
                ms = float(doc.get("Execution Time", 0.0)) + float(doc.get("Planning Time", 0.0))
                sql_ms += ms
                for node in _walk(doc["Plan"]):
                    rel = node.get("Relation Name")
                    if node["Node Type"] == "Seq Scan" and reltuples.get(rel, 0) > BIG_TABLE_ROWS:
                        name = f"{rel} (~{int(reltuples[rel]):,} rows)"
                        if not node.get("Actual Loops"):
                            seq_not_run.add(name)  # an alternative subplan PostgreSQL skipped
                            continue
                        seq.add(name)
                        if not seq_query[0]:
                            seq_query = (sql, _plan_summary(doc["Plan"]))
                if ms > slowest[1]:
                    slowest = (sql, ms, _plan_summary(doc["Plan"]))
            results.append(
                Hygiene(
                    user=user_label,
                    page=page.name,
                    status=response.status_code,
                    queries=len(captured),
                    selects_explained=explained,
                    seq_scans=sorted(seq),
                    seq_scans_not_run=sorted(seq_not_run - seq),
                    sql_ms=round(sql_ms, 1),
                    page_ms=round(page_ms, 1),
                    slowest_sql=slowest[0],
                    slowest_ms=round(slowest[1], 1),
                    slowest_plan=slowest[2],
                    seq_scan_sql=seq_query[0],
                    seq_scan_plan=seq_query[1],
                )
            )
    return results


# ---------------------------------------------------------------- report


def print_report(timings: list[Timing], checks: list[Hygiene], contacts: int) -> None:
    source = {t.source for t in timings}
    print(f"\nPages at {contacts:,} contacts, time = {', '.join(sorted(source))}", end="")
    print(
        " (no Server-Timing header: loopback wall time from the client)"
        if source == {"client wall"}
        else ""
    )
    by_key = {(h.user, h.page): h for h in checks}
    head = (
        f"{'user':8} {'page':22} {'n':>3} {'p50':>8} {'p95':>8} {'p99':>8} "
        f"{'req/s':>7} {'err':>4} "
        f"{'target':>6} {'ok':>4} {'SQL#':>5} {'SQLms':>6} {'Pyms':>6} seq-scanned big tables"
    )
    print(head)
    print("-" * len(head))
    for t in timings:
        h = by_key.get((t.user, t.page))
        seq = ", ".join(h.seq_scans) if h and h.seq_scans else "none"
        print(
            f"{t.user:8} {t.page:22} {t.requests:3d} "
            f"{t.p50_ms:8.1f} {t.p95_ms:8.1f} {t.p99_ms:8.1f} "
            f"{t.rps:7.1f} {t.errors:4d} {t.target_ms:6.0f} {'MISS' if t.misses else 'ok':>4} "
            f"{h.queries if h else '?':>5} {h.sql_ms if h else '?':>6} "
            f"{h.python_ms if h else '?':>6} {seq}"
        )
        for sample in t.error_samples:
            print(f"{'':31}error: {sample}")
    misses = [t for t in timings if t.misses]
    print(f"\n{len(misses)} of {len(timings)} page/user pairs miss their p95 target.")
    print("CSV export: not benchmarked, the app has no CSV export yet.")
    print(
        "SQL# = queries per page, SQLms = their EXPLAIN ANALYZE time, Pyms = the rest of the "
        "in-process page time (Python, templates, driver): one warm in-process request."
    )
    print("seq-scanned = Seq Scan nodes that ran (loops > 0) on tables with reltuples > 10,000.")
    for h in checks:
        if h.seq_scans_not_run:
            print(f"  planned but not run ({h.user} {h.page}): {', '.join(h.seq_scans_not_run)}")
    print("\nWhere the time goes, for pages that miss or seq-scan (slowest query and its plan):")
    missing = {(t.user, t.page) for t in timings if t.misses}
    for h in checks:
        if (h.user, h.page) not in missing and not h.seq_scans:
            continue
        print(
            f"\n[{h.user} {h.page}] status {h.status}, {h.queries} queries, page {h.page_ms} ms "
            f"in-process, SQL {h.sql_ms} ms; slowest {h.slowest_ms} ms:"
        )
        if h.slowest_sql:
            print("  SQL: " + " ".join(h.slowest_sql.split())[:600])
            for line in h.slowest_plan:
                print("    " + line)
        if h.seq_scan_sql and h.seq_scan_sql != h.slowest_sql:
            print("  seq-scanning query: " + " ".join(h.seq_scan_sql.split())[:600])
            for line in h.seq_scan_plan:
                print("    " + line)


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def _on_term(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # `kill`: stop gunicorn and remove the scratch database too

    signal.signal(signal.SIGTERM, _on_term)
    os.environ.setdefault("MINICRM_ENV", "development")
    os.environ["DEBUG"] = "false"  # in-process hygiene runs like the server
    from config.localdb import scratch_django

    with scratch_django():
        from django.core.management import call_command

        from crm import scale

        t0 = time.perf_counter()
        call_command("seed_scale", "--contacts", str(args.contacts), "--seed", str(args.seed))
        seed_seconds = time.perf_counter() - t0
        fx = fixtures()
        print(f"company for detail: {fx['company']['pk']} ({fx['company']['n']} contacts)")
        page_list = pages(fx)
        users = {"rep": fx["rep"], "manager": fx["manager"]}
        timings: list[Timing] = []
        deep_urls: dict[str, str] = {}
        with gunicorn(os.environ["DATABASE_URL"], args.workers) as base:
            for label, user in users.items():
                browser = Browser(base)
                browser.login(user.email, scale.SCALE_PASSWORD)
                print(f"signed in as {user.email}", flush=True)
                deep_urls[label] = deep_page_url(browser, "/contacts/", DEEP_PAGE - 1)
                for page in page_list:
                    url = deep_urls[label] if page.name.startswith("contacts.page") else page.url
                    timing = measure(
                        browser,
                        label,
                        Page(page.name, url, page.htmx),
                        args.warmup,
                        args.requests,
                        args.budget,
                    )
                    timings.append(timing)
                    print(
                        f"  {label:8} {page.name:22} p95 {timing.p95_ms:8.1f} ms "
                        f"errors {timing.errors}",
                        flush=True,
                    )
        print("Query hygiene (in-process) ...", flush=True)
        checks = hygiene(page_list, users, deep_urls)
        print_report(timings, checks, args.contacts)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(
            json.dumps(
                {
                    "contacts": args.contacts,
                    "seed": args.seed,
                    "seed_seconds": round(seed_seconds, 1),
                    "requests": args.requests,
                    "warmup": args.warmup,
                    "workers": args.workers,
                    "machine": machine(),
                    "deep_page_urls": deep_urls,
                    "budget_seconds": args.budget,
                    "time_source": sorted({t.source for t in timings}),
                    "timings": [asdict(t) | {"misses": t.misses} for t in timings],
                    "hygiene": [asdict(h) | {"python_ms": h.python_ms} for h in checks],
                    "skipped": ["CSV export: not implemented in the app yet"],
                },
                indent=2,
            )
            + "\n"
        )
        print(f"\nJSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
