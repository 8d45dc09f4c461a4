"""Ship the default KPI catalog, best practices, industry benchmarks and health model v1
in every tenant schema (the template schema gets them, and clones inherit them).
Rows that already exist (possibly edited by the tenant) are left alone."""

from django.db import migrations

from kpis.catalog import BEST_PRACTICES, DEFAULT_KPIS, INDUSTRY_BENCHMARKS
from kpis.defaults import DEFAULT_CATEGORY_WEIGHTS, DEFAULT_OVERRIDE_RULES, DEFAULT_RENEWAL_PROBABILITIES

KPI_FIELDS = ("name", "category", "unit", "direction", "impact", "weight", "frequency", "worst", "critical",
              "healthy", "best", "min_value", "max_value", "description")  # fmt: skip


def seed(apps, schema_editor):
    kpis = _seed_kpis(apps.get_model("kpis", "KpiDefinition"))
    _seed_practices(apps.get_model("kpis", "BestPractice"), kpis)
    _seed_benchmarks(apps.get_model("kpis", "IndustryBenchmark"), kpis)
    HealthModel = apps.get_model("kpis", "HealthModel")
    if not HealthModel.objects.exists():
        HealthModel.objects.create(
            version=1,
            category_weights=DEFAULT_CATEGORY_WEIGHTS,
            override_rules=DEFAULT_OVERRIDE_RULES,
            renewal_probabilities=DEFAULT_RENEWAL_PROBABILITIES,
            created_by="Pulse defaults",
        )


def _seed_kpis(KpiDefinition) -> dict:
    return {
        kpi.key: KpiDefinition.objects.get_or_create(
            key=kpi.key, defaults={name: getattr(kpi, name) for name in KPI_FIELDS}
        )[0]
        for kpi in DEFAULT_KPIS
    }


def _seed_practices(BestPractice, kpis: dict) -> None:
    if BestPractice.objects.exists():
        return
    BestPractice.objects.bulk_create(
        BestPractice(
            kpi=kpis.get(p.kpi_key), category=p.category, band=p.band, title=p.title, advice=p.advice
        )
        for p in BEST_PRACTICES
    )


def _seed_benchmarks(IndustryBenchmark, kpis: dict) -> None:
    for b in INDUSTRY_BENCHMARKS:
        IndustryBenchmark.objects.get_or_create(
            industry=b.industry,
            kpi=kpis[b.kpi_key],
            defaults={"p25": b.p25, "median": b.median, "p75": b.p75},
        )


class Migration(migrations.Migration):
    dependencies = [("kpis", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
