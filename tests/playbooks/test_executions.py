import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from kpis.models import Insight
from playbooks.models import Execution, Playbook, PlaybookStep, StepProgress, Trigger, TriggerFiring
from playbooks.selectors import account_facts, execution_report, exit_criteria_status, playbook_effectiveness
from playbooks.services import (
    AlreadyOpen,
    criterion_tick,
    execution_start,
    execution_update,
    step_record,
    triggers_evaluate,
)
from tests.kpis.factories import portfolio_build
from tests.playbooks.factories import TriggerFactory


def start(key="renewal_safeguard", account=None):
    return execution_start(playbook=Playbook.objects.get(key=key), account=account, started_by="user:test")


def test_every_tenant_has_the_six_playbooks_with_steps_and_triggers(alice):
    with schema_context("alice"):
        assert Playbook.objects.count() == 6
        assert {"voc_sprint", "expansion_timing", "renewal_safeguard"} <= set(
            Playbook.objects.values_list("key", flat=True)
        )
        assert all(5 <= p.steps.count() <= 8 for p in Playbook.objects.all())
        assert Trigger.objects.filter(enabled=True).exists()


def test_an_execution_keeps_a_snapshot_of_the_steps_at_start(techcorp):
    with schema_context("alice"):
        execution = start(account=techcorp)
        PlaybookStep.objects.filter(playbook__key="renewal_safeguard", order=1).update(
            title="Rewritten later"
        )
        execution.refresh_from_db()
        assert execution.plan["steps"][0]["title"] != "Rewritten later"
        assert execution.progress.count() == len(execution.plan["steps"])
        assert execution.health_at_start["band"] == "critical"


def test_steps_complete_in_turn_and_the_last_required_one_completes_the_execution(techcorp):
    with schema_context("alice"):
        execution = start(account=techcorp)
        steps = execution.plan["steps"]
        for index, step in enumerate(steps):
            execution = Execution.objects.get(pk=execution.pk)
            if execution.status != Execution.Status.IN_PROGRESS:
                break
            step_record(
                execution=execution, index=index, by="maya", notes="ok", skip=not step.get("required", True)
            )
        execution.refresh_from_db()
        assert execution.status == Execution.Status.COMPLETED and execution.completion_reason
        first = StepProgress.objects.get(execution=execution, index=0)
        assert (first.status, first.done_by, first.notes) == ("completed", "maya", "ok")
        with pytest.raises(ValidationError, match="no longer change"):
            step_record(execution=execution, index=0, by="maya")


def test_a_required_step_cannot_be_skipped_and_unknown_steps_are_refused(techcorp):
    with schema_context("alice"):
        execution = start(account=techcorp)
        with pytest.raises(ValidationError, match="required"):
            step_record(execution=execution, index=0, by="maya", skip=True)
        with pytest.raises(ValidationError, match="no step 99"):
            step_record(execution=execution, index=98, by="maya")


def test_exit_criteria_are_checked_against_the_data_and_manual_ones_ticked(techcorp):
    with schema_context("alice"):
        execution = start(account=techcorp)
        facts = account_facts([techcorp.pk])[techcorp.pk]
        criteria = exit_criteria_status(execution, facts)
        data_checked = [c for c in criteria if not c["manual"]]
        assert data_checked and not any(c["met"] for c in data_checked)  # TechCorp is critical
        manual = next(c for c in criteria if c["manual"])
        criterion_tick(execution=execution, key=manual["key"], by="maya")
        execution.refresh_from_db()
        assert execution.manual_criteria[manual["key"]]["by"] == "maya"
        with pytest.raises(ValidationError, match="not a manual exit criterion"):
            criterion_tick(execution=execution, key=data_checked[0]["key"], by="maya")


def test_meeting_every_exit_criterion_completes_the_execution(portfolio):
    with schema_context("alice"):
        healthy = portfolio.acme
        playbook = Playbook.objects.get(key="voc_sprint")
        playbook.exit_criteria = [
            {"key": "signed_off", "description": "Sponsor signed off", "check": None},
            {"key": "healthy", "description": "Healthy", "check": {"type": "band_is", "band": "healthy"}},
        ]
        playbook.save()
        execution = execution_start(playbook=playbook, account=healthy, started_by="user:test")
        criterion_tick(execution=execution, key="signed_off", by="maya")
        execution.refresh_from_db()
        assert execution.status == "completed" and execution.completion_reason == "exit criteria met"


