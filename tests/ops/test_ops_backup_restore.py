"""scripts/backup.sh and scripts/restore.sh against the session's PostgreSQL, with the embedded
wheel's pg_dump / pg_restore / psql (PG_BIN), on a database holding demo data and an upload."""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

# A real upload through the model's FileField and the default storage, as the app stores one.
UPLOAD_A_DOCUMENT = """
import os
from django.core.files.base import ContentFile
from accounts.models import User
from crm.factories import DocumentFactory
document = DocumentFactory.build(url="", owner=User.objects.order_by("email").first())
document.file.save("signed contract.pdf", ContentFile(os.urandom(300_000)))  # saves the row
print(document.file.name)
"""


def snapshot(database_url: str) -> dict[str, object]:
    """Everything a restore must bring back: per table its row count and a checksum of every
    row (md5 over the rows' text, sorted), the sequences' positions, and the schema objects
    (indexes, constraints, triggers, functions) by name."""
    with psycopg.connect(database_url) as conn:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"
            )
        ]
        rows = {}
        for table in tables:
            query = sql.SQL(
                "SELECT count(*), md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), ''))"
                " FROM {} AS t"
            ).format(sql.Identifier(table))
            rows[table] = conn.execute(query).fetchone()

        def names(query: str) -> list[tuple]:
            return conn.execute(query).fetchall()

        return {
            "rows": rows,
            "sequences": names(
                "SELECT sequencename, last_value FROM pg_sequences "
                "WHERE schemaname = 'public' ORDER BY 1"
            ),
            "indexes": names(
                "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"
            ),
            "constraints": names(
                "SELECT conname FROM pg_constraint c "
                "JOIN pg_namespace n ON n.oid = c.connamespace "
                "WHERE n.nspname = 'public' ORDER BY 1"
            ),
            "triggers": names("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1"),
            "functions": names(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public' ORDER BY 1"
            ),
            "extensions": names("SELECT extname FROM pg_extension ORDER BY 1"),
        }


def media_files(root: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under root."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


@dataclass
class DemoSite:
    """A migrated database with demo data and an upload, its media, and a backup of both."""

    database_url: str
    media: Path
    snapshot: dict[str, object]
    files: dict[str, str]
    backup: Path


@pytest.fixture(scope="module")
def demo_site(
    ops,
    base_env: Mapping[str, str],
    pg_bin: Path,
    database_factory: Callable[..., str],
    served_app,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[DemoSite]:
    # A copy of the database the entrypoint migrated (see conftest): migrating again is slow.
    tmp = tmp_path_factory.mktemp("demo-site")
    database_url = database_factory(template=ops.database_name(served_app.database_url))
    media = tmp / "media"
    media.mkdir()
    env = base_env | {"DATABASE_URL": database_url, "MEDIA_ROOT": str(media)}
    ops.manage(env, "migrate", "--noinput")  # a no-op, unless the copy missed something
    ops.manage(
        env, "seed_demo", "--companies", "6", "--contacts", "20", "--leads", "6", "--deals", "8",
        "--seed", "7",
    )  # fmt: skip
    upload = ops.run([sys.executable, "manage.py", "shell", "-c", UPLOAD_A_DOCUMENT], env)
    assert upload.returncode == 0, upload.stderr
    assert upload.stdout.strip().splitlines()[-1].startswith("documents/")

    result = ops.run(
        ["bash", str(ops.scripts / "backup.sh"), "--dir", str(tmp / "backups")],
        env | {"PG_BIN": str(pg_bin)},
    )
    assert result.returncode == 0, result.stderr
    yield DemoSite(
        database_url=database_url,
        media=media,
        snapshot=snapshot(database_url),
        files=media_files(media),
        backup=Path(result.stdout.strip()),
    )


def script_env(
    base_env: Mapping[str, str], pg_bin: Path, database_url: str, media: Path
) -> dict[str, str]:
    return base_env | {
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(media),
        "PG_BIN": str(pg_bin),
    }


def test_backup_holds_a_dump_the_media_and_their_checksums(demo_site: DemoSite) -> None:
    assert demo_site.backup.name.startswith("minicrm-")
    assert sorted(p.name for p in demo_site.backup.iterdir()) == [
        "SHA256SUMS",
        "database.dump",
        "media.tar.gz",
    ]
    assert demo_site.backup.stat().st_mode & 0o077 == 0  # customer data: owner only
    # The demo data is really there, so "identical" below compares something.
    counts = {table: count for table, (count, _) in demo_site.snapshot["rows"].items()}
    assert counts["crm_company"] >= 6
    assert counts["crm_contact"] >= 20
    assert counts["crm_document"] >= 1
    assert any(name.startswith("documents/") for name in demo_site.files)


def test_backup_wipe_restore_brings_back_every_row_and_file(
    ops, base_env, pg_bin, demo_site: DemoSite, database_factory, tmp_path: Path
) -> None:
    # A copy of the demo site to destroy: its own database and media directory.
    database_url = database_factory(template=ops.database_name(demo_site.database_url))
    media = tmp_path / "media"
    shutil.copytree(demo_site.media, media)
    env = script_env(base_env, pg_bin, database_url, media)
    backup = ops.run(["bash", str(ops.scripts / "backup.sh"), "--dir", str(tmp_path / "b")], env)
    assert backup.returncode == 0, backup.stderr
    backup_path = backup.stdout.strip()

    # Wipe: the database dropped and created again empty, the uploads deleted.
    name = sql.Identifier(ops.database_name(database_url))
    ops.admin_execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))
    ops.admin_execute(sql.SQL("CREATE DATABASE {}").format(name))
    shutil.rmtree(media)
    assert snapshot(database_url)["rows"] == {}

    result = ops.run(["bash", str(ops.scripts / "restore.sh"), backup_path], env)

    assert result.returncode == 0, result.stderr
    assert snapshot(database_url) == demo_site.snapshot
    assert media_files(media) == demo_site.files


