"""Report cards per health model version, the learned model's training, the activation gate and
what a live learned model changes: portal, API, projections, and isolation between tenants."""

import pytest
from django_tenants.utils import schema_context

from kpis.demo import renewal_book_load
from kpis.models import FinancialProjection, HealthModel, HealthSnapshot, KpiValue, LearnedModel, ReportCard
from kpis.renewal_history import book_generate
from kpis.selectors import renewal_dataset
from kpis.services import (
    ActivationRefused,
    health_model_update,
    health_refresh,
    learned_model_activate,
    learned_model_request,
    learned_model_train,
)
from kpis.tasks import health_backfill
from tenants.models import ApiKey
from tests.api.helpers import api, error_of, new_key
from tests.celery_worker import celery_worker, wait_for
from tests.conftest import signed_in_client
from tests.kpis.factories import TODAY


def load_book(slug: str, accounts: int) -> list[int]:
    with schema_context(slug):
        ids = renewal_book_load(book_generate(accounts, TODAY))
        health_refresh(account_ids=ids)
        return ids


@pytest.fixture
def alice_book(alice):
    load_book("alice", 300)
    return alice


def trained(slug: str) -> LearnedModel:
    with schema_context(slug):
        return learned_model_train(learned_model_id=learned_model_request(requested_by="test").pk)


def test_a_version_change_backfills_and_computes_that_versions_report_card(alice_book):
    with schema_context("alice"):
        model = health_model_update(created_by="test", healthy_min=75.0)
        health_backfill(model.version)  # what the worker runs

        card = ReportCard.objects.get(model_version=model.version)
        assert card.method == "rules"
        assert card.card["renewals"] > 500 and card.card["churns"] > 30
        assert card.card["auc"] > 0.7


def test_a_kpi_value_moved_after_every_renewals_as_of_day_changes_no_report_card_figure(alice_book):
    with schema_context("alice"):
        model = HealthModel.objects.get()
        before = renewal_dataset(model)
        latest = KpiValue.objects.order_by("-period").values_list("period", flat=True).first()
        KpiValue.objects.filter(period=latest).update(value=0)  # after the last renewal's as-of day

        after = renewal_dataset(model)

        assert after.rules_score.tolist() == before.rules_score.tolist()
        assert after.features.tobytes() == before.features.tobytes()


def test_training_with_little_history_is_unproven_and_activation_is_refused_with_the_reason(alice):
    load_book("alice", 15)
    learned = trained("alice")

    assert learned.status == "ready" and not learned.proven
    assert "at least 30" in learned.verdict
    with schema_context("alice"), pytest.raises(ActivationRefused, match="at least 30"):
        learned_model_activate(learned_model=learned, created_by="test")
    with schema_context("alice"):
        assert HealthModel.objects.count() == 1


def test_a_proven_model_that_is_not_better_is_refused_and_the_rules_stay(alice_book):
    learned = trained("alice")
    with schema_context("alice"):
        card = learned.report_card | {"auc": learned.rules_report_card["auc"] - 0.01}
        LearnedModel.objects.filter(pk=learned.pk).update(report_card=card, proven=True)
        learned.refresh_from_db()
        with pytest.raises(ActivationRefused, match="does not beat the rules"):
            learned_model_activate(learned_model=learned, created_by="test")
        assert not HealthModel.objects.filter(learned_model__isnull=False).exists()


def test_a_proven_better_model_goes_live_as_a_new_version_with_probabilities_and_drivers(
    alice_book, django_capture_on_commit_callbacks
):
    learned = trained("alice")
    assert learned.proven, learned.verdict
    with schema_context("alice"):
        with django_capture_on_commit_callbacks() as queued:
            model = learned_model_activate(learned_model=learned, created_by="test")
        assert model.learned_model_id == learned.pk and model.version == 2 and len(queued) == 1
        health_backfill(model.version)  # what the worker runs
        snapshot = HealthSnapshot.objects.filter(model_version=2).order_by("-period").first()
        churn = snapshot.explanation["churn_probability"]
        assert snapshot.score == pytest.approx(100 * (1 - churn), abs=0.01)
        assert snapshot.explanation["churn_drivers"][0].keys() == {"feature", "value", "points"}
        told = snapshot.explanation
        assert sum(k["points"] for k in told["kpis"]) + told["adjustment_points"] == pytest.approx(
            snapshot.score, abs=0.01
        )
        projection = FinancialProjection.objects.get(model_version=2, account=snapshot.account)
        assert projection.renewal_probability == pytest.approx(1 - churn, abs=0.0001)
        assert ReportCard.objects.get(model_version=2).method == "learned"
        account_id = snapshot.account_id

    detail = api(new_key(alice_book, scope=ApiKey.Scope.READ)).get(f"/api/v1/accounts/{account_id}/").json()
    assert detail["churn_probability"] == churn and detail["churn_drivers"] == told["churn_drivers"]
    page = signed_in_client("alice").get(f"/accounts/{account_id}/").content.decode()
    assert "Churn probability at renewal" in page and "What drives it" in page


