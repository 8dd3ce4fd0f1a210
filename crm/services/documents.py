"""Uploaded documents: what is accepted (size, real type) and how a stored file is removed.

The type is sniffed from the file's bytes with puremagic, never taken from its name or the
browser's Content-Type: a renamed executable or HTML page is refused whatever it claims to be.
ZIP containers (Office Open XML, OpenDocument, plain zip) share one signature, so their
members tell them apart; plain text has no signature, so it is accepted only when the bytes
decode as UTF-8, hold no NUL and do not start like markup (a browser could render that).
"""

from __future__ import annotations

import codecs
import zipfile
from typing import IO, Any

import puremagic
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.defaultfilters import filesizeformat

PDF = "application/pdf"
ZIP = "application/zip"
TEXT = "text/plain"
CSV = "text/csv"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

# Types whose signature puremagic recognises and that we accept as they are.
SIGNED_TYPES = {PDF, "image/png", "image/jpeg", "image/gif", "image/webp"}
# Office Open XML: the folder of the main part inside the package.
OOXML_PARTS = {"word/": DOCX, "xl/": XLSX, "ppt/": PPTX}
ODF_PREFIX = "application/vnd.oasis.opendocument."
ACCEPTED_LABEL = (
    "PDF, PNG, JPEG, GIF, WebP, plain text or CSV, Word / Excel / PowerPoint (docx, xlsx, "
    "pptx), OpenDocument, or zip"
)
SNIFF_BYTES = 8192
MARKUP_STARTS = ("<", "\ufeff<")
MARKUP_WORDS = ("<script", "<html", "<svg", "<iframe", "<body", "<!doctype")


def _refuse() -> ValidationError:
    return ValidationError(
        {"file": f"This file type is not accepted. Upload one of: {ACCEPTED_LABEL}."}
    )


def _zip_type(stream: IO[bytes]) -> str:
    try:
        with zipfile.ZipFile(stream) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                declared = archive.read("mimetype")[:100].decode("ascii", "replace").strip()
                if declared.startswith(ODF_PREFIX):
                    return declared
            if "[Content_Types].xml" in names:
                for prefix, mime in OOXML_PARTS.items():
                    if any(name.startswith(prefix) for name in names):
                        return mime
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        # A PK signature with a broken archive behind it is not a document we can vouch for.
        raise _refuse() from None
    return ZIP


def _text_type(head: bytes, filename: str) -> str | None:
    if b"\x00" in head:
        return None
    try:
        # Incremental: a multi-byte character cut at the end of the sample is not an error.
        text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return None
    stripped = text.lstrip()
    lowered = text.lower()
    if stripped.startswith(MARKUP_STARTS) or any(word in lowered for word in MARKUP_WORDS):
        return None
    # The name only chooses between two kinds of text, both served as downloads.
    return CSV if filename.lower().endswith(".csv") else TEXT


def sniff_type(stream: IO[bytes], filename: str = "") -> str:
    """The accepted MIME type of the file in `stream` (read from its bytes), or a
    ValidationError on `file` when its bytes match no accepted type."""
    stream.seek(0)
    head = stream.read(SNIFF_BYTES)
    stream.seek(0)
    if not head:
        raise ValidationError({"file": "The file is empty."})
    try:
        # No filename: an extension would only raise the confidence of what it claims.
        matches = puremagic.magic_stream(stream)
    except (puremagic.PureError, ValueError):
        matches = []
    stream.seek(0)
    if matches:
        best = matches[0].confidence
        top = [m for m in matches if m.confidence == best]
        if head.startswith(b"PK\x03\x04"):
            return _zip_type(stream)
        for match in top:
            if match.mime_type in SIGNED_TYPES:
                # RIFF is shared by WAV, AVI and WebP; only the WEBP form type is an image.
                if match.mime_type == "image/webp" and head[8:12] != b"WEBP":
                    continue
                return match.mime_type
    mime = _text_type(head, filename)
    if mime is None:
        raise _refuse()
    return mime


def inspect_upload(upload: Any) -> tuple[str, int]:
    """Check an uploaded file against DOCUMENT_MAX_BYTES and the accepted types; return its
    (sniffed MIME type, size in bytes). Raises ValidationError on `file`, naming the limit or
    the accepted types."""
    size = upload.size
    limit = settings.DOCUMENT_MAX_BYTES
    if size is not None and size > limit:
        raise ValidationError(
            {"file": f"The file is {filesizeformat(size)}; the limit is {filesizeformat(limit)}."}
        )
    stream = upload.file if hasattr(upload, "file") else upload
    return sniff_type(stream, getattr(upload, "name", "") or ""), size


def delete_stored_file_on_commit(name: str) -> None:
    """Remove a stored file once the transaction that stopped using it commits (a rollback
    keeps the row, so it must keep its file)."""
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))