def test_restore_refuses_a_non_empty_database_without_force(
    ops, base_env, pg_bin, demo_site: DemoSite, tmp_path: Path
) -> None:
    empty_media = tmp_path / "media"
    env = script_env(base_env, pg_bin, demo_site.database_url, empty_media)

    result = ops.run(["bash", str(ops.scripts / "restore.sh"), str(demo_site.backup)], env)

    assert result.returncode != 0
    assert "refusing to overwrite it" in result.stderr
    assert "--force" in result.stderr
    assert snapshot(demo_site.database_url) == demo_site.snapshot
    assert not empty_media.exists()  # refused before touching anything


def test_restore_refuses_non_empty_media_without_force(
    ops, base_env, pg_bin, demo_site: DemoSite, database_factory, tmp_path: Path
) -> None:
    database_url = database_factory()
    media = tmp_path / "media"
    media.mkdir()
    (media / "keep-me.txt").write_text("an upload made since")
    env = script_env(base_env, pg_bin, database_url, media)

    result = ops.run(["bash", str(ops.scripts / "restore.sh"), str(demo_site.backup)], env)

    assert result.returncode != 0
    assert "is not empty; refusing to overwrite it" in result.stderr
    assert snapshot(database_url)["rows"] == {}  # the database was not touched either
    assert (media / "keep-me.txt").read_text() == "an upload made since"


def test_restore_with_force_replaces_what_is_there(
    ops, base_env, pg_bin, demo_site: DemoSite, database_factory, tmp_path: Path
) -> None:
    database_url = database_factory(template=ops.database_name(demo_site.database_url))
    media = tmp_path / "media"
    shutil.copytree(demo_site.media, media)
    # Changes made after the backup: rows gone and added, a stray table, a new upload.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM crm_note")
        conn.execute("UPDATE crm_company SET name = 'Renamed'")
        conn.execute("CREATE TABLE stray (id integer)")
    (media / "new-upload.txt").write_text("since the backup")
    env = script_env(base_env, pg_bin, database_url, media)

    result = ops.run(
        ["bash", str(ops.scripts / "restore.sh"), "--force", str(demo_site.backup)], env
    )

    assert result.returncode == 0, result.stderr
    assert snapshot(database_url) == demo_site.snapshot
    assert media_files(media) == demo_site.files


def _pg_restore_that_breaks(directory: Path, pg_bin: Path, how: str) -> Path:
    """PG_BIN with the real psql and a pg_restore whose SQL breaks after the wipe: it dies 400
    lines in, or a statement fails where the data starts (every table created by then)."""
    directory.mkdir()
    (directory / "psql").symlink_to(pg_bin / "psql")
    real = pg_bin / "pg_restore"
    if how == "pg_restore dies midway":
        generate = f'"{real}" "$@" | head -n 400\nexit 1\n'
    else:
        # Before the first COPY: a statement boundary (not inside a function body).
        fail_at_data = '!done && /^COPY / { print "SELECT 1/0;"; done = 1 } { print }'
        generate = f'"{real}" "$@" | awk \'{fail_at_data}\'\n'
    fake = directory / "pg_restore"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        f'case " $* " in *" --list "*) exec "{real}" "$@" ;; esac\n' + generate
    )
    fake.chmod(0o755)
    return directory


