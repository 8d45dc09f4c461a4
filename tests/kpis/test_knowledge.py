"""The knowledge base through its API and services: documents, the index, asking, the cache and
the query log; questions about the tenant's data; the optional generative model."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.test import override_settings
from django_tenants.utils import schema_context

from kpis.knowledge.selectors import index_version
from kpis.knowledge.services import REFUSAL, document_upsert
from kpis.models import KbChunk, KbDocument
from tenants.models import ApiKey, Plan
from tests.api.helpers import api, error_of, new_key

RENEWAL = (
    "Renewal policy",
    "Contracts renew automatically for another year at the end of the term. A customer who wants to leave "
    "must send written notice at least 60 days before the renewal date. Notice sent later than that applies "
    "to the following term. Price increases at renewal are capped at 7 percent for customers on annual plans.",
)
ESCALATION = (
    "Escalation process",
    "A P1 incident means the product is down for a customer. The support engineer pages the duty manager "
    "within 15 minutes and opens a bridge call. The account's CSM tells the customer's sponsor within one "
    "hour and sends a written summary after the fix.",
)


pytestmark = pytest.mark.usefixtures("answer_cache_clear")


@pytest.fixture
def alice_docs(alice):
    with schema_context("alice"):
        document_upsert(doc_id="renewal-policy", title=RENEWAL[0], content=RENEWAL[1])
        document_upsert(doc_id="escalation", title=ESCALATION[0], content=ESCALATION[1])
    return alice


def ask(key, question, host="alice"):
    return api(key, host).post("/api/v1/kb/ask/", {"question": question}, content_type="application/json")


def test_a_document_is_created_listed_and_read(alice):
    client = api(new_key(alice), "alice")

    created = client.post(
        "/api/v1/kb/documents/",
        {"doc_id": "renewal-policy", "title": RENEWAL[0], "content": RENEWAL[1]},
        content_type="application/json",
    )
    listed = client.get("/api/v1/kb/documents/")
    read = client.get("/api/v1/kb/documents/renewal-policy/")

    assert created.status_code == 201 and created.json()["outcome"] == "created"
    assert created.json()["passages"] >= 1
    assert [d["doc_id"] for d in listed.json()["results"]] == ["renewal-policy"]
    assert "content" not in listed.json()["results"][0]
    assert read.json()["content"] == RENEWAL[1]


def test_sending_the_same_document_again_changes_nothing(alice_docs):
    client = api(new_key(alice_docs), "alice")
    with schema_context("alice"):
        version, chunks = index_version(), list(KbChunk.objects.values_list("pk", flat=True))

    again = client.post(
        "/api/v1/kb/documents/",
        {"doc_id": "renewal-policy", "title": RENEWAL[0], "content": RENEWAL[1] + "\n"},
        content_type="application/json",
    )

    assert again.status_code == 200 and again.json()["outcome"] == "unchanged"
    with schema_context("alice"):
        assert index_version() == version
        assert list(KbChunk.objects.values_list("pk", flat=True)) == chunks


def test_a_changed_document_is_re_indexed(alice_docs):
    client = api(new_key(alice_docs), "alice")
    with schema_context("alice"):
        version = index_version()

    changed = client.put(
        "/api/v1/kb/documents/renewal-policy/",
        {"title": "Renewal policy 2027", "content": "Notice is now due 90 days before renewal."},
        content_type="application/json",
    )

    assert changed.status_code == 200 and changed.json()["outcome"] == "updated"
    with schema_context("alice"):
        assert index_version() > version
        assert list(
            KbChunk.objects.filter(document__doc_id="renewal-policy").values_list("text", "heading")
        ) == [("Notice is now due 90 days before renewal.", "Renewal policy 2027")]


def test_put_and_delete_need_an_existing_document(alice_docs):
    client = api(new_key(alice_docs), "alice")

    missing = client.put("/api/v1/kb/documents/nope/", {"content": "x"}, content_type="application/json")
    deleted = client.delete("/api/v1/kb/documents/escalation/")

    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    assert deleted.status_code == 204
    with schema_context("alice"):
        assert not KbDocument.objects.filter(doc_id="escalation").exists()
        assert not KbChunk.objects.filter(document__doc_id="escalation").exists()


def test_a_bad_document_is_refused_with_what_to_fix(alice):
    response = api(new_key(alice), "alice").post(
        "/api/v1/kb/documents/",
        {"doc_id": "no spaces/please", "content": "  "},
        content_type="application/json",
    )

    assert response.status_code == 400
    fields = error_of(response)["fields"]
    assert "letters, digits, hyphens" in fields["doc_id"][0]
    assert "content" in fields


def test_the_plans_document_limit_is_a_clear_refusal(alice_docs):
    Plan.objects.filter(pk=alice_docs.plan_id).update(max_documents=2)

    response = api(new_key(alice_docs), "alice").post(
        "/api/v1/kb/documents/", {"doc_id": "third", "content": "One more."}, content_type="application/json"
    )

    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "document_limit" and "allows 2 documents" in error["message"]
    with schema_context("alice"):
        assert KbDocument.objects.count() == 2


def test_a_read_key_may_ask_but_not_write(alice_docs):
    key = new_key(alice_docs, scope=ApiKey.Scope.READ)

    asked = ask(key, "How much notice does a customer need to give before renewal?")
    written = api(key, "alice").post(
        "/api/v1/kb/documents/", {"doc_id": "x", "content": "y"}, content_type="application/json"
    )

    assert asked.status_code == 200
    assert written.status_code == 403


def test_a_question_is_answered_from_the_passage_that_says_it(alice_docs):
    response = ask(
        new_key(alice_docs), "How long before the renewal date must a customer tell us they are leaving?"
    )

    body = response.json()
    assert body["answered"] is True
    assert "60 days" in body["answer"] and "[1]" in body["answer"]
    first = body["sources"][0]
    assert (
        first["kind"] == "document" and first["doc_id"] == "renewal-policy" and first["title"] == RENEWAL[0]
    )
    assert "60 days" in first["passage"] and first["score"] > 0.4
    assert first["url"] == "/knowledge/documents/renewal-policy/#passage-0"
    assert body["cached"] is False and body["latency_ms"] > 0


def test_a_question_the_documents_do_not_answer_is_refused(alice_docs):
    body = ask(new_key(alice_docs), "What is the capital of Mongolia?").json()

    assert body == {
        "answered": False,
        "answer": REFUSAL,
        "sources": [],
        "cached": False,
        "latency_ms": body["latency_ms"],
    }


def test_a_repeated_question_comes_from_the_cache_until_a_document_changes(alice_docs):
    key = new_key(alice_docs)
    question = "Who does the support engineer page during a P1 incident?"

    first, second = ask(key, question).json(), ask(key, question).json()
    with schema_context("alice"):
        document_upsert(doc_id="escalation", title=ESCALATION[0], content=ESCALATION[1] + " Then a review.")
    third = ask(key, question).json()

    assert (first["cached"], second["cached"], third["cached"]) == (False, True, False)
    assert second["answer"] == first["answer"]
    assert "duty manager" in first["answer"]


def test_every_question_is_logged_with_who_asked_and_how(alice_docs):
    key = new_key(alice_docs, scope=ApiKey.Scope.READ)
    question = "Who does the support engineer page during a P1 incident?"
    ask(key, question)
    ask(key, question)

    logged = api(key, "alice").get("/api/v1/kb/queries/").json()["results"]

    assert [(q["question"], q["cached"], q["via"]) for q in logged] == [
        (question, True, "api"),
        (question, False, "api"),
    ]
    assert {q["asked_by"] for q in logged} == {f"api:{ApiKey.objects.get(tenant=alice_docs).prefix}"}
    assert logged[1]["sources"][0]["doc_id"] == "escalation" and logged[1]["latency_ms"] > 0


def test_an_empty_question_is_refused(alice):
    response = ask(new_key(alice), "   ")

    assert response.status_code == 400 and "question" in error_of(response)["fields"]


# --- the tenant's data ------------------------------------------------------------------------------


def test_renewals_at_risk_are_answered_from_the_accounts_selectors(portfolio):
    from kpis.selectors import AccountFilters, accounts_filtered, health_model_current

    with schema_context("alice"):
        version = health_model_current().version
        expected = [
            a.name
            for a in accounts_filtered(version, AccountFilters(renewal_within_days=3650, sort="renewal"))
            if a.band in ("risk", "critical")
        ]
    body = ask(
        new_key(portfolio.tenant), "Which accounts renew in the next 3650 days and are at risk?"
    ).json()

    assert body["answered"] is True and expected
    assert [s["title"] for s in body["sources"]] == expected[:10]
    assert all(
        s["kind"] == "account" and s["url"] == f"/accounts/{s['account_id']}/" for s in body["sources"]
    )
    assert body["answer"].startswith(f"{len(expected)} account")


def test_an_accounts_health_and_why_are_answered_citing_the_account(techcorp, alice):
    account = techcorp
    body = ask(new_key(alice), f"What is {account.name}'s health and why?").json()

    assert body["answered"] is True
    assert (
        body["sources"][0]["title"] == account.name
        and body["sources"][0]["url"] == f"/accounts/{account.pk}/"
    )
    assert "Weakest KPIs" in body["answer"] and "/100" in body["answer"]


def test_critical_accounts_are_listed(portfolio):
    from kpis.selectors import accounts_with_health, health_model_current

    with schema_context("alice"):
        critical = set(
            accounts_with_health(health_model_current().version)
            .filter(band="critical")
            .values_list("name", flat=True)
        )
    body = ask(new_key(portfolio.tenant), "Which accounts are critical?").json()

    assert {s["title"] for s in body["sources"]} == set(list(critical)[:10]) or len(critical) > 10
    assert body["answer"].startswith(f"{len(critical)} account" if critical else "No account")


# --- the optional generative model ----------------------------------------------------------------


class ChatStub(BaseHTTPRequestHandler):
    """A local server speaking the chat-completions protocol; it answers what `reply` says."""

    reply = "Written notice is due 60 days before the renewal date [1]."
    received: list = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ChatStub.received.append((self.path, self.headers["Authorization"], body))
        payload = json.dumps(
            {"choices": [{"message": {"role": "assistant", "content": ChatStub.reply}}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_model():
    server = HTTPServer(("127.0.0.1", 0), ChatStub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ChatStub.received = []
    url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    with override_settings(OPENAI_BASE_URL=url, OPENAI_API_KEY="sk-test", OPENAI_MODEL="stub-model"):
        yield ChatStub
    server.shutdown()
    server.server_close()


def test_a_configured_model_writes_the_answer_from_the_retrieved_passages(alice_docs, chat_model):
    body = ask(
        new_key(alice_docs), "How long before the renewal date must a customer tell us they are leaving?"
    ).json()

    assert body["answered"] is True and body["answer"] == ChatStub.reply
    assert body["sources"][0]["doc_id"] == "renewal-policy"
    path, auth, request = chat_model.received[0]
    assert path == "/v1/chat/completions" and auth == "Bearer sk-test" and request["model"] == "stub-model"
    prompt = request["messages"][-1]["content"]
    assert (
        "[1] " in prompt
        and "60 days" in prompt
        and "ONLY the numbered passages" in request["messages"][0]["content"]
    )


def test_the_model_saying_the_passages_do_not_answer_is_a_refusal(alice_docs, chat_model):
    chat_model.reply = "NOT_IN_PASSAGES"
    try:
        body = ask(new_key(alice_docs), "How long before the renewal date must a customer tell us?").json()
    finally:
        chat_model.reply = ChatStub.__dict__["reply"]

    assert body["answered"] is False and body["sources"] == []


def test_a_model_answer_citing_nothing_falls_back_to_the_extractive_one(alice_docs, chat_model):
    chat_model.reply = "Probably about two months, I think."
    try:
        body = ask(
            new_key(alice_docs), "How long before the renewal date must a customer tell us they are leaving?"
        ).json()
    finally:
        chat_model.reply = "Written notice is due 60 days before the renewal date [1]."

    assert body["answered"] is True and "60 days" in body["answer"] and "[1]" in body["answer"]
    assert "Probably" not in body["answer"]


def test_the_model_is_not_asked_when_nothing_relevant_was_found(alice_docs, chat_model):
    body = ask(new_key(alice_docs), "What is the capital of Mongolia?").json()

    assert body["answered"] is False and chat_model.received == []


def test_a_document_too_long_to_index_in_one_request_is_refused_with_what_to_do(alice):
    response = api(new_key(alice), "alice").post(
        "/api/v1/kb/documents/",
        {"doc_id": "manual", "content": "word " * 50_000},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert (
        "above the 200,000 limit; split it into several documents"
        in error_of(response)["fields"]["content"][0]
    )
