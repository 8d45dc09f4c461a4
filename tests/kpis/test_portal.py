import csv
import io

from django_tenants.utils import schema_context

from kpis.models import Account, HealthModel
from kpis.services import account_upsert
from tenants.models import Plan
from tenants.services import tenant_change_plan
from tests.conftest import host_client, signed_in_client, tenant_member
from users.models import User


def room_for_more_accounts(tenant) -> None:
    """The demo set fills the free plan's 25 accounts; the pro plan, as the demo workspace has."""
    tenant_change_plan(tenant=tenant, plan=Plan.objects.get(name="pro"))


def test_a_new_tenant_sees_the_empty_state(alice):
    page = signed_in_client("alice").get("/").content.decode()
    assert "No customer data yet" in page


def test_the_dashboard_shows_distribution_trend_money_and_attention(alice_data):
    """On the demo set, end to end: the page a visitor of the demo workspace lands on."""
    page = signed_in_client("alice").get("/").content.decode()
    for text in (
        "Health distribution",
        "Portfolio health, last 12 months",
        "Revenue at risk",
        "TechCorp Solutions",
        'id="chart-data"',
        "vendor/chart.umd.min.js",
    ):
        assert text in page, text


def test_pages_use_a_fixed_number_of_queries_whatever_the_account_count(
    alice, portfolio, django_assert_max_num_queries
):
    room_for_more_accounts(alice)
    client = signed_in_client("alice")
    for path in ("/", "/accounts/", "/insights/"):
        with django_assert_max_num_queries(25):
            assert client.get(path).status_code == 200
    with schema_context("alice"):
        for index in range(40):
            account_upsert(external_id=f"EXTRA-{index}", name=f"Extra {index}")
    for path in ("/", "/accounts/", "/insights/"):
        with django_assert_max_num_queries(25):
            assert client.get(path).status_code == 200


def test_the_accounts_list_filters_and_sorts(portfolio):
    client = signed_in_client("alice")
    page = client.get("/accounts/?band=critical&ordering=score").content.decode()
    assert "TechCorp Solutions" in page
    assert "Acme Corp" not in client.get("/accounts/?q=techcorp").content.decode()
    assert client.get("/accounts/?renewal_within_days=banana").status_code == 200


def test_the_csv_export_escapes_formulas(portfolio):
    with schema_context("alice"):
        account_upsert(external_id="EVIL", name='=HYPERLINK("http://x")')
    response = signed_in_client("alice").get("/accounts/?format=csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    evil = next(row for row in rows if row["external_id"] == "EVIL")
    assert evil["name"].startswith("'=")
    assert len(rows) == len(portfolio.accounts) + 1


def test_the_account_page_explains_the_score(techcorp):
    page = signed_in_client("alice").get(f"/accounts/{techcorp.pk}/").content.decode()
    for text in (
        "Why this score",
        "What moved it this month",
        "Best practices",
        "Peer benchmarks",
        "Projection",
        'id="contributions"',
        "KPIs over time",
    ):
        assert text in page, text


def test_an_account_of_tenant_a_is_not_found_on_tenant_bs_host(techcorp, bob):
    with schema_context("bob"):
        assert not Account.objects.filter(pk=techcorp.pk).exists()
    response = signed_in_client("bob").get(f"/accounts/{techcorp.pk}/")
    assert response.status_code == 404


def test_settings_preview_counts_band_changes_without_saving(portfolio):
    client = signed_in_client("alice")
    form = client.get("/settings/health/").context["form"]
    data = {**form.initial, "healthy_min": 90, "preview": "1"}
    page = client.post("/settings/health/", data).content.decode()

    assert "would change band" in page
    with schema_context("alice"):
        assert HealthModel.objects.count() == 1


def test_saving_settings_makes_a_new_model_version(alice, django_capture_on_commit_callbacks):
    client = signed_in_client("alice")
    data = {**client.get("/settings/health/").context["form"].initial, "healthy_min": 75, "save": "1"}
    with django_capture_on_commit_callbacks() as callbacks:
        assert client.post("/settings/health/", data).status_code == 302
    with schema_context("alice"):
        assert HealthModel.objects.order_by("-version").first().healthy_min == 75
    assert len(callbacks) == 1


def test_kpi_range_edit_validates_order(alice):
    response = signed_in_client("alice").post(
        "/settings/health/kpis/nps/",
        {
            "weight": 1,
            "impact": "high",
            "worst": 50,
            "critical": 0,
            "healthy": 30,
            "best": 60,
            "active": "on",
        },
    )
    assert response.status_code == 200
    assert "worst &lt; critical &lt; healthy &lt; best" in response.content.decode()


def test_only_admins_change_health_settings(alice):
    tenant_member("alice", "vic", role=User.Role.VIEWER)
    assert signed_in_client("alice", username="vic").get("/settings/health/").status_code == 403


def test_the_settings_page_says_when_the_newest_version_is_still_being_recomputed(alice):
    with schema_context("alice"):
        live = HealthModel.objects.get()
        HealthModel.objects.create(version=live.version + 1, backfilling=True, created_by="ann")
    page = signed_in_client("alice").get("/settings/health/").content.decode()

    assert f"Version {live.version + 1}" in page and "is being recomputed" in page
    assert f"come from version {live.version} until" in page
    assert "Current model" not in page
    assert f"Current: version {live.version} " in page  # the report cards, too

    with schema_context("alice"):
        HealthModel.objects.filter(backfilling=True).update(backfilling=False)
    assert (
        f"Current model: version {live.version + 1},"
        in signed_in_client("alice").get("/settings/health/").content.decode()
    )


def test_portal_pages_need_a_sign_in(alice):
    for path in ("/accounts/", "/insights/", "/settings/health/"):
        assert host_client("alice").get(path)["Location"].startswith("/login/")


def test_the_account_page_reads_top_down_with_kpi_names_in_its_text(techcorp):
    from kpis.insights import insights_generate
    from kpis.models import Insight, KpiDefinition

    with schema_context("alice"):
        insights_generate(model_version=1)
        kpis_scored = len(techcorp.snapshots.latest("period").explanation["kpis"])
        critical = Insight.objects.filter(account=techcorp, rule="kpi_critical").first()
        keys = set(KpiDefinition.objects.values_list("key", flat=True))
    page = signed_in_client("alice").get(f"/accounts/{techcorp.pk}/").content.decode()

    for section in ('href="#overview"', 'href="#kpis"', 'href="#playbooks"', 'href="#timeline"'):
        assert section in page
    assert f'id="contributions" height="{60 + 24 * kpis_scored}"' in page
    assert critical is not None
    named = critical.detail.removeprefix("Now in the critical range: ").rstrip(".").split(", ")
    assert named and not set(named) & keys
