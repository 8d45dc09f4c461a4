"""One tenant's knowledge base is never reachable from another: documents, passages and their
embeddings, cached answers, the in-process embedding matrix and the query log."""

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from kpis.knowledge import selectors
from kpis.knowledge.services import document_upsert
from kpis.models import KbChunk
from tests.api.helpers import api, new_key
from tests.conftest import signed_in_client

QUESTION = "How many days of notice does a customer give before renewal?"
ALICE_TEXT = "Alice's customers give 60 days notice before renewal."
BOB_TEXT = "Bob's customers give 30 days notice before renewal."


pytestmark = pytest.mark.usefixtures("answer_cache_clear")


@pytest.fixture
def both(alice, bob):
    """One document each, so both tenants stand at the same index version (1)."""
    with schema_context("alice"):
        document_upsert(doc_id="renewal", title="Renewal policy", content=ALICE_TEXT)
    with schema_context("bob"):
        document_upsert(doc_id="renewal", title="Renewal terms", content=BOB_TEXT)
        assert selectors.index_version() == 1
    return alice, bob


def ask(tenant, slug):
    return api(new_key(tenant), slug).post(
        "/api/v1/kb/ask/", {"question": QUESTION}, content_type="application/json"
    )


def test_each_tenant_is_answered_from_its_own_documents_at_the_same_index_version(both):
    alice, bob = both

    from_alice = ask(alice, "alice").json()
    from_bob = ask(bob, "bob").json()

    assert "60 days" in from_alice["answer"] and "Alice's" in from_alice["sources"][0]["passage"]
    assert "30 days" in from_bob["answer"] and "Bob's" in from_bob["sources"][0]["passage"]
    assert from_bob["cached"] is False  # alice's cached answer, same question and version, is not bob's


def test_the_in_process_matrix_is_held_per_schema(both):
    alice, bob = both
    ask(alice, "alice")
    ask(bob, "bob")

    with schema_context("alice"):
        alice_ids, _ = selectors.chunk_matrix()
    with schema_context("bob"):
        bob_ids, _ = selectors.chunk_matrix()

    assert {"alice", "bob"} <= set(selectors._matrices)
    with schema_context("bob"):
        assert set(bob_ids.tolist()) == set(KbChunk.objects.values_list("pk", flat=True))
    assert selectors._matrices["alice"][1] is not selectors._matrices["bob"][1]
    assert len(alice_ids) == len(bob_ids) == 1


def test_a_tenant_without_documents_gets_no_answer_from_anothers(alice, bob):
    with schema_context("alice"):
        document_upsert(doc_id="renewal", title="Renewal policy", content="Customers give 60 days notice.")
    ask(alice, "alice")

    body = ask(bob, "bob").json()

    assert body["answered"] is False and body["sources"] == []


def test_the_query_log_and_documents_stay_with_their_tenant(both):
    alice, bob = both
    ask(alice, "alice")

    bob_queries = api(new_key(bob), "bob").get("/api/v1/kb/queries/").json()
    bob_docs = api(new_key(bob), "bob").get("/api/v1/kb/documents/").json()

    assert bob_queries["results"] == []
    assert [d["title"] for d in bob_docs["results"]] == ["Renewal terms"]


def test_the_portal_shows_only_the_tenants_own_documents_and_questions(both):
    alice, bob = both
    ask(alice, "alice")
    bob_client = signed_in_client("bob")

    page = bob_client.get("/knowledge/").content.decode()
    questions = bob_client.get("/knowledge/questions/").content.decode()
    document = bob_client.get("/knowledge/documents/renewal/").content.decode()

    assert "Renewal terms" in page and "Renewal policy" not in page
    assert QUESTION not in page and QUESTION not in questions
    assert "Bob&#x27;s customers" in document and "Alice" not in document


def test_a_workspace_recreated_under_the_same_name_never_gets_the_old_ones_answers(alice):
    """Index versions restart at 1 in a new schema: the cache key must tell the two apart."""
    from tenants.models import Tenant
    from tests.conftest import make_tenant, schemas_drop

    with schema_context("alice"):
        document_upsert(doc_id="renewal", title="Renewal policy", content=ALICE_TEXT)
    first = ask(alice, "alice").json()
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the drop waits for no deferred check
    schemas_drop(["alice"])
    connection.set_schema_to_public()
    Tenant.objects.filter(schema_name="alice").delete()
    again = make_tenant("alice")
    with schema_context("alice"):
        document_upsert(doc_id="renewal", title="Renewal terms", content=BOB_TEXT)

    second = ask(again, "alice").json()

    assert "60 days" in first["answer"]
    assert second["cached"] is False and "30 days" in second["answer"]