def test_under_the_rules_the_account_detail_has_no_churn_probability(techcorp, alice):
    detail = api(new_key(alice)).get(f"/api/v1/accounts/{techcorp.pk}/").json()
    assert detail["churn_probability"] is None and detail["churn_drivers"] is None


def test_the_report_card_api_shows_current_and_previous_versions_and_the_learned_model(alice_book):
    with schema_context("alice"):
        health_backfill(health_model_update(created_by="test", healthy_min=75.0).version)
    learned = trained("alice")

    body = api(new_key(alice_book, scope=ApiKey.Scope.READ)).get("/api/v1/health/report-card/").json()

    assert (body["current"]["version"], body["current"]["method"]) == (2, "rules")
    assert body["current"]["card"]["auc"] is not None
    assert body["previous"]["version"] == 1 and body["previous"]["card"] is None  # never computed for v1
    assert body["learned_model"]["id"] == str(learned.pk)
    assert (
        body["learned_model"]["report_card"]["renewals"]
        == body["learned_model"]["rules_report_card"]["renewals"]
    )


def test_training_over_the_api_needs_the_admin_scope_and_answers_202_with_a_status_url(
    alice, django_capture_on_commit_callbacks
):
    assert (
        api(new_key(alice, scope=ApiKey.Scope.WRITE)).post("/api/v1/health/learned-model/train/").status_code
        == 403
    )
    client = api(new_key(alice, scope=ApiKey.Scope.ADMIN))
    with django_capture_on_commit_callbacks() as queued:
        response = client.post("/api/v1/health/learned-model/train/")

    assert response.status_code == 202 and len(queued) == 1
    body = response.json()
    assert body["status"] == "queued" and body["status_url"].endswith(
        f"/api/v1/health/learned-model/{body['id']}/"
    )
    assert client.get(body["status_url"]).json()["status"] == "queued"


def test_activation_over_the_api_is_refused_with_the_reason(alice):
    load_book("alice", 15)
    trained("alice")
    write = api(new_key(alice, scope=ApiKey.Scope.WRITE)).post("/api/v1/health/learned-model/activate/")
    assert write.status_code == 403

    response = api(new_key(alice, scope=ApiKey.Scope.ADMIN)).post("/api/v1/health/learned-model/activate/")

    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "activation_refused" and "at least 30" in error["message"]


def test_tenant_b_can_neither_see_nor_train_nor_activate_as_model_of_a(alice, bob):
    load_book("alice", 15)
    learned = trained("alice")
    bobs = api(new_key(bob, scope=ApiKey.Scope.ADMIN))

    assert bobs.get(f"/api/v1/health/learned-model/{learned.pk}/").status_code == 404
    assert bobs.get("/api/v1/health/report-card/").json()["learned_model"] is None
    refused = bobs.post(
        "/api/v1/health/learned-model/activate/", {"id": str(learned.pk)}, content_type="application/json"
    )
    assert refused.status_code == 404
    on_alices_host = api(new_key(bob, scope=ApiKey.Scope.ADMIN), "alice")
    assert on_alices_host.post("/api/v1/health/learned-model/train/").status_code == 403
    with schema_context("bob"):
        assert not LearnedModel.objects.exists()
    with schema_context("alice"):
        assert LearnedModel.objects.count() == 1


def test_the_settings_page_shows_the_report_cards_and_refuses_an_unproven_switch(alice):
    load_book("alice", 15)
    learned = trained("alice")
    with schema_context("alice"):
        LearnedModel.objects.filter(pk=learned.pk).update(proven=True, verdict="Proven, but not better.")
    client = signed_in_client("alice")

    page = client.get("/settings/health/").content.decode()
    assert "Report cards" in page and 'id="reliability"' in page and "Learned model, trained" in page

    response = client.post("/settings/health/learned-model/activate/", follow=True)
    assert "Not switched" in response.content.decode()
    with schema_context("alice"):
        assert HealthModel.objects.count() == 1


def test_training_runs_in_a_real_worker(committed_tenants, purge_queue):
    tenant = committed_tenants("alice")
    load_book("alice", 15)
    client = api(new_key(tenant, scope=ApiKey.Scope.ADMIN))

    with celery_worker():
        status_url = client.post("/api/v1/health/learned-model/train/").json()["status_url"]
        finished = wait_for(
            lambda: (body := client.get(status_url).json())["status"] == "ready" and body, timeout=60
        )

    assert finished["proven"] is False and finished["report_card"]["renewals"] > 0
    assert finished["finished_at"] is not None
