from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("playbooks", "0002_default_playbooks"),
    ]

    operations = [
        # When 0002 runs in the same transaction (a schema migrated inside one, as the clone
        # test does), its seeded triggers leave deferred foreign-key checks pending, and
        # PostgreSQL refuses to ALTER a table with pending trigger events: run them now.
        migrations.RunSQL("SET CONSTRAINTS ALL IMMEDIATE", reverse_sql=migrations.RunSQL.noop),
        migrations.AddField(
            model_name="trigger",
            name="last_error",
            field=models.TextField(
                blank=True, help_text="Why evaluation skipped this trigger; empty once it runs or is fixed."
            ),
        ),
    ]
