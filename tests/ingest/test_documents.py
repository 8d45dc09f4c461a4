"""`kind=documents` through the one ingestion pipeline: a file per document (.txt, .md, .html,
.pdf, .docx), a zip of many, or a CSV of doc_id,title,content; refusals, previews, re-uploads."""

import io
import zipfile

import pytest
from django_tenants.utils import schema_context

from ingest.models import Upload
from ingest.parsers import FileRefused
from ingest.services import UploadRequest, upload_process, upload_receive
from kpis.models import KbChunk, KbDocument
from tests.api.helpers import api, new_key
from tests.conftest import signed_in_client, tenant_member
from tests.ingest.conftest import named

POLICY_MD = b"# Renewal policy\n\nCustomers give **60 days** written notice before the end of term.\n"


pytestmark = pytest.mark.usefixtures("answer_cache_clear")


def load(tenant, content: bytes, name: str, **options) -> Upload:
    with schema_context(tenant.schema_name):
        upload = upload_receive(
            fileobj=named(content, name),
            request=UploadRequest(
                tenant=tenant,
                original_name=name,
                kind="documents",
                acting_role="manager",
                uploaded_by="test",
                **options,
            ),
        )
        return upload_process(upload_id=upload.pk)


def stored(tenant) -> dict[str, tuple[str, str, str]]:
    with schema_context(tenant.schema_name):
        return {d.doc_id: (d.title, d.content, d.source_name) for d in KbDocument.objects.all()}


