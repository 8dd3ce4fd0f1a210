"""gunicorn for a benchmark: started on a free loopback port, waited for, always stopped; and the
memory its workers hold (VmRSS, sampled from /proc while a load runs)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HTTP_TIMEOUT = 120.0


@dataclass(frozen=True)
class Server:
    """A running gunicorn: its base URL, the master's pid (the workers are its children, which
    bench_load samples for memory) and the log it writes (deleted when it stops)."""

    base: str
    pid: int
    log: Path

    def log_tail(self, chars: int = 3000) -> str:
        return _tail(str(self.log), chars)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(database_url: str, workers: int) -> Iterator[str]:
    """gunicorn on 127.0.0.1:<free port>; yields its base URL; stops it whatever happens."""
    with gunicorn_server(database_url, workers) as server:
        yield server.base


@contextlib.contextmanager
def gunicorn_server(database_url: str, workers: int) -> Iterator[Server]:
    """Like gunicorn(), yielding the whole Server (pid and log too)."""
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
        # As in production (scripts/docker-entrypoint.sh): threaded workers.
        "--worker-class",
        "gthread",
        "--threads",
        "4",
        "--keep-alive",
        "75",
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
        yield Server(base=base, pid=proc.pid, log=Path(log.name))
    finally:
        stop(proc)
        log.close()
        with contextlib.suppress(OSError):
            os.unlink(log.name)
        print("gunicorn stopped", flush=True)


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM (a graceful stop), SIGKILL after 20 s, if it still runs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _tail(path: str, chars: int = 3000) -> str:
    try:
        return Path(path).read_text(errors="replace")[-chars:]
    except OSError:
        return ""


# ---------------------------------------------------------------- memory (Linux /proc)


def child_pids(pid: int) -> list[int]:
    """The live children of `pid` (a gunicorn master's are its workers), from /proc/*/stat:
    /proc/<pid>/task/*/children needs a kernel option that not every machine has."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # The command name in parentheses may hold spaces: fields count from the last ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_kb(pid: int) -> int | None:
    """VmRSS of `pid` in kB (what the issue's 250 MB per worker counts); None once it exited."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None  # a zombie has no VmRSS line


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) `pid` has used so far, from /proc/<pid>/stat; None once gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class ProcessMemory:
    """One process's RSS over the samples, in kB."""

    pid: int
    samples: int = 0
    first_kb: int = 0
    last_kb: int = 0
    max_kb: int = 0

    def add(self, kb: int) -> None:
        if not self.samples:
            self.first_kb = kb
        self.samples += 1
        self.last_kb = kb
        self.max_kb = max(self.max_kb, kb)


@dataclass
class RssSampler:
    """Samples the RSS of every child of `parent` each `interval` seconds in a thread, from
    start() to stop(). A worker gunicorn replaces (timeout, crash) appears under its new pid,
    so a restart shows up as an extra row instead of hiding a peak."""

    parent: int
    interval: float = 1.0
    workers: dict[int, ProcessMemory] = field(default_factory=dict)
    parent_memory: ProcessMemory | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def sample(self) -> None:
        for pid in child_pids(self.parent):
            kb = rss_kb(pid)
            if kb is not None:
                self.workers.setdefault(pid, ProcessMemory(pid)).add(kb)
        kb = rss_kb(self.parent)
        if kb is not None:
            self.parent_memory = self.parent_memory or ProcessMemory(self.parent)
            self.parent_memory.add(kb)

    def _run(self) -> None:
        while True:
            self.sample()
            if self._stop.wait(self.interval):
                return

    def start(self) -> RssSampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.sample()  # the state at the end, even for a run shorter than one interval
