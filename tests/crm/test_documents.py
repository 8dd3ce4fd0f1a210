"""Document upload and download: size limit, type sniffed from the bytes, stored under
MEDIA_ROOT, served only to users who may see the document, with hardening headers."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from crm import factories as f
from crm.models import Document

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 40
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200
HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> Any:
    return SimpleUploadedFile(name, content, content_type=content_type)


def post_document(client: Any, file: Any, url: str = "", **data: Any) -> Any:
    payload = {"name": data.pop("name", ""), "kind": "other", "url": url, **data}
    if file is not None:
        payload["file"] = file
    return client.post(reverse("crm:document.create"), payload)


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        ("offer.pdf", PDF, "application/pdf"),
        ("logo.png", PNG, "image/png"),
        (
            "brief.docx",
            docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("notes.txt", "Grüße, plain text\n".encode(), "text/plain"),
    ],
)
def test_an_accepted_upload_is_stored_with_its_sniffed_type(
    login: Any, sales_rep: Any, media: Path, name: str, content: bytes, mime: str
) -> None:
    # The browser's word (octet-stream) is ignored: the bytes decide.
    response = post_document(login(sales_rep), upload(name, content, "application/octet-stream"))
    document = Document.objects.get()
    assert response.status_code == 302
    assert (document.mime_type, document.size, document.owner) == (mime, len(content), sales_rep)
    assert document.name == name  # defaults to the file's name
    stored = Path(document.file.path)
    assert stored.is_relative_to(media) and stored.read_bytes() == content


@pytest.mark.parametrize(
    ("name", "content", "claimed"),
    [
        ("invoice.pdf", EXE, "application/pdf"),
        ("photo.png", HTML, "image/png"),
        ("readme.txt", HTML, "text/plain"),
        ("tool.exe", EXE, "application/x-msdownload"),
    ],
)
def test_a_file_whose_bytes_match_no_accepted_type_is_refused(
    login: Any, sales_rep: Any, name: str, content: bytes, claimed: str
) -> None:
    response = post_document(login(sales_rep), upload(name, content, claimed))
    assert response.status_code == 200
    [error] = response.context["form"].errors["file"]
    assert error.startswith("This file type is not accepted.")
    assert not Document.objects.exists()


def test_an_oversize_file_is_refused_naming_the_limit(
    login: Any, sales_rep: Any, settings: Any
) -> None:
    settings.DOCUMENT_MAX_BYTES = 1024
    response = post_document(login(sales_rep), upload("big.pdf", PDF + b" " * 2048))
    assert response.status_code == 200
    [error] = response.context["form"].errors["file"]
    assert "the limit is 1.0\xa0KB" in error
    assert not Document.objects.exists()


def test_a_document_needs_a_file_or_a_url(login: Any, sales_rep: Any) -> None:
    response = post_document(login(sales_rep), None, name="Empty")
    assert response.context["form"].errors["file"] == ["Upload a file or give an external URL."]


def test_new_document_is_linked_to_the_prefilled_record(login: Any, sales_rep: Any) -> None:
    deal = f.DealFactory(owner=sales_rep)
    url = reverse("crm:document.create") + f"?deal={deal.pk}"
    client = login(sales_rep)
    assert str(deal) in client.get(url).content.decode()
    client.post(url, {"name": "Offer", "kind": "offer", "file": upload("offer.pdf", PDF)})
    assert list(Document.objects.get().deals.all()) == [deal]


def test_linking_to_a_record_one_may_only_see_is_refused(
    login: Any, sales_rep: Any, teammate: Any
) -> None:
    shared = f.CompanyFactory(owner=teammate, shared_with_team=True)
    url = reverse("crm:document.create") + f"?company={shared.pk}"
    assert login(sales_rep).get(url).status_code == 403


def test_replacing_the_file_sniffs_the_new_one(login: Any, sales_rep: Any) -> None:
    client = login(sales_rep)
    post_document(client, upload("a.pdf", PDF))
    document = Document.objects.get()
    data = {"name": "Logo", "kind": "other", "url": "", "file": upload("logo.png", PNG)}
    client.post(reverse("crm:document.edit", args=[document.pk]), data)
    document.refresh_from_db()
    assert (document.mime_type, document.size) == ("image/png", len(PNG))


# --- download --------------------------------------------------------------------------------


def test_the_owner_downloads_the_file_with_hardening_headers(login: Any, sales_rep: Any) -> None:
    client = login(sales_rep)
    post_document(client, upload("offer.pdf", PDF))
    document = Document.objects.get()
    response = client.get(reverse("crm:document.download", args=[document.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert "private" in response["Cache-Control"]


def test_someone_who_sees_a_linked_record_may_download(
    login: Any, sales_rep: Any, teammate: Any
) -> None:
    client = login(sales_rep)
    company = f.CompanyFactory(owner=sales_rep, shared_with_team=True)
    client.post(
        reverse("crm:document.create") + f"?company={company.pk}",
        {"name": "Offer", "kind": "offer", "file": upload("offer.pdf", PDF)},
    )
    document = Document.objects.get()
    url = reverse("crm:document.download", args=[document.pk])
    assert login(teammate).get(url).status_code == 200


def test_an_outsider_gets_404_for_the_file(login: Any, sales_rep: Any, outsider: Any) -> None:
    post_document(login(sales_rep), upload("offer.pdf", PDF))
    document = Document.objects.get()
    url = reverse("crm:document.download", args=[document.pk])
    assert login(outsider).get(url).status_code == 404


def test_an_external_document_redirects_to_its_url(login: Any, sales_rep: Any) -> None:
    document = f.DocumentFactory(owner=sales_rep, url="https://files.example/a.pdf")
    response = login(sales_rep).get(reverse("crm:document.download", args=[document.pk]))
    assert (response.status_code, response.url) == (302, "https://files.example/a.pdf")


def test_a_non_http_external_url_is_not_followed(login: Any, sales_rep: Any) -> None:
    document = f.DocumentFactory(owner=sales_rep, url="ftp://files.example/a.pdf")
    response = login(sales_rep).get(reverse("crm:document.download", args=[document.pk]))
    assert response.status_code == 404


def test_media_url_serves_nothing(client: Any, login: Any, sales_rep: Any) -> None:
    post_document(login(sales_rep), upload("offer.pdf", PDF))
    document = Document.objects.get()
    assert client.get(f"/media/{document.file.name}").status_code == 404


def test_deleting_a_document_removes_its_file_on_commit(
    login: Any, sales_rep: Any, django_capture_on_commit_callbacks
) -> None:
    client = login(sales_rep)
    post_document(client, upload("offer.pdf", PDF))
    document = Document.objects.get()
    path = Path(document.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("crm:document.delete", args=[document.pk]))
    assert not path.exists()
