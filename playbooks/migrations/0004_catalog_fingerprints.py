"""Let catalog_sync tell shipped rows from the tenant's edits and own rows.

Playbooks and triggers record the fingerprint of the catalog values last synced into them
(empty until the first sync, which then treats a row as unedited only while it still holds
the shipped values). Default triggers get a catalog key. The ones 0002 seeded are named
here by position: 0002 created each playbook's triggers in this order before any trigger of
the tenant's own, and triggers cannot be deleted. Frozen: this file imports no live code.
"""

from django.db import migrations, models
from django.db.models import Q


def fingerprint_field() -> models.CharField:
    return models.CharField(
        blank=True,
        editable=False,
        help_text="Hash of the catalog values last synced into this row; empty for rows the tenant made.",
        max_length=64,
    )


# The catalog's trigger keys, per playbook, in the order 0002 seeded them.
SEEDED_TRIGGER_KEYS = {
    "voc_sprint": ["nps_below", "csat_below"],
    "expansion_timing": ["expansion_signal", "license_utilization_above"],
    "renewal_safeguard": ["renewal_risk", "renewal_within_120_days"],
    "onboarding_acceleration": ["onboarding_completion_below"],
    "adoption_rescue": ["active_user_ratio_below", "score_drop"],
    "executive_business_review": ["exec_sponsor_meetings_below", "renewal_within_180_days"],
}


def name_seeded_triggers(apps, schema_editor):
    Trigger = apps.get_model("playbooks", "Trigger")
    for playbook_key, keys in SEEDED_TRIGGER_KEYS.items():
        seeded = Trigger.objects.filter(playbook__key=playbook_key).order_by("pk")[: len(keys)]
        for trigger, key in zip(seeded, keys, strict=False):
            Trigger.objects.filter(pk=trigger.pk).update(catalog_key=key)


class Migration(migrations.Migration):
    dependencies = [
        ("playbooks", "0003_trigger_last_error"),
    ]

    operations = [
        migrations.AddField(model_name="playbook", name="catalog_fingerprint", field=fingerprint_field()),
        migrations.AddField(model_name="trigger", name="catalog_fingerprint", field=fingerprint_field()),
        migrations.AddField(
            model_name="trigger",
            name="catalog_key",
            field=models.SlugField(
                blank=True,
                editable=False,
                help_text="The catalog's name for a default trigger within its playbook; empty for the tenant's own.",
                max_length=64,
            ),
        ),
        migrations.AddConstraint(
            model_name="trigger",
            constraint=models.UniqueConstraint(
                condition=~Q(catalog_key=""),
                fields=("playbook", "catalog_key"),
                name="trigger_one_per_catalog_key",
            ),
        ),
        migrations.RunPython(name_seeded_triggers, migrations.RunPython.noop),
        # The updates leave deferred foreign-key checks pending; run them now, so a later
        # migration in the same transaction may still alter the table (see 0003).
        migrations.RunSQL("SET CONSTRAINTS ALL IMMEDIATE", reverse_sql=migrations.RunSQL.noop),
    ]