def pdf(text: str, title: str = "") -> bytes:
    """A one-page PDF whose page shows `text`, with offsets right so any reader opens it."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    info = f"/Title ({title})" if title else ""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< {info} >>".encode(),
    ]
    out, offsets = io.BytesIO(b"%PDF-1.4\n"), []
    out.seek(0, 2)
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%d\n%%%%EOF\n"
        % (len(objects) + 1, xref)
    )
    return out.getvalue()


def docx(paragraphs: list[str], title: str = "") -> bytes:
    word = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    body = "".join(f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>" for text in paragraphs)
    handle = io.BytesIO()
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr(
            "word/document.xml", f'<w:document xmlns:w="{word}"><w:body>{body}</w:body></w:document>'
        )
        package.writestr(
            "docProps/core.xml",
            '<cp:coreProperties xmlns:cp="x" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f"<dc:title>{title}</dc:title></cp:coreProperties>",
        )
    return handle.getvalue()


def zipped(entries: dict[str, bytes]) -> bytes:
    handle = io.BytesIO()
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return handle.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "doc_id", "title", "text"),
    [
        (
            "Renewal Policy.md",
            POLICY_MD,
            "renewal-policy",
            "Renewal policy",
            "Customers give 60 days written notice",
        ),
        (
            "escalations.html",
            b"<html><head><title>Escalations</title><script>x()</script></head>"
            b"<body><p>P1 pages the duty manager.</p></body></html>",
            "escalations",
            "Escalations",
            "P1 pages the duty manager.",
        ),
        (
            "pricing_faq.txt",
            "Prices are in euros – VAT excluded.".encode("cp1252"),
            "pricing-faq",
            "Pricing faq",
            "Prices are in euros – VAT excluded.",
        ),
        (
            "onboarding.pdf",
            pdf("Kick-off happens in week one.", title="Onboarding guide"),
            "onboarding",
            "Onboarding guide",
            "Kick-off happens in week one.",
        ),
        (
            "sla.docx",
            docx(["Support answers P1 within 15 minutes.", "P2 within 4 hours."], title="SLA"),
            "sla",
            "SLA",
            "Support answers P1 within 15 minutes.\n\nP2 within 4 hours.",
        ),
    ],
)
def test_a_file_becomes_a_document_named_after_it(alice, name, content, doc_id, title, text):
    upload = load(alice, content, name)

    assert (upload.status, upload.inserted, upload.rejected) == ("completed", 1, 0), upload.message
    assert doc_id in stored(alice)
    got_title, got_text, source = stored(alice)[doc_id]
    assert (got_title, source) == (title, name)
    assert text in got_text
    with schema_context("alice"):
        assert KbChunk.objects.filter(document__doc_id=doc_id).exists()


def test_a_zip_of_documents_loads_each_and_reports_what_it_cannot_read(alice):
    archive = zipped(
        {
            "policies/renewal.md": POLICY_MD,
            "escalation.txt": b"P1 pages the duty manager.",
            "logo.png": b"\x89PNG",
            "__MACOSX/._renewal.md": b"junk",
            "broken.pdf": b"not a pdf",
        }
    )

    upload = load(alice, archive, "handbook.zip")

    assert (upload.inserted, upload.rejected) == (2, 2)
    assert set(stored(alice)) == {"renewal", "escalation"}
    with schema_context("alice"):
        reasons = dict(upload.errors.values_list("value", "reason"))
    assert "not a document Pulse can read" in reasons["logo.png"]
    assert "not a PDF" in reasons["broken.pdf"]


def test_a_csv_of_documents_loads_its_good_rows_and_reports_the_bad_ones_by_line(alice):
    csv = b'doc_id,title,content\nrenewal,Renewal policy,"Notice is due 60 days before the end."\nbad id,,\n'

    upload = load(alice, csv, "docs.csv")

    assert (upload.inserted, upload.rejected) == (1, 1)
    assert stored(alice)["renewal"][0] == "Renewal policy"
    with schema_context("alice"):
        reasons = {error.field: (error.line, error.reason) for error in upload.errors.all()}
    assert reasons["doc_id"] == (
        3,
        "doc_id may only hold letters, digits, hyphens and underscores, starting with a "
        "letter or digit, e.g. renewal-policy",
    )
    assert reasons["content"] == (3, "content is required but this cell is empty; fill it in")


def test_uploading_the_same_documents_again_changes_nothing_and_a_change_is_re_indexed(alice):
    load(alice, POLICY_MD, "renewal.md")
    again = load(alice, POLICY_MD, "renewal.md")
    changed = load(alice, POLICY_MD.replace(b"60", b"90"), "renewal.md")

    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    assert (changed.inserted, changed.updated, changed.unchanged) == (0, 1, 0)
    with schema_context("alice"):
        assert "90 days" in KbChunk.objects.get(document__doc_id="renewal").text


def test_a_preview_counts_and_writes_nothing(alice):
    upload = load(alice, POLICY_MD, "renewal.md", dry_run=True)

    assert (upload.status, upload.inserted) == ("previewed", 1)
    assert stored(alice) == {}


def test_documents_past_the_plans_limit_are_rejected_with_the_reason(alice):
    alice.plan.max_documents = 1
    alice.plan.save()

    upload = load(alice, zipped({"a.txt": b"First document.", "b.txt": b"Second document."}), "two.zip")

    assert (upload.inserted, upload.rejected) == (1, 1)
    with schema_context("alice"):
        assert "allows 1 documents" in upload.errors.get().reason


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("slides.pptx", b"PK\x03\x04whatever", "not a kind of document Pulse can read"),
        ("bomb.zip", zipped({"big.txt": b"0" * (8 * 1024 * 1024)}), "zip bomb"),
        ("evil.zip", zipped({"../../etc/passwd.txt": b"x"}), "unsafe path"),
        ("fake.docx", b"PK\x03\x04 not really a zip", "damaged"),
    ],
)
def test_hostile_or_unreadable_document_files_are_refused_whole(alice, name, content, message):
    with schema_context("alice"), pytest.raises(FileRefused, match=message):
        upload_receive(
            fileobj=named(content, name),
            request=UploadRequest(tenant=alice, original_name=name, kind="documents", acting_role="admin"),
        )
    with schema_context("alice"):
        assert not Upload.objects.exists()


def test_documents_come_in_through_the_uploads_api_and_the_portals_upload_form(alice):
    by_api = api(new_key(alice), "alice").post(
        "/api/v1/uploads/", {"file": named(POLICY_MD, "renewal.md"), "kind": "documents"}
    )
    tenant_member("alice", "mia", role="manager")
    by_portal = signed_in_client("alice", "mia").post(
        "/data/", {"kind": "documents", "file": named(b"P1 pages the duty manager.", "escalation.txt")}
    )
    with schema_context("alice"):
        for upload in Upload.objects.all():
            upload_process(upload_id=upload.pk)  # what the worker does

    assert by_api.status_code == 202 and by_portal.status_code == 302
    assert set(stored(alice)) == {"renewal", "escalation"}
