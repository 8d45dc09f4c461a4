"""Ship the six default playbooks with their steps and triggers in every tenant schema.
Playbooks that already exist (possibly edited by the tenant) are left alone."""

from dataclasses import asdict

from django.db import migrations

from playbooks.catalog import DEFAULT_PLAYBOOKS


def seed(apps, schema_editor):
    Playbook = apps.get_model("playbooks", "Playbook")
    for spec in DEFAULT_PLAYBOOKS:
        if Playbook.objects.filter(key=spec.key).exists():
            continue
        playbook = Playbook.objects.create(
            key=spec.key, name=spec.name, purpose=spec.purpose, when_to_use=spec.when_to_use,
            expected_duration_days=spec.expected_duration_days, expected_outcomes=list(spec.expected_outcomes),
            exit_criteria=[asdict(criterion) for criterion in spec.exit_criteria],
        )  # fmt: skip
        _seed_steps(apps.get_model("playbooks", "PlaybookStep"), playbook, spec)
        _seed_triggers(apps.get_model("playbooks", "Trigger"), playbook, spec)


def _seed_steps(PlaybookStep, playbook, spec) -> None:
    PlaybookStep.objects.bulk_create(
        PlaybookStep(
            playbook=playbook,
            order=order,
            title=step.title,
            description=step.description,
            responsible=list(step.raci.responsible),
            accountable=step.raci.accountable,
            consulted=list(step.raci.consulted),
            informed=list(step.raci.informed),
            due_offset_days=step.due_offset_days,
            required=step.required,
        )  # fmt: skip
        for order, step in enumerate(spec.steps, start=1)
    )


def _seed_triggers(Trigger, playbook, spec) -> None:
    Trigger.objects.bulk_create(
        Trigger(playbook=playbook, condition=t.condition, action=t.action, cooldown_days=t.cooldown_days)
        for t in spec.triggers
    )


class Migration(migrations.Migration):
    dependencies = [("playbooks", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
