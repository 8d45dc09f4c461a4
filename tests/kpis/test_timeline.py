"""An account's timeline, on its page and at GET/POST /api/v1/accounts/{id}/timeline/: notes,
health band changes, insights, playbook runs and uploads, newest first, page by page; another
workspace sees none of it."""

import datetime as dt

from django_tenants.utils import schema_context

from ingest.services import UploadRequest, upload_process, upload_receive
from kpis.models import Account, AccountNote, HealthSnapshot, Insight
from kpis.selectors import health_model_current
from kpis.services import account_note_add, account_upsert
from kpis.timeline import account_timeline
from playbooks.models import Playbook
from playbooks.services import execution_start, step_record
from tenants.models import ApiKey
from tests.api.helpers import api, error_of, new_key
from tests.conftest import signed_in_client, tenant_member
from tests.ingest.conftest import KPI_HEADER, named


def account_made(slug: str = "alice", external_id: str = "ACC-1", name: str = "Acme Rockets") -> Account:
    with schema_context(slug):
        return account_upsert(external_id=external_id, name=name)


def kpis_loaded(tenant, external_id: str = "ACC-1"):
    content = KPI_HEADER + f"{external_id},nps,2026-09,35\n{external_id},nps,2026-10,30\n"
    with schema_context(tenant.schema_name):
        upload = upload_receive(
            fileobj=named(content, "october.csv"),
            request=UploadRequest(
                tenant=tenant,
                original_name="october.csv",
                kind="kpis",
                acting_role="admin",
                uploaded_by="ann",
            ),
        )
        return upload_process(upload_id=upload.pk)


def snapshots_with_bands(account: Account, bands: list[str]) -> None:
    version = health_model_current().version
    for month, band in enumerate(bands, start=1):
        HealthSnapshot.objects.create(
            account=account,
            period=dt.date(2026, month, 1),
            model_version=version,
            score=90 - 20 * month,
            band=band,
            coverage=100,
        )


def test_every_kind_of_event_is_on_the_timeline_newest_first(alice):
    account = account_made()
    upload = kpis_loaded(alice)
    with schema_context("alice"):
        Insight.objects.create(
            account=account,
            rule="score_drop",
            period=dt.date(2026, 10, 1),
            severity="critical",
            title="Health dropped 12 points",
            detail="NPS fell.",
        )
        execution = execution_start(
            playbook=Playbook.objects.get(key="voc_sprint"), account=account, started_by="user:ann"
        )
        step_record(execution=execution, index=0, by="ann", notes="Sent the survey")
        account_note_add(account=account, body="Renewal call went well.", author="Ann Lee")
        events = account_timeline(account, page_size=100).events

    assert [event.at for event in events] == sorted((event.at for event in events), reverse=True)
    assert events[0].kind == "note" and events[0].actor == "Ann Lee"
    kinds = {event.kind for event in events}
    assert {"note", "health", "insight", "playbook_started", "playbook_step", "upload"} <= kinds
    (loaded,) = [event for event in events if event.kind == "upload"]
    assert loaded.title == "Upload loaded: october.csv (KPI values)" and loaded.actor == "ann"
    assert str(upload.public_id) in loaded.url
    step = next(event for event in events if event.kind == "playbook_step")
    assert "Sent the survey" in step.detail and step.actor == "ann"


def test_band_changes_only_when_the_band_changes(alice):
    account = account_made()
    with schema_context("alice"):
        snapshots_with_bands(account, ["healthy", "healthy", "risk", "risk", "critical"])
        health = [event for event in account_timeline(account).events if event.kind == "health"]

    assert [event.title for event in health] == [
        "Health became critical",
        "Health became at risk",
        "First health score: healthy",
    ]
    assert health[0].detail == "May 2026: score -10, was at risk"


def test_pages_cover_every_event_once(alice):
    account = account_made()
    with schema_context("alice"):
        for n in range(23):
            account_note_add(account=account, body=f"note {n}", author="Ann")
        pages = [account_timeline(account, page=page, page_size=10) for page in (1, 2, 3)]

    bodies = [event.detail for page in pages for event in page.events]
    assert bodies == [f"note {n}" for n in reversed(range(23))]
    assert [page.has_next for page in pages] == [True, True, False]


def test_a_manager_adds_a_note_on_the_account_page_and_it_shows_with_author(alice):
    tenant_member("alice", "mia", role="manager", full_name="Mia Mills")
    account = account_made()
    client = signed_in_client("alice", username="mia")

    response = client.post(f"/accounts/{account.pk}/notes/", {"body": "Champion left; new sponsor is Raj."})
    page = client.get(response["Location"]).content.decode()

    assert response["Location"].endswith(f"/accounts/{account.pk}/#timeline")
    assert "Champion left; new sponsor is Raj." in page and "by Mia Mills" in page


