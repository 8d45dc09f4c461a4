"""migrate_legacy on a fixture in the predecessor's format (tests/ingest/fixtures/legacy): clients keyed
by id, keys and documents as lists, unicode names, an expired, an inactive key, a suspended client
and bad records of every kind."""

import datetime as dt
import hashlib
import http.client
import io
import json
import shutil
import socket
from email import message_from_bytes
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from config import env
from ingest.legacy import backup_make
from kpis.models import KbChunk, KbDocument
from tenants.models import ApiKey, LegacyRecord, Tenant, UsageMonth
from tenants.selectors import usage_summary
from tenants.services import public_tenant_ensure
from tests.api.helpers import api, error_of
from tests.conftest import host_client, schemas_drop
from tests.live_server import gunicorn
from users.models import User
from users.services import user_change_password

FIXTURE = Path(__file__).parent / "fixtures" / "legacy"
WIDGET_KEY = "cb_live_9f2d7a4c1e8b3f6a5d0c2e7b9a1f4d8c"
CAFE, TEST, TOKYO = "client_97fd3395a4ee6f66", "client_e4004933ab3db2fb", "client_3c1d9a0b7e2f4d5c"
FIRST_RUN = [
    "clients: migrated 3/5 (2 skipped)",
    "api_keys: migrated 5/8 (3 skipped)",
    "usage: migrated 3/4 (1 skipped)",
    "documents: migrated 2/3 (1 skipped)",
]
PLAN_MAP = "basic=starter,premium=pro"


@pytest.fixture
def legacy_folder(tmp_path):
    folder = tmp_path / "data"
    shutil.copytree(FIXTURE, folder)
    return folder


def migrate(folder: Path, *extra: str) -> tuple[str, bool]:
    """The command's output and whether it exited non-zero (it does while bad records remain)."""
    out = io.StringIO()
    try:
        call_command("migrate_legacy", str(folder), "--plan-map", PLAN_MAP, *extra, stdout=out)
    except CommandError as error:
        return out.getvalue() + str(error), True
    finally:
        connection.set_schema_to_public()
    return out.getvalue(), False


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.json"))}


def tenant_of(client_id: str) -> Tenant:
    return Tenant.objects.get(legacy_client_id=client_id)


def test_the_first_run_migrates_the_good_records_names_the_bad_and_fails(public, legacy_folder):
    before = digests(legacy_folder)
    output, failed = migrate(legacy_folder)

    assert failed and "7 record(s) not migrated" in output
    for line in FIRST_RUN:
        assert line in output
    assert "client_0bad0bad0bad0bad: misses the required field(s) contact_email" in output
    assert "plan_type 'gold' has no Pulse plan; map it with --plan-map gold=<plan>" in output
    assert "key_00000000deadbeef: its client was not migrated: no client client_ffffffffffffffff" in output
    assert "key_baddate0baddate0: created_at is not an ISO 8601 date: 'last tuesday'" in output
    assert "client_97fd3395a4ee6f66/menu card: doc_id: The document id “menu card” is not valid" in output
    assert "   - API keys: 5\n" in output and "   - Documents: 2\n" in output
    # The originals are untouched, and the backup holds them byte for byte.
    assert digests(legacy_folder) == before
    (backup,) = legacy_folder.glob("backup_*")
    assert f"Backed up the JSON files to {backup}" in output and digests(backup) == before


def test_clients_become_tenants_with_their_plan_limits_status_dates_and_admin(public, legacy_folder):
    migrate(legacy_folder)
    cafe, test, tokyo = tenant_of(CAFE), tenant_of(TEST), tenant_of(TOKYO)

    assert (cafe.schema_name, cafe.name, cafe.contact_name) == (
        "cafe-zurich-gmbh",
        "Café Zürich GmbH",
        "Jürgen Müller",
    )
    assert (cafe.plan.name, cafe.custom_max_documents, cafe.custom_max_requests_per_month) == (
        "starter",
        120,
        10000,
    )
    assert cafe.created_at.isoformat() == "2024-01-15T10:30:00+00:00"  # no zone: read as UTC
    assert cafe.last_active.isoformat() == "2026-11-20T07:00:00+00:00"
    # "test" is reserved; the suspended client stays suspended; its limits are the plan's.
    assert (test.schema_name, test.status, test.plan.name) == ("test-2", "suspended", "pro")
    assert (test.custom_max_documents, test.custom_max_requests_per_month) == (None, None)
    assert tokyo.schema_name.startswith("client-") and tokyo.plan.name == "free"
    assert not Tenant.objects.filter(name__in=["No Mail Ltd", "Gold Rush Inc"]).exists()
    with schema_context(cafe.schema_name):
        (admin,) = User.objects.all()
        assert (admin.email, admin.role, admin.has_usable_password()) == (
            "juergen@cafe-zuerich.example",
            "admin",
            False,
        )


