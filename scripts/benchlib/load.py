"""Pieces of the load benchmark (scripts/bench_load.py): the scale accounts and their sessions,
prepared before the clock starts, and the locust process with its CSV results."""

from __future__ import annotations

import argparse
import contextlib
import csv
import re
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scripts.benchlib.client import DEEP_PAGE, Browser, deep_page_url
from scripts.benchlib.server import stop

LOCUSTFILE = Path(__file__).resolve().parent / "locustfile.py"
INSTALL_HINT = "locust is not installed: .venv/bin/pip install -e '.[bench]'"
COMPANY_LINK = re.compile(r'href="(/companies/[0-9a-f-]{36}/)"')
OWNER_SELECT = re.compile(r'<select name="owner".*?</select>', re.S)
UUID_OPTION = re.compile(r'<option value="([0-9a-f-]{36})"')


def scale_accounts() -> tuple[list[str], str]:
    """The scale dataset's reps and managers, a manager after every three or four reps, so
    that even a run with a few users has both roles; and their password."""
    from crm.scale.seed import SALES_REPS, SCALE_DOMAIN, SCALE_PASSWORD, TEAMS

    reps = [f"rep{r + 1:02d}@{SCALE_DOMAIN}" for r in range(SALES_REPS)]
    managers = [f"manager{t + 1:02d}@{SCALE_DOMAIN}" for t in range(len(TEAMS))]
    every = max(1, len(reps) // len(managers))
    ordered: list[str] = []
    for i, rep in enumerate(reps):
        ordered.append(rep)
        if (i + 1) % every == 0 and managers:
            ordered.append(managers.pop(0))
    return ordered + managers, SCALE_PASSWORD


def prepare_sessions(base: str, parallel: int) -> list[dict[str, Any]]:
    """Sign each scale account in through the real form, and find what its simulated users'
    pages need: companies it may see (the list's links), owners it may filter by (the filter's
    options) and its deep contacts page (by following "next"). Before the clock starts: see
    scripts/benchlib/locustfile.py for why. `parallel` accounts at a time (one per worker)."""
    accounts, password = scale_accounts()
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        return list(pool.map(lambda email: _prepare(base, email, password), accounts))


def _prepare(base: str, email: str, password: str) -> dict[str, Any]:
    browser = Browser(base)
    browser.login(email, password)
    companies = sorted(set(COMPANY_LINK.findall(_page(browser, "/companies/"))))
    if not companies:
        raise RuntimeError(f"{email} sees no company on /companies/")
    owner_select = OWNER_SELECT.search(_page(browser, "/contacts/"))
    return {
        "email": email,
        "cookies": {c.name: c.value for c in browser.jar},
        "companies": companies,
        "owners": UUID_OPTION.findall(owner_select.group(0)) if owner_select else [],
        "deep_url": deep_page_url(browser, "/contacts/", DEEP_PAGE - 1),
    }


def _page(browser: Browser, path: str) -> str:
    status, _, body, _ = browser.get(path)
    if status != 200:
        raise RuntimeError(f"{path} answered {status} while preparing the sessions")
    return body


# ---------------------------------------------------------------- locust


def locust_command() -> Path:
    """The venv's locust, or a clear way to get it (it is the optional `bench` extra)."""
    binary = Path(sys.executable).parent / "locust"
    if not binary.exists():
        raise SystemExit(INSTALL_HINT)
    return binary


def locust_argv(
    args: argparse.Namespace, base: str, csv_prefix: Path, stop_timeout: int
) -> list[str]:
    """Headless, for --run-time, statistics to CSV files and only the final summary printed."""
    return [
        str(locust_command()),
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        f"{args.run_time}s",
        "--stop-timeout",
        str(stop_timeout),
        "--host",
        base,
        "--csv",
        str(csv_prefix),
        "--only-summary",
    ]


@contextlib.contextmanager
def running(cmd: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A subprocess in its own session, ended whatever happens to us."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            yield proc
        finally:
            stop(proc)


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def locust_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("locust")
    except PackageNotFoundError:
        return "?"
