import pytest
from django_tenants.utils import schema_context

from kpis import recompute
from kpis.demo import demo_data_load
from kpis.insights import insights_generate
from kpis.models import Account, FinancialProjection, HealthModel, HealthSnapshot, Insight, KpiDefinition
from kpis.projections import projections_compute
from kpis.selectors import health_model_current
from kpis.services import health_model_update, health_refresh
from kpis.tasks import health_backfill
from tests.kpis.factories import TODAY


def test_every_new_tenant_has_the_default_catalog_and_model(alice):
    with schema_context("alice"):
        assert KpiDefinition.objects.count() == 25
        assert set(KpiDefinition.objects.values_list("category", flat=True)) == {
            "Product Usage",
            "Support",
            "Sentiment/VoC",
            "Financial",
            "Relationship",
        }
        model = HealthModel.objects.get()
        assert (model.version, model.healthy_min, model.critical_below) == (1, 70, 40)
        assert model.renewal_probabilities == {"healthy": 0.95, "risk": 0.75, "critical": 0.45}


def test_the_demo_data_tells_its_stories(alice_data):
    with schema_context("alice"):
        assert Account.objects.count() == 25
        techcorp = Account.objects.get(name="TechCorp Solutions")
        scores = list(techcorp.snapshots.order_by("period").values_list("score", flat=True))
        assert len(scores) == 18 and scores[-1] < 40 < 70 <= scores[0]
        assert set(Insight.objects.values_list("rule", flat=True)) == set(Insight.Rule.values) - {
            "playbook_suggested"
        }
        assert FinancialProjection.objects.count() == 25


def test_every_snapshot_explains_its_score(portfolio):
    with schema_context("alice"):
        for snapshot in HealthSnapshot.objects.all():
            told = snapshot.explanation
            total = sum(k["points"] for k in told["kpis"]) + told["adjustment_points"]
            assert total == pytest.approx(snapshot.score, abs=0.01)


def test_a_model_change_backfills_every_month_under_a_new_version_and_keeps_the_old(
    portfolio, django_capture_on_commit_callbacks
):
    with schema_context("alice"):
        old = dict(HealthSnapshot.objects.filter(model_version=1).values_list("pk", "score"))
        with django_capture_on_commit_callbacks() as callbacks:
            model = health_model_update(created_by="test", healthy_min=80.0, critical_below=50.0)
        assert model.version == 2 and len(callbacks) == 1  # the backfill is queued on commit

        health_backfill(model.version)  # what the worker runs

        assert dict(HealthSnapshot.objects.filter(model_version=1).values_list("pk", "score")) == old
        new = HealthSnapshot.objects.filter(model_version=2)
        assert new.count() == len(old)
        assert (
            new.filter(band="healthy").count()
            < HealthSnapshot.objects.filter(model_version=1, band="healthy").count()
        )


def test_a_model_change_refuses_nonsense_thresholds(alice):
    from django.core.exceptions import ValidationError

    with schema_context("alice"), pytest.raises(ValidationError, match="0 < critical < healthy"):
        health_model_update(created_by="test", healthy_min=30.0, critical_below=50.0)


def test_insights_are_not_duplicated_when_generated_again(portfolio):
    with schema_context("alice"):
        before = Insight.objects.count()
        assert before > 0
        health_refresh()
        assert Insight.objects.count() == before


def test_projection_is_arr_times_the_bands_renewal_probability(portfolio):
    with schema_context("alice"):
        for projection in FinancialProjection.objects.select_related("account"):
            expected = {"healthy": 0.95, "risk": 0.75, "critical": 0.45}[projection.band]
            assert float(projection.expected_renewal_revenue) == pytest.approx(
                float(projection.account.revenue) * expected, abs=0.01
            )


def test_recompute_of_touched_accounts_leaves_others_alone(portfolio):
    with schema_context("alice"):
        first, second = Account.objects.order_by("pk")[:2]
        untouched = list(second.snapshots.values_list("pk", flat=True))
        health_refresh(account_ids=[first.pk])
        assert list(second.snapshots.values_list("pk", flat=True)) == untouched


def test_the_demo_dataset_is_deterministic(alice, bob):
    for slug in ("alice", "bob"):
        with schema_context(slug):
            demo_data_load(today=TODAY)
    scores = []
    for slug in ("alice", "bob"):
        with schema_context(slug):
            scores.append(
                list(
                    HealthSnapshot.objects.order_by("account__external_id", "period").values_list(
                        "score", flat=True
                    )
                )
            )
    assert scores[0] == scores[1]


INSIGHT_FIELDS = ("account_id", "rule", "subject", "period", "severity", "title", "detail", "data")
PROJECTION_FIELDS = (
    "account_id",
    "model_version",
    "period",
    "band",
    "renewal_probability",
    "expected_renewal_revenue",
    "revenue_at_risk",
    "expansion_potential",
)


def test_insights_and_projections_from_the_snapshots_as_written_equal_those_read_back(alice_data):
    """A refresh hands each chunk's snapshots on as it wrote them instead of reading them back:
    what follows from them must not change."""
    with schema_context("alice"):
        health_refresh()
        handed_on = (
            sorted(Insight.objects.values_list(*INSIGHT_FIELDS), key=repr),
            sorted(FinancialProjection.objects.values_list(*PROJECTION_FIELDS)),
        )
        Insight.objects.all().delete()
        FinancialProjection.objects.all().delete()

        model = health_model_current()
        insights_generate(model_version=model.version)  # reads the snapshots back
        projections_compute(model=model)

        read_back = (
            sorted(Insight.objects.values_list(*INSIGHT_FIELDS), key=repr),
            sorted(FinancialProjection.objects.values_list(*PROJECTION_FIELDS)),
        )
    assert len(handed_on[0]) > 10 and len(handed_on[1]) > 10
    assert handed_on == read_back


def test_a_chunk_that_fails_while_its_rows_stream_into_the_copy_keeps_its_old_snapshots(
    portfolio, monkeypatch
):
    """Snapshots stream into the COPY as they are scored: a failure after some rows were sent
    must still leave the chunk fully old."""
    real_explanation, scored = recompute.explanation, []

    def failing_on_the_sixth(health, previous):
        scored.append(health)
        if len(scored) == 6:
            raise RuntimeError("scoring failed")
        return real_explanation(health, previous)

    with schema_context("alice"):
        before = sorted(HealthSnapshot.objects.values_list("pk", "model_version", "score", "computed_at"))
        monkeypatch.setattr(recompute, "explanation", failing_on_the_sixth)
        with pytest.raises(RuntimeError, match="scoring failed"):
            recompute.health_recompute()
        after = sorted(HealthSnapshot.objects.values_list("pk", "model_version", "score", "computed_at"))
    assert len(before) > 6 and after == before