def test_an_empty_note_is_refused_with_a_message(alice):
    account = account_made()
    client = signed_in_client("alice")
    page = client.post(f"/accounts/{account.pk}/notes/", {"body": "   "}, follow=True).content.decode()

    assert "The note was not kept" in page
    with schema_context("alice"):
        assert not AccountNote.objects.exists()


def test_a_viewer_reads_the_timeline_but_cannot_write_notes(alice):
    tenant_member("alice", "vic", role="viewer")
    account = account_made()
    client = signed_in_client("alice", username="vic")

    assert 'id="timeline"' in client.get(f"/accounts/{account.pk}/").content.decode()
    assert client.post(f"/accounts/{account.pk}/notes/", {"body": "hi"}).status_code == 403
    with schema_context("alice"):
        assert not AccountNote.objects.exists()


def test_the_api_lists_the_timeline_page_by_page_and_a_write_key_adds_notes(alice):
    account = account_made()
    client = api(new_key(alice, scope=ApiKey.Scope.WRITE))
    for n in range(3):
        created = client.post(
            f"/api/v1/accounts/{account.pk}/timeline/",
            {"body": f"from CRM {n}"},
            content_type="application/json",
        )
        assert created.status_code == 201, created.content

    first = client.get(f"/api/v1/accounts/{account.pk}/timeline/?page_size=2").json()
    second = client.get(first["next"]).json()

    assert created.json()["actor"] == "API key test write" and created.json()["kind"] == "note"
    assert [event["detail"] for event in first["results"] + second["results"]] == [
        "from CRM 2",
        "from CRM 1",
        "from CRM 0",
    ]
    assert first["previous"] is None and second["next"] is None and second["previous"]


def test_a_read_key_cannot_add_notes(alice):
    account = account_made()
    response = api(new_key(alice, scope=ApiKey.Scope.READ)).post(
        f"/api/v1/accounts/{account.pk}/timeline/", {"body": "x"}, content_type="application/json"
    )
    assert response.status_code == 403
    with schema_context("alice"):
        assert not AccountNote.objects.exists()


def test_bad_input_to_the_timeline_api_is_a_400_naming_the_field(alice):
    account = account_made()
    client = api(new_key(alice))
    empty = client.post(
        f"/api/v1/accounts/{account.pk}/timeline/", {"body": "  "}, content_type="application/json"
    )
    too_big = client.get(f"/api/v1/accounts/{account.pk}/timeline/?page_size=1000")

    assert empty.status_code == 400 and "body" in error_of(empty)["fields"]
    assert too_big.status_code == 400 and "page_size" in error_of(too_big)["fields"]


def test_another_workspace_can_neither_read_nor_write_a_timeline(alice, bob):
    account_made("bob", "BOB-0", "Bob's other customer")
    bobs = account_made("bob", "BOB-1", "Bob's secret customer")  # an id alice's accounts do not have
    with schema_context("bob"):
        account_note_add(account=bobs, body="Bob's secret note", author="Bob")
    alices = account_made("alice", "ALICE-1", "Alice's customer")
    client = signed_in_client("alice")

    assert client.get(f"/accounts/{bobs.pk}/").status_code == 404
    assert "Bob's secret note" not in client.get(f"/accounts/{alices.pk}/").content.decode()
    assert client.post(f"/accounts/{bobs.pk}/notes/", {"body": "intrusion"}).status_code == 404
    with schema_context("bob"):
        assert list(AccountNote.objects.values_list("body", flat=True)) == ["Bob's secret note"]


def test_the_api_on_either_host_links_events_to_their_portal_pages(alice):
    account = account_made()
    upload = kpis_loaded(alice)
    with schema_context("alice"):
        execution = execution_start(
            playbook=Playbook.objects.get(key="voc_sprint"), account=account, started_by="user:ann"
        )
    key = new_key(alice, scope=ApiKey.Scope.READ)
    path = f"/api/v1/accounts/{account.pk}/timeline/?page_size=100"

    for host in (None, "alice"):  # the base host's URL conf has no portal pages
        urls = {event["kind"]: event["url"] for event in api(key, host).get(path).json()["results"]}
        assert urls["playbook_started"] == f"/executions/{execution.pk}/"
        assert urls["upload"] == f"/data/uploads/{upload.public_id}/"


def test_the_account_page_reads_its_timeline_in_a_fixed_number_of_queries(
    alice_data, django_assert_max_num_queries
):
    with schema_context("alice"):
        account = Account.objects.get(name="TechCorp Solutions")
    client = signed_in_client("alice")
    with django_assert_max_num_queries(40) as few:
        assert client.get(f"/accounts/{account.pk}/").status_code == 200
    with schema_context("alice"):
        for n in range(30):
            account_note_add(account=account, body=f"note {n}", author="Ann")
        for key in ("renewal_safeguard", "adoption_boost"):
            if Playbook.objects.filter(key=key).exists():
                execution_start(
                    playbook=Playbook.objects.get(key=key), account=account, started_by="user:ann"
                )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(f"/accounts/{account.pk}/?timeline_page=2").status_code == 200
