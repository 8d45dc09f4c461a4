"""The portal's Knowledge page: asking, the answer's cited passages, documents, recent questions;
viewers ask and read, managers and admins add and delete."""

import pytest
from django_tenants.utils import schema_context

from kpis.knowledge.services import document_upsert
from kpis.models import KbDocument, KbQuery
from tests.conftest import signed_in_client, tenant_member

POLICY = (
    "Contracts renew automatically for another year. A customer who wants to leave must send written notice "
    "at least 60 days before the renewal date. Late notice applies to the following term."
)


pytestmark = pytest.mark.usefixtures("answer_cache_clear")


@pytest.fixture
def policy(alice):
    with schema_context("alice"):
        document_upsert(doc_id="renewal-policy", title="Renewal policy", content=POLICY)
    return alice


def test_the_empty_page_says_what_to_upload_first(alice):
    page = signed_in_client("alice").get("/knowledge/").content.decode()

    assert "No documents yet" in page and "renewal and cancellation policy" in page


def test_a_viewer_asks_and_sees_the_answer_with_the_quoted_passage_marked_and_linked(policy):
    tenant_member("alice", "vic", role="viewer")
    client = signed_in_client("alice", "vic")

    page = client.post("/knowledge/", {"question": "How much notice must a customer give before renewal?"})

    html = page.content.decode()
    assert page.status_code == 200
    assert "<mark>A customer who wants to leave must send written notice at least 60 days" in html
    assert 'href="/knowledge/documents/renewal-policy/#passage-0"' in html
    with schema_context("alice"):
        logged = KbQuery.objects.get()
    assert (logged.asked_by, logged.via, logged.answered) == ("user:vic", "portal", True)


def test_the_document_page_anchors_each_passage(policy):
    page = signed_in_client("alice").get("/knowledge/documents/renewal-policy/").content.decode()

    assert 'id="passage-0"' in page and "60 days" in page


def test_viewers_may_not_add_or_delete_documents(policy):
    tenant_member("alice", "vic", role="viewer")
    client = signed_in_client("alice", "vic")

    page = client.get("/knowledge/").content.decode()
    deleted = client.post("/knowledge/documents/renewal-policy/delete/")
    added = client.post("/knowledge/add/", {"doc_id": "x", "content": "y"})

    assert "Delete" not in page and "Upload documents" not in page
    assert deleted.status_code == 403 and added.status_code == 403
    with schema_context("alice"):
        assert list(KbDocument.objects.values_list("doc_id", flat=True)) == ["renewal-policy"]


def test_a_manager_adds_and_deletes_documents_through_the_document_service(policy):
    tenant_member("alice", "mia", role="manager")
    client = signed_in_client("alice", "mia")

    added = client.post(
        "/knowledge/add/", {"doc_id": "sla", "title": "SLA", "content": "P1 answered in 15 minutes."}
    )
    deleted = client.post("/knowledge/documents/renewal-policy/delete/")

    assert added.status_code == 302 and added.url == "/knowledge/documents/sla/"
    assert deleted.status_code == 302
    with schema_context("alice"):
        assert list(KbDocument.objects.values_list("doc_id", "created_by")) == [("sla", "mia")]


def test_a_bad_document_from_the_portal_is_a_message_not_an_error_page(alice):
    client = signed_in_client("alice")

    response = client.post("/knowledge/add/", {"doc_id": "no spaces", "content": "text"}, follow=True)

    assert response.status_code == 200
    assert "letters, digits, hyphens" in response.content.decode()
