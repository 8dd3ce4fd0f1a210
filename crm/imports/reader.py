"""Reading an uploaded CSV: its encoding, its delimiter, and its rows with where each ends.

Three encodings are what spreadsheets write: UTF-8 (Excel adds a BOM), and Windows-1252 from
older Excel on Western European systems (Latin-1 is its subset for every printable character).
Telling them apart needs no guessing library: a BOM settles it; bytes that decode as UTF-8 are
UTF-8 (cp1252 text with accents almost never forms valid UTF-8 sequences); anything else is
cp1252, or Latin-1 for the five bytes cp1252 leaves undefined. charset-normalizer would also
propose cp1250, mac-roman and others for short samples, which is wrong for this audience.

Rows are read one at a time from the binary file, so a file of any size needs constant memory,
and each row comes with the byte offset just past it: a chunked import stores that offset and
the next chunk seeks straight to it instead of parsing the file again from the top.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

ENCODINGS = {
    "utf-8-sig": "UTF-8",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1 (ISO-8859-1)",
}
DELIMITERS = {",": "Comma", ";": "Semicolon", "\t": "Tab"}
SAMPLE_BYTES = 64 * 1024
# A cell larger than this is not a CRM value; csv's own default limit is 128 KiB.
MAX_CELL = 128 * 1024


class CsvError(Exception):
    """The file cannot be read as CSV: the message says why, for the user."""


@dataclass(frozen=True)
class Row:
    number: int  # the line number a spreadsheet shows (the header is row 1)
    cells: list[str]
    end: int  # byte offset just past this row


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # The sample may end inside a multi-byte character: only an error before the last
        # three bytes says the file is not UTF-8.
        if exc.start < len(sample) - 3:
            return _single_byte(sample)
    return "utf-8-sig"  # utf-8-sig reads plain UTF-8 too, and drops a BOM if there is one


def _single_byte(sample: bytes) -> str:
    try:
        sample.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"  # bytes 0x81, 0x8D, 0x8F, 0x90, 0x9D: undefined in cp1252
    return "cp1252"


def detect_delimiter(text: str) -> str:
    """`,`, `;` or tab, from the first lines; comma when the sniffer cannot tell."""
    lines = text.splitlines()[:20]
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        counts = {d: lines[0].count(d) for d in DELIMITERS} if lines else {}
        best = max(counts, key=counts.get, default=",")
        return best if counts.get(best) else ","


@dataclass(frozen=True)
class Dialect:
    encoding: str
    delimiter: str


def sniff(file: BinaryIO) -> Dialect:
    file.seek(0)
    sample = file.read(SAMPLE_BYTES)
    file.seek(0)
    if not sample.strip():
        raise CsvError("The file is empty.")
    if b"\x00" in sample:
        raise CsvError("This is not a CSV file (it holds binary data). Save it as CSV first.")
    encoding = detect_encoding(sample)
    text = sample.decode(encoding, errors="replace")
    return Dialect(encoding=encoding, delimiter=detect_delimiter(text))


def _lines(file: BinaryIO, encoding: str, start: int, counter: list[int]) -> Iterator[str]:
    """Decoded lines from byte `start`; counter[0] is kept at the offset past the last line
    handed out. csv.reader pulls lines only as it needs them, so when it yields a row the
    counter is exactly at that row's end."""
    file.seek(start)
    counter[0] = start
    decode = codecs.getdecoder("utf-8" if encoding == "utf-8-sig" else encoding)
    first = start == 0
    # readline, not iteration: Django's File.__iter__ starts again from byte 0.
    for raw in iter(file.readline, b""):
        counter[0] += len(raw)
        if first and encoding == "utf-8-sig" and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8) :]
        first = False
        try:
            yield decode(raw)[0]
        except UnicodeDecodeError as exc:
            raise CsvError(
                f"A line near byte {counter[0] - len(raw)} is not valid "
                f"{ENCODINGS.get(encoding, encoding)}: choose the file's encoding."
            ) from exc


def read_rows(
    file: BinaryIO, dialect: Dialect, *, start: int = 0, first_number: int = 1
) -> Iterator[Row]:
    """The file's rows from byte `start` (0: the header row), numbered from `first_number`.

    Rows that are entirely empty are skipped (spreadsheets leave them at the end). A row
    number counts records, which equals the spreadsheet's line unless a cell holds a newline.
    """
    counter = [start]
    csv.field_size_limit(MAX_CELL)
    reader = csv.reader(
        _lines(file, dialect.encoding, start, counter), delimiter=dialect.delimiter, strict=False
    )
    number = first_number - 1
    try:
        for cells in reader:
            number += 1
            if not any(cell.strip() for cell in cells):
                continue
            yield Row(number=number, cells=cells, end=counter[0])
    except csv.Error as exc:
        raise CsvError(f"Row {number + 1} cannot be read: {exc}.") from exc


def read_header(file: BinaryIO, dialect: Dialect) -> tuple[list[str], int]:
    """The header's column names (trimmed) and the byte offset where the data rows start."""
    for row in read_rows(file, dialect):
        names = [cell.strip() for cell in row.cells]
        if len(set(filter(None, names))) != len([n for n in names if n]):
            seen: set[str] = set()
            twice = next(n for n in names if n and (n in seen or seen.add(n)))
            raise CsvError(f"The header names the column {twice!r} twice.")
        return names, row.end
    raise CsvError("The file has no header row.")