@pytest.mark.parametrize("how", ["pg_restore dies midway", "a statement fails midway"])
def test_a_failing_restore_leaves_the_database_as_it_was(
    ops, base_env, pg_bin, demo_site: DemoSite, database_factory, tmp_path: Path, how: str
) -> None:
    """The wipe under --force and the restore are one transaction: when the restore breaks
    partway, the database still holds exactly what it held before."""
    database_url = database_factory(template=ops.database_name(demo_site.database_url))
    env = script_env(base_env, pg_bin, database_url, tmp_path / "media") | {
        "PG_BIN": str(_pg_restore_that_breaks(tmp_path / "bin", pg_bin, how))
    }

    result = ops.run(
        ["bash", str(ops.scripts / "restore.sh"), "--force", str(demo_site.backup)], env
    )

    assert result.returncode != 0
    assert "database restore failed; the database is unchanged" in result.stderr
    if how == "a statement fails midway":
        assert "division by zero" in result.stderr
    assert snapshot(database_url) == demo_site.snapshot
    assert not (tmp_path / "media").exists()  # media is restored only after the database


def test_restore_refuses_a_backup_that_fails_its_checksums(
    ops, base_env, pg_bin, demo_site: DemoSite, tmp_path: Path
) -> None:
    damaged = tmp_path / demo_site.backup.name
    shutil.copytree(demo_site.backup, damaged)
    with (damaged / "media.tar.gz").open("r+b") as fh:
        fh.seek(100)
        fh.write(b"\0\0\0\0")
    env = script_env(base_env, pg_bin, demo_site.database_url, tmp_path / "media")

    # Even with --force: a damaged backup is refused before anything is touched.
    result = ops.run(["bash", str(ops.scripts / "restore.sh"), "--force", str(damaged)], env)

    assert result.returncode != 0
    assert "fails its checksums" in result.stderr
    assert snapshot(demo_site.database_url) == demo_site.snapshot
    assert not (tmp_path / "media").exists()


def _fake_pg_dump_killed_halfway(directory: Path, pg_bin: Path) -> Path:
    """A pg_dump that writes part of its archive, then dies by SIGKILL (OOM killer, reboot)."""
    directory.mkdir()
    fake = directory / "pg_dump"
    fake.write_text(
        "#!/usr/bin/env bash\n"
        'for arg in "$@"; do case "$arg" in --file=*) out="${arg#--file=}" ;; esac; done\n'
        'head -c 65536 /dev/urandom > "$out"\n'
        "kill -KILL $$\n"
    )
    fake.chmod(0o755)
    (directory / "pg_restore").symlink_to(pg_bin / "pg_restore")
    return directory


@pytest.mark.parametrize("failure", ["pg_dump killed", "bad DATABASE_URL", "missing MEDIA_ROOT"])
def test_a_failed_backup_leaves_no_file_behind(
    ops, base_env, pg_bin, demo_site: DemoSite, tmp_path: Path, failure: str
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    env = script_env(base_env, pg_bin, demo_site.database_url, media)
    if failure == "pg_dump killed":
        env["PG_BIN"] = str(_fake_pg_dump_killed_halfway(tmp_path / "fakebin", pg_bin))
    elif failure == "bad DATABASE_URL":
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:{ops.free_port()}/nothing"
    else:
        env["MEDIA_ROOT"] = str(tmp_path / "no-such-dir")
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "minicrm-20240101T000000Z").mkdir()  # an earlier good backup: never rotated away

    result = ops.run(["bash", str(ops.scripts / "backup.sh"), "--dir", str(backups)], env)

    assert result.returncode != 0
    assert "error" in result.stderr or "failed" in result.stderr
    assert sorted(p.name for p in backups.iterdir()) == ["minicrm-20240101T000000Z"]


def test_backup_rotation_keeps_the_newest_and_clears_stale_partials(
    ops, base_env, pg_bin, demo_site: DemoSite, tmp_path: Path
) -> None:
    media = tmp_path / "media"
    media.mkdir()
    backups = tmp_path / "backups"
    backups.mkdir()
    for stamp in ["20240101T000000Z", "20240201T000000Z", "20240301T000000Z"]:
        (backups / f"minicrm-{stamp}").mkdir()
    (backups / ".minicrm-20240302T000000Z.partial").mkdir()  # from a run killed with SIGKILL
    (backups / "notes.txt").write_text("not ours to delete")
    env = script_env(base_env, pg_bin, demo_site.database_url, media)

    result = ops.run(
        ["bash", str(ops.scripts / "backup.sh"), "--dir", str(backups), "--keep", "2"], env
    )

    assert result.returncode == 0, result.stderr
    new = Path(result.stdout.strip()).name
    assert sorted(p.name for p in backups.iterdir()) == sorted(
        ["minicrm-20240301T000000Z", new, "notes.txt"]
    )
