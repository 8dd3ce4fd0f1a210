"""scripts/bench_load.py without a load run: its arguments and the worker-memory sampler (read
from /proc, tried on this test's own process and a child of it). CI installs no locust."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scripts import bench_load  # noqa: E402 (after the path is set)
from scripts.benchlib import load  # noqa: E402
from scripts.benchlib.server import RssSampler, child_pids, rss_kb  # noqa: E402

pytestmark = pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")


def test_defaults_are_the_issues_load_50_users_for_60_seconds() -> None:
    args = bench_load.parse_args([])
    assert (args.users, args.run_time, args.workers) == (50, 60, 2)
    assert args.contacts == 1_000_000
    assert args.database_url is None
    assert args.rss_limit_mb == 250.0
    assert args.json == ROOT / "benchmarks" / "results" / "load.json"


def test_database_url_and_think_time_are_parsed() -> None:
    args = bench_load.parse_args(
        ["--database-url", "postgres://x@127.0.0.1:1/scale", "--think", "0", "0.5"]
    )
    assert args.database_url == "postgres://x@127.0.0.1:1/scale"
    assert args.think == [0.0, 0.5]


@pytest.mark.parametrize(
    "argv",
    [
        ["--users", "0"],
        ["--users", str(bench_load.MAX_USERS + 1)],
        ["--run-time", "0"],
        ["--run-time", str(bench_load.MAX_RUN_SECONDS + 1)],
        ["--think", "2", "1"],
        ["--spawn-rate", "0"],
    ],
)
def test_unbounded_or_impossible_runs_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        bench_load.parse_args(argv)


def test_accounts_mix_managers_among_reps() -> None:
    accounts, password = load.scale_accounts()
    assert len(accounts) == len(set(accounts)) == 19
    assert sum(a.startswith("manager") for a in accounts) == 4
    assert accounts[3].startswith("manager")  # a run with a few users has both roles
    assert password


def test_rss_of_own_process_is_read_from_proc() -> None:
    kb = rss_kb(os.getpid())
    assert kb is not None and 1_000 < kb < 10_000_000


def test_sampler_finds_each_child_and_keeps_its_peak() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in child_pids(os.getpid())
        sampler = RssSampler(os.getpid(), interval=0.05).start()
        sampler.stop()
        memory = sampler.workers[child.pid]
        assert memory.samples >= 2  # the thread's first sample and the one stop() takes
        assert 0 < memory.first_kb <= memory.max_kb
        assert sampler.parent_memory is not None and sampler.parent_memory.max_kb > 0
    finally:
        child.kill()
        child.wait()
    assert rss_kb(child.pid) is None  # gone: sampled no more


def test_missing_locust_says_how_to_install_it(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    with pytest.raises(SystemExit, match=r"pip install -e '\.\[bench\]'"):
        load.locust_command()