def test_the_admin_sets_a_password_once_through_the_printed_link(public, legacy_folder):
    output, _ = migrate(legacy_folder)
    line = next(line for line in output.splitlines() if line.strip().startswith("cafe-zurich-gmbh:"))
    link = line.split()[2]
    path = link.split("cafe-zurich-gmbh.localhost", 1)[1]
    client = host_client("cafe-zurich-gmbh")

    form_page = client.get(path, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    new_password = "a-fresh-start-for-the-cafe-26"
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert done.status_code == 302 and done["Location"] == "/login/"
    signed_in = host_client("cafe-zurich-gmbh").post(
        "/login/", {"username": "juergen@cafe-zuerich.example", "password": new_password}
    )
    assert signed_in.status_code == 302
    assert not host_client("cafe-zurich-gmbh").get(path, follow=True).context["validlink"]
    # The same path on another migrated tenant's host names that tenant's user 1: refused.
    assert not host_client(tenant_of(TOKYO).schema_name).get(path, follow=True).context["validlink"]
    # Without EMAIL_URL nothing is mailed, and the report says so.
    assert "(e-mail: not configured)" in line


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives; Pulse pointed at it
    through EMAIL_URL as a deployment would be."""
    received = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            received.append(message_from_bytes(envelope.content))
            return "250 OK"

    with socket.socket() as probe:  # a free port: the controller cannot start on port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_URL = f"smtp://127.0.0.1:{port}"
    for name, value in env.env.email_url_config(settings.EMAIL_URL).items():
        setattr(settings, name, value)
    yield received
    controller.stop()


def test_the_link_is_mailed_when_email_is_configured(public, legacy_folder, smtp_server):
    output, _ = migrate(legacy_folder)

    assert output.count("(e-mail: sent)") == 3
    by_address = {message["To"]: message for message in smtp_server}
    assert set(by_address) == {
        "info@tokyo-robotics.example",
        "juergen@cafe-zuerich.example",
        "ops@test2.example",
    }
    cafe = by_address["juergen@cafe-zuerich.example"]
    assert cafe["From"] == "support@pulse.example"
    assert "cafe-zurich-gmbh.localhost/password/set/" in cafe.get_payload(decode=True).decode()


def test_a_mail_server_that_fails_leaves_the_migration_and_the_printed_link(public, legacy_folder, settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        settings.EMAIL_URL = f"smtp://127.0.0.1:{probe.getsockname()[1]}"
    settings.EMAIL_BACKEND, settings.EMAIL_HOST = "django.core.mail.backends.smtp.EmailBackend", "127.0.0.1"
    settings.EMAIL_PORT = int(settings.EMAIL_URL.rsplit(":", 1)[1])
    output, _ = migrate(legacy_folder)

    assert output.count("(e-mail: failed: [Errno 111] Connection refused)") == 3
    assert "/password/set/" in output and Tenant.objects.filter(legacy_client_id=CAFE).exists()


def test_usage_continues_against_the_clients_own_limit(public, legacy_folder):
    """34 requests used this month of a limit set to 35 in the predecessor: one more, then 429."""
    this_month = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    _edit(legacy_folder, "usage.json", CAFE, monthly_reset=this_month.isoformat())
    _edit(legacy_folder, "clients.json", CAFE, max_requests_per_month=35)
    migrate(legacy_folder)

    assert api(WIDGET_KEY).get("/api/v1/me/").status_code == 200
    refused = api(WIDGET_KEY).get("/api/v1/me/")
    assert refused.status_code == 429, refused.content


def _edit(folder: Path, name: str, record_id: str, **fields) -> None:
    keyed = json.loads((folder / name).read_text())
    keyed[record_id].update(fields)
    (folder / name).write_text(json.dumps(keyed))


def test_a_migrated_key_calls_me_like_a_pulse_key(public, legacy_folder):
    migrate(legacy_folder)
    for host in ("cafe-zurich-gmbh", None):
        for scheme in ("Token", "Bearer"):
            response = api(WIDGET_KEY, host, scheme).get("/api/v1/me/")
            assert response.status_code == 200, response.content
            body = response.json()
            assert body["tenant"]["slug"] == "cafe-zurich-gmbh" and body["key"]["name"] == "Website widget"
    # Usage continues where the predecessor left it: its totals plus the four calls above.
    assert body["usage"]["total_requests"] == 1234 + 4 and body["usage"]["total_documents"] == 12

    expired = api("cb_live_expired0000000000000000000001").get("/api/v1/me/")
    inactive = api("cb_live_inactive000000000000000000002").get("/api/v1/me/")
    suspended = api("cb_live_suspended00000000000000000003").get("/api/v1/me/")
    assert expired.status_code == 401 and "expired at 2025-01-16" in error_of(expired)["message"]
    assert inactive.status_code == 401 and "revoked" in error_of(inactive)["message"]
    assert suspended.status_code == 403 and "suspended" in error_of(suspended)["message"]


def test_usage_carries_this_month_and_the_totals(public, legacy_folder):
    migrate(legacy_folder)
    cafe, tokyo = tenant_of(CAFE), tenant_of(TOKYO)
    months = {row.month.isoformat(): row for row in UsageMonth.objects.filter(tenant=cafe)}

    assert set(months) == {"2026-11-01", "2026-10-01"}
    november = months["2026-11-01"]
    assert (november.requests, november.documents) == (34, 2)
    assert november.last_request_at.isoformat() == "2026-11-19T17:45:12+00:00"
    assert november.last_upload_at.isoformat() == "2026-11-03T09:00:00+00:00"
    assert (months["2026-10-01"].requests, months["2026-10-01"].documents) == (1200, 10)
    summary = usage_summary(tokyo)
    assert (summary["total_requests"], summary["total_documents"]) == (3, 1)


def test_documents_become_indexed_knowledge_base_documents(public, legacy_folder):
    migrate(legacy_folder)
    with schema_context(tenant_of(CAFE).schema_name):
        document = KbDocument.objects.get()
        assert (document.doc_id, document.title) == ("opening-hours", "Öffnungszeiten")
        assert KbChunk.objects.filter(document=document).exists()
    with schema_context(tenant_of(TOKYO).schema_name):
        assert KbDocument.objects.get().title == "Robot warranty"


def test_a_second_run_changes_nothing_and_says_so(public, legacy_folder):
    migrate(legacy_folder)
    snapshot = _counts()
    output, failed = migrate(legacy_folder)

    assert failed  # the bad records are still bad
    assert "clients: migrated 3/5 (already migrated, 2 skipped)" in output
    assert "api_keys: migrated 5/8 (already migrated, 3 skipped)" in output
    assert "usage: migrated 3/4 (already migrated, 1 skipped)" in output
    assert "documents: migrated 2/3 (already migrated, 1 skipped)" in output
    assert "Admin users" not in output
    assert _counts() == snapshot


def test_resend_links_gives_a_new_link_to_admins_without_a_password(public, legacy_folder):
    migrate(legacy_folder)
    with schema_context("cafe-zurich-gmbh"):
        user_change_password(user=User.objects.get(), new_password="the-cafe-chose-one-26")
    output, _ = migrate(legacy_folder, "--resend-links")

    assert "test-2: ops@test2.example https://test-2.localhost/password/set/" in output
    assert "info@tokyo-robotics.example" in output and "cafe-zurich-gmbh:" not in output
    assert "Admin users" not in migrate(legacy_folder)[0]  # without the option: no links


def test_a_record_changed_since_is_reported_not_overwritten(public, legacy_folder):
    migrate(legacy_folder)
    _edit(legacy_folder, "clients.json", CAFE, company_name="Café Zürich AG")
    output, failed = migrate(legacy_folder)

    assert failed and "clients: migrated 2/5 (already migrated, 3 skipped)" in output
    assert f"{CAFE}: changed in the JSON since it was migrated on" in output
    assert tenant_of(CAFE).name == "Café Zürich GmbH"
    assert "api_keys: migrated 5/8 (already migrated, 3 skipped)" in output  # its keys are still recognised


def test_a_dry_run_prints_the_same_report_and_writes_nothing(public, legacy_folder):
    output, failed = migrate(legacy_folder, "--dry-run")

    assert failed and output.startswith("Dry run:")
    for line in FIRST_RUN:
        assert line in output
    assert "   - Clients: 3\n" in output
    assert not Tenant.objects.filter(legacy_client_id__isnull=False).exists()
    assert not LegacyRecord.objects.exists() and not ApiKey.objects.exists()
    assert not list(legacy_folder.glob("backup_*"))
    real_run = migrate(legacy_folder)[0]
    assert "clients: migrated 3/5 (2 skipped)" in real_run, real_run


def test_the_plaintext_keys_are_stored_nowhere(public, legacy_folder):
    migrate(legacy_folder)
    keys = [record["api_key"] for record in json.loads((FIXTURE / "api_keys.json").read_text())]
    schemas = ["public"] + list(
        Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema, table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = ANY(%s) AND data_type IN ('text', 'character varying', 'jsonb', 'json')",
            [schemas],
        )
        for schema, table, column in cursor.fetchall():
            cursor.execute(
                f'SELECT count(*) FROM "{schema}"."{table}" WHERE "{column}"::text LIKE ANY(%s)',
                [[f"%{key}%" for key in keys]],
            )
            assert cursor.fetchone()[0] == 0, f"{schema}.{table}.{column} holds a plaintext key"


def test_migrated_tenants_are_isolated_from_each_other(public, legacy_folder):
    migrate(legacy_folder)
    tokyo_key = "cb_live_tokyo0000000000000000000000004"
    tokyo_slug = tenant_of(TOKYO).schema_name

    refused = api(WIDGET_KEY, tokyo_slug).get("/api/v1/me/")
    assert refused.status_code == 403 and "another workspace" in error_of(refused)["message"]
    cafe_docs = api(WIDGET_KEY).get("/api/v1/kb/documents/").json()
    tokyo_docs = api(tokyo_key).get("/api/v1/kb/documents/").json()
    assert [doc["doc_id"] for doc in _results(cafe_docs)] == ["opening-hours"]
    assert [doc["doc_id"] for doc in _results(tokyo_docs)] == ["robot-warranty"]
    assert api(tokyo_key).get("/api/v1/me/").json()["usage"]["total_requests"] == 3 + 2
    assert api(tokyo_key).get("/api/v1/kb/documents/opening-hours/").status_code == 404


def test_a_missing_or_malformed_file_refuses_the_run(public, legacy_folder):
    (legacy_folder / "usage.json").write_text("{not json")
    output, failed = migrate(legacy_folder)
    assert failed and "usage.json is not valid JSON" in output and "Nothing was migrated." in output
    (legacy_folder / "usage.json").unlink()
    assert "usage.json is missing" in migrate(legacy_folder)[0]
    assert not Tenant.objects.filter(legacy_client_id__isnull=False).exists()
    assert "--plan-map 'basic' is not a list" in _plan_map_refusal(legacy_folder)


def test_two_backups_in_the_same_second_get_their_own_folders(legacy_folder):
    now = dt.datetime(2026, 11, 29, 20, 0, 0, tzinfo=dt.UTC)
    first, second = backup_make(legacy_folder, now), backup_make(legacy_folder, now)
    assert (first.name, second.name) == ("backup_20261129_200000", "backup_20261129_200000_2")
    assert digests(first) == digests(second) == digests(legacy_folder)


def _plan_map_refusal(folder: Path) -> str:
    with pytest.raises(CommandError) as refusal:
        call_command("migrate_legacy", str(folder), "--plan-map", "basic", stdout=io.StringIO())
    return str(refusal.value)


def _results(body) -> list:
    return body["results"] if isinstance(body, dict) else body


def _counts() -> dict:
    counts = {
        "tenants": Tenant.objects.count(),
        "keys": list(ApiKey.objects.order_by("pk").values_list("pk", "revoked_at", "last_used_at")),
        "usage": list(UsageMonth.objects.order_by("pk").values_list("pk", "requests", "documents")),
        "records": LegacyRecord.objects.count(),
    }
    for slug in Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        with schema_context(slug):
            counts[slug] = list(KbDocument.objects.values_list("pk", "content_hash", "updated_at"))
    return counts


@pytest.fixture
def committed_migration(transactional_db, legacy_folder):
    """The fixture migrated for real (committed), for a server in another process; the tenants it
    made are dropped afterwards."""
    public_tenant_ensure()
    migrate(legacy_folder)
    yield
    migrated = Tenant.objects.filter(legacy_client_id__isnull=False)
    schemas_drop(list(migrated.values_list("schema_name", flat=True)))
    migrated.delete()


def test_a_migrated_key_calls_me_on_a_real_server(committed_migration):
    with gunicorn(workers=1, threads=1) as base_url:
        address = urlsplit(base_url)
        for host in ("cafe-zurich-gmbh.localhost", "localhost"):
            connection_ = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
            connection_.request(
                "GET", "/api/v1/me/", headers={"Host": host, "Authorization": f"Bearer {WIDGET_KEY}"}
            )
            response = connection_.getresponse()
            body = json.loads(response.read())
            connection_.close()
            assert response.status == 200, body
            assert body["tenant"]["slug"] == "cafe-zurich-gmbh" and body["usage"]["request_limit"] == 10000
