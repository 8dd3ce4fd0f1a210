"""The source options both commands take (--dump, --mongo-uri, --database), and the source
they name. Apart from sources.py so that the archive reader, which builds on DumpSource, is
imported at the top of a module instead of inside a function to dodge an import cycle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandParser, OutputWrapper

from .archive import ArchiveSource
from .sources import DumpSource, LiveSource, Source


def add_source_arguments(parser: CommandParser, *, dump_help: str) -> None:
    """--dump or --mongo-uri (and --database): the source options both commands take."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--dump", help=dump_help)
    source.add_argument("--mongo-uri", help="mongodb://user:pass@host/database (read only).")
    parser.add_argument(
        "--database",
        default="",
        help="Database name: with --mongo-uri if the URI names none; with --dump if the "
        "mongodump --out folder or the archive holds several databases.",
    )


def source_from_options(
    options: dict[str, Any], stdout: OutputWrapper | None = None, *, quiet: bool = False
) -> Source:
    """The source those options name; SourceError if it cannot be opened. --dump is a folder
    (mongodump --out) or a file (mongodump --archive), told apart by what is at the path. An
    archive's unpacking reports on `stdout` (per collection too at -v 2), unless quiet or -v 0."""
    if options["dump"]:
        if Path(options["dump"]).is_file():
            verbosity = options.get("verbosity", 1)
            if quiet or stdout is None or not verbosity:
                return ArchiveSource(options["dump"], options["database"])

            def progress(line: str, level: int) -> None:
                if level <= verbosity:
                    stdout.write(line)
                    stdout.flush()  # seconds apart: shown as they come, even into a pipe

            return ArchiveSource(options["dump"], options["database"], progress)
        return DumpSource(options["dump"], options["database"])
    return LiveSource(options["mongo_uri"], options["database"])