def test_never_two_open_executions_of_a_playbook_for_an_account(techcorp):
    with schema_context("alice"):
        first = start(account=techcorp)
        with pytest.raises(AlreadyOpen):
            start(account=techcorp)
        execution_update(execution=first, by="maya", status="cancelled")
        assert start(account=techcorp).status == "in_progress"  # allowed again once the first is closed


def test_triggers_start_or_suggest_and_a_second_evaluation_creates_nothing(techcorp):
    with schema_context("alice"):
        Trigger.objects.all().delete()
        renewal = Playbook.objects.get(key="renewal_safeguard")
        TriggerFactory(playbook=renewal, action="auto_start", fallback_owner="admin")
        voc = Playbook.objects.get(key="voc_sprint")
        TriggerFactory(playbook=voc, condition={"type": "score_drop", "points": 15, "months": 1})

        first = triggers_evaluate()
        assert first > 0
        assert Execution.objects.filter(playbook=renewal, account=techcorp, status="in_progress").count() == 1
        assert (
            Insight.objects.filter(rule="playbook_suggested", subject="voc_sprint", account=techcorp).count()
            == 1
        )
        assert triggers_evaluate() == 0
        trigger = Trigger.objects.get(playbook=renewal)
        assert (
            trigger.times_triggered == TriggerFiring.objects.filter(trigger=trigger).count()
            and trigger.last_evaluated_at
        )


def test_cooldown_holds_a_trigger_back_after_its_execution_is_closed(techcorp):
    with schema_context("alice"):
        Trigger.objects.all().delete()
        renewal = Playbook.objects.get(key="renewal_safeguard")
        TriggerFactory(playbook=renewal, action="auto_start", cooldown_days=30, fallback_owner="admin")
        triggers_evaluate(account_ids=[techcorp.pk])
        execution_update(
            execution=Execution.objects.get(playbook=renewal, account=techcorp), by="maya", status="cancelled"
        )
        assert triggers_evaluate(account_ids=[techcorp.pk]) == 0


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"type": "band_in", "bands": ["critical"]}, True),
        ({"type": "band_in", "bands": ["healthy"]}, False),
        ({"type": "score_drop", "points": 20, "months": 1}, True),
        ({"type": "score_drop", "points": 60, "months": 2}, False),
        ({"type": "kpi_below", "kpi": "nps", "value": 0}, True),
        ({"type": "kpi_above", "kpi": "nps", "value": 0}, False),
        ({"type": "renewal_within", "days": 90}, True),
        ({"type": "renewal_within", "days": 10}, False),
        ({"type": "insight", "rule": "renewal_risk"}, True),
        ({"type": "insight", "rule": "expansion_signal"}, False),
    ],
)
def test_each_trigger_condition(techcorp, condition, expected):
    from playbooks.criteria import condition_met
    from tests.conftest import DEMO_TODAY

    with schema_context("alice"):
        facts = account_facts([techcorp.pk], today=DEMO_TODAY)[techcorp.pk]
    assert condition_met(condition, facts)[0] is expected


def test_two_workers_evaluating_at_once_create_one_execution(committed_tenants):
    from tests.conftest import twice_at_once

    tenant = committed_tenants("alice")
    with schema_context("alice"):
        techcorp = portfolio_build(tenant).techcorp
        Trigger.objects.all().delete()
        renewal = Playbook.objects.get(key="renewal_safeguard")
        TriggerFactory(playbook=renewal, action="auto_start", fallback_owner="admin")

    twice_at_once("alice", lambda: triggers_evaluate(account_ids=[techcorp.pk]))

    with schema_context("alice"):
        assert Execution.objects.filter(playbook=renewal, account=techcorp).count() == 1


def test_the_report_has_raci_steps_criteria_timeline_and_health(techcorp):
    with schema_context("alice"):
        execution = start(account=techcorp)
        step_record(execution=execution, index=0, by="maya", notes="kick-off held")
        report = execution_report(Execution.objects.get(pk=execution.pk))
        assert report["steps"][0]["accountable"] and report["steps"][0]["progress"].done_by == "maya"
        assert report["outcomes"] and report["exit_criteria"]
        assert [event["what"].split(" ")[0] for event in report["timeline"]][:1] == ["Started"]
        assert report["health_start"]["band"] == "critical" and report["health_now"]["score"] is not None


def test_effectiveness_counts_and_compares_health(techcorp):
    with schema_context("alice"):
        execution = start(account=techcorp)
        effect = playbook_effectiveness(execution.playbook)
        assert (effect["started"], effect["completed"]) == (1, 0)
        assert set(effect["health_change"]) == {30, 60, 90}
