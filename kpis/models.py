"""Accounts, the KPI catalog, KPI time series and everything computed from them.
Tenant schemas only: every row here belongs to the tenant whose schema holds it."""

import uuid

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, Q

from kpis import scoring


def catalog_fingerprint_field() -> models.CharField:
    """Where catalog_sync keeps the hash of the catalog values it last wrote into a row."""
    return models.CharField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="Hash of the catalog values last synced into this row; empty for rows the tenant made.",
    )


class Band(models.TextChoices):
    """The health engine's bands (kpis.scoring.Band), with their names on screen."""

    HEALTHY = scoring.Band.HEALTHY.value, "Healthy"
    RISK = scoring.Band.RISK.value, "At risk"
    CRITICAL = scoring.Band.CRITICAL.value, "Critical"


# What a file or the admin sets of an account; the external id is its key.
ACCOUNT_FIELDS = ("name", "revenue", "industry", "region", "status", "renewal_date", "owner")


class Account(models.Model):
    """One of the tenant's own customers."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ONBOARDING = "onboarding", "Onboarding"
        CHURNED = "churned", "Churned"
        INACTIVE = "inactive", "Inactive"

    external_id = models.CharField(
        max_length=64, unique=True, help_text="The id in the tenant's own systems."
    )
    name = models.CharField(max_length=200, db_index=True)
    revenue = models.DecimalField("ARR", max_digits=14, decimal_places=2, default=0)
    industry = models.CharField(max_length=80, blank=True, db_index=True)
    region = models.CharField(max_length=80, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    renewal_date = models.DateField(null=True, blank=True)
    owner = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AccountNote(models.Model):
    """What a CSM wrote about an account, on its timeline."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="notes")
    body = models.TextField(max_length=5000)
    # Who wrote it, as shown (a teammate's name, or an API key's): text, not a foreign key, for
    # the same reason as Insight.assigned_to (users live in the public schema too).
    author = models.CharField(max_length=160)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-created_at"], name="accountnote_timeline")]

    def __str__(self) -> str:
        return f"{self.author} on {self.account_id}: {self.body[:40]}"


class KpiDefinition(models.Model):
    """A KPI of the catalog with its reference range: the values scoring 0, 40, 70 and 100."""

    class Direction(models.TextChoices):
        HIGHER = "higher", "Higher is better"
        LOWER = "lower", "Lower is better"

    class Impact(models.TextChoices):
        HIGH = "high", "High"
        MEDIUM = "medium", "Medium"
        LOW = "low", "Low"

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    category = models.CharField(max_length=40, db_index=True)
    unit = models.CharField(max_length=30, blank=True)
    direction = models.CharField(max_length=6, choices=Direction.choices, default=Direction.HIGHER)
    impact = models.CharField(max_length=6, choices=Impact.choices, default=Impact.MEDIUM)
    weight = models.FloatField(default=1.0)
    frequency = models.CharField(max_length=20, default="monthly")
    worst = models.FloatField(help_text="Value that scores 0.")
    critical = models.FloatField(help_text="Boundary between critical and risk (scores 40).")
    healthy = models.FloatField(help_text="Boundary between risk and healthy (scores 70).")
    best = models.FloatField(help_text="Value that scores 100.")
    min_value = models.FloatField(help_text="Lowest physically possible value; below is invalid input.")
    max_value = models.FloatField(help_text="Highest physically possible value; above is invalid input.")
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    catalog_fingerprint = catalog_fingerprint_field()

    class Meta:
        ordering = ["category", "key"]
        # The scores interpolate between the anchors, so they must run the way the KPI improves.
        constraints = [
            models.CheckConstraint(
                condition=~Q(direction="higher")
                | Q(worst__lt=F("critical"), critical__lt=F("healthy"), healthy__lt=F("best")),
                name="kpidefinition_range_rises",
                violation_error_message="Higher is better here: worst < critical < healthy < best.",
            ),
            models.CheckConstraint(
                condition=~Q(direction="lower")
                | Q(worst__gt=F("critical"), critical__gt=F("healthy"), healthy__gt=F("best")),
                name="kpidefinition_range_falls",
                violation_error_message="Lower is better here: worst > critical > healthy > best.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class KpiValue(models.Model):
    """One KPI of one account for one month. A re-upload adds a new version and keeps the
    old one (is_current moves to the newest)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="kpi_values")
    kpi = models.ForeignKey(KpiDefinition, on_delete=models.PROTECT, related_name="values")
    period = models.DateField(help_text="First day of the month.")
    value = models.FloatField()
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    source = models.CharField(
        max_length=60, blank=True, help_text="Where it came from, e.g. upload:12, api, demo."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "kpi", "period", "version"], name="kpivalue_unique_version"
            ),
            models.UniqueConstraint(
                fields=["account", "kpi", "period"], condition=Q(is_current=True), name="kpivalue_one_current"
            ),
        ]
        indexes = [models.Index(fields=["period", "account"], name="kpivalue_period_account")]

    def __str__(self) -> str:
        return f"{self.kpi_id}@{self.period:%Y-%m} v{self.version}"


class HealthModel(models.Model):
    """How a tenant scores health. Never edited in place: every change is a new version,
    and snapshots record the version they were computed under."""

    class MissingData(models.TextChoices):
        REDISTRIBUTE = "redistribute", "Leave missing KPIs out and redistribute their weight"
        SCORE_ZERO = "score_zero", "Score missing KPIs as 0"

    class UploadMode(models.TextChoices):
        CORPORATE = "corporate", "Corporate: one file for all accounts"
        ACCOUNT_ROLLUP = "account_rollup", "Account roll-up: one file per account"

    version = models.PositiveIntegerField(unique=True)
    category_weights = models.JSONField(default=dict)
    healthy_min = models.FloatField(default=scoring.HEALTHY_SCORE)
    critical_below = models.FloatField(default=scoring.CRITICAL_SCORE)
    missing_data_rule = models.CharField(
        max_length=14, choices=MissingData.choices, default=MissingData.REDISTRIBUTE
    )
    override_rules = models.JSONField(default=list, blank=True)
    renewal_probabilities = models.JSONField(default=dict)
    upload_mode = models.CharField(max_length=14, choices=UploadMode.choices, default=UploadMode.CORPORATE)
    master_file_name = models.CharField(max_length=200, blank=True)
    learned_model = models.ForeignKey(
        "LearnedModel",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="When set, this version's live score is the learned churn model's, not the rules'.",
    )
    backfilling = models.BooleanField(
        default=False,
        help_text="Its snapshots are still being computed: readers keep the previous version until the "
        "backfill's last step switches them to this one.",
    )
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"Health model v{self.version}"


# A score backed by less of the model's weight than this (coverage, in %) says too little to be read
# as a band: it is shown as "insufficient data", though its band is stored as computed.
MIN_COVERAGE = 50.0


class HealthSnapshot(models.Model):
    """An account's health for one month under one model version, with its explanation."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="snapshots")
    period = models.DateField()
    model_version = models.PositiveIntegerField()
    score = models.FloatField()
    band = models.CharField(max_length=8, choices=Band.choices)
    category_scores = models.JSONField(default=dict)
    coverage = models.FloatField(help_text="Share of the model's weight backed by data, in %.")
    explanation = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "period", "model_version"], name="snapshot_one_per_version"
            )
        ]
        indexes = [models.Index(fields=["model_version", "period", "band"], name="snapshot_version_period")]

    def __str__(self) -> str:
        return f"{self.account_id} {self.period:%Y-%m}: {self.score:.0f} ({self.band})"

    @property
    def insufficient_data(self) -> bool:
        return self.coverage < MIN_COVERAGE


class Insight(models.Model):
    class Rule(models.TextChoices):
        SCORE_DROP = "score_drop", "Health dropped"
        KPI_CRITICAL = "kpi_critical", "KPI entered critical"
        RENEWAL_RISK = "renewal_risk", "Renewal at risk"
        EXPANSION = "expansion_signal", "Expansion signal"
        DATA_GAP = "data_gap", "Data gap"
        PLAYBOOK_SUGGESTED = "playbook_suggested", "Playbook suggested"

    class Severity(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        CRITICAL = "critical", "Critical"

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="insights")
    rule = models.CharField(max_length=20, choices=Rule.choices)
    subject = models.CharField(
        max_length=64, blank=True, help_text="What within the rule, e.g. a playbook key."
    )
    period = models.DateField()
    severity = models.CharField(max_length=8, choices=Severity.choices)
    title = models.CharField(max_length=200)
    detail = models.TextField()
    data = models.JSONField(default=dict, help_text="The numbers behind the insight.")
    created_at = models.DateTimeField(auto_now_add=True)
    # Triage, kept across regenerations (insights are inserted once per month and rule). The
    # generator writes rows with raw SQL, hence database defaults.
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=160, blank=True, db_default="")
    snoozed_until = models.DateField(null=True, blank=True)
    # A username, not a foreign key: users live in the public schema too, and a foreign key from
    # this tenant-only table would make deleting any public user look for it there.
    assigned_to = models.CharField(max_length=150, blank=True, db_default="")

    class Meta:
        ordering = ["-period", "-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "rule", "period", "subject"], name="insight_once_per_month"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_suggestion(self) -> bool:
        return self.rule in SUGGESTION_RULES

    def status_on(self, today) -> str:
        if self.acknowledged_at:
            return "acknowledged"
        if self.snoozed_until and self.snoozed_until > today:
            return "snoozed"
        return "open"


# Insights that propose something (run a playbook, talk expansion) rather than report a problem:
# listed apart, so problems are not buried under suggestions.
SUGGESTION_RULES = (Insight.Rule.PLAYBOOK_SUGGESTED, Insight.Rule.EXPANSION)


class FinancialProjection(models.Model):
    """Expected renewal revenue and risk of one account, from its latest health."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="projections")
    model_version = models.PositiveIntegerField()
    period = models.DateField(help_text="Month of the health snapshot it is based on.")
    band = models.CharField(max_length=8, choices=Band.choices)
    renewal_probability = models.FloatField()
    expected_renewal_revenue = models.DecimalField(max_digits=14, decimal_places=2)
    revenue_at_risk = models.DecimalField(max_digits=14, decimal_places=2)
    expansion_potential = models.DecimalField(max_digits=14, decimal_places=2)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "model_version"], name="projection_one_per_version")
        ]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.expected_renewal_revenue}"


class IndustryBenchmark(models.Model):
    """Shipped reference quartiles per industry and KPI (the tenant's own quartiles are
    computed from its accounts when shown)."""

    industry = models.CharField(max_length=80)
    kpi = models.ForeignKey(KpiDefinition, on_delete=models.CASCADE, related_name="benchmarks")
    p25 = models.FloatField()
    median = models.FloatField()
    p75 = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["industry", "kpi"], name="benchmark_one_per_industry_kpi")
        ]

    def __str__(self) -> str:
        return f"{self.industry} {self.kpi_id}"


class BestPractice(models.Model):
    """Advice shown when a KPI (or a whole category) is in risk or critical."""

    kpi = models.ForeignKey(
        KpiDefinition, on_delete=models.CASCADE, null=True, blank=True, related_name="practices"
    )
    category = models.CharField(max_length=40)
    band = models.CharField(max_length=8, choices=Band.choices)
    title = models.CharField(max_length=200)
    advice = models.TextField()

    class Meta:
        ordering = ["category", "title"]

    def __str__(self) -> str:
        return self.title


class RenewalOutcome(models.Model):
    """What happened at one renewal of an account. An account that churned keeps every row here
    and all its KPI history: they are what later report cards are measured on."""

    class Outcome(models.TextChoices):
        RENEWED = "renewed", "Renewed"
        CHURNED = "churned", "Churned"
        CONTRACTED = "contracted", "Contracted"
        EXPANDED = "expanded", "Expanded"

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="renewals")
    renewal_date = models.DateField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    arr_before = models.DecimalField(max_digits=14, decimal_places=2)
    arr_after = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    source = models.CharField(
        max_length=60, blank=True, help_text="Where it came from, e.g. upload:12, demo."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-renewal_date"]
        constraints = [
            models.UniqueConstraint(fields=["account", "renewal_date"], name="renewal_one_per_account_date")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} {self.renewal_date}: {self.outcome}"


class LearnedModel(models.Model):
    """One training of the tenant's churn model: its fitted parameters, its report card on the
    rolling-origin folds, the rules' card on the same folds, and whether it is proven."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        TRAINING = "training", "Training"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.CharField(max_length=150, blank=True)
    compared_with_version = models.PositiveIntegerField(
        null=True, blank=True, help_text="The health model version whose rules it was measured against."
    )
    parameters = models.JSONField(default=dict, blank=True, help_text="The fitted model (kpis/churn.py).")
    report_card = models.JSONField(default=dict, blank=True)
    rules_report_card = models.JSONField(default=dict, blank=True)
    proven = models.BooleanField(default=False)
    verdict = models.TextField(blank=True, help_text="Why it is unproven, or how it compares with the rules.")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Learned model {self.created_at:%Y-%m-%d %H:%M} ({self.status})"


class ReportCard(models.Model):
    """The backtest of one health model version's live score on the tenant's renewals."""

    model_version = models.PositiveIntegerField(unique=True)
    method = models.CharField(max_length=8, default="rules", help_text="rules or learned")
    card = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-model_version"]

    def __str__(self) -> str:
        return f"Report card v{self.model_version} ({self.method})"


# --- Knowledge base ------------------------------------------------------------------------------


class KbDocument(models.Model):
    """A document of the tenant's knowledge base; its passages are KbChunk rows."""

    doc_id = models.CharField(max_length=100, unique=True, help_text="The tenant's own id for it.")
    title = models.CharField(max_length=300)
    content = models.TextField()
    source_name = models.CharField(max_length=255, blank=True, help_text="The file it came from, if any.")
    content_hash = models.CharField(
        max_length=64, help_text="Of title and content: unchanged → not re-indexed."
    )
    created_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "doc_id"]

    def __str__(self) -> str:
        return self.title


class KbChunk(models.Model):
    """A passage of a few sentences: what search finds and answers cite."""

    document = models.ForeignKey(KbDocument, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField(help_text="0 for the document's first passage.")
    heading = models.CharField(max_length=300, help_text="The document's title, searched with more weight.")
    text = models.TextField()
    embedding = models.BinaryField(help_text="The passage's sentence embedding: 384 little-endian float32.")
    model = models.CharField(max_length=40, help_text="The embedding model that made it.")
    search = models.GeneratedField(
        expression=SearchVector("heading", weight="A", config="english")
        + SearchVector("text", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )

    class Meta:
        ordering = ["document", "position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="kbchunk_one_per_position")
        ]
        indexes = [GinIndex(fields=["search"], name="kbchunk_search")]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.position}"


class KbIndex(models.Model):
    """One row: the index version, bumped in the transaction of every document change. Cached
    answers and the in-process embedding matrix are keyed by token and version, so a change retires
    them; the token, drawn when the row is made, tells apart a workspace recreated under the same
    schema name, whose versions start again at 1."""

    version = models.PositiveBigIntegerField(default=0)
    token = models.UUIDField(default=uuid.uuid4)

    def __str__(self) -> str:
        return f"knowledge index v{self.version}"


class KbQuery(models.Model):
    """A question asked, what was answered, from which sources, how fast, and by whom."""

    class Via(models.TextChoices):
        PORTAL = "portal", "Portal"
        API = "api", "API"

    question = models.TextField()
    answer = models.TextField()
    answered = models.BooleanField()
    sources = models.JSONField(default=list, blank=True)
    latency_ms = models.FloatField()
    asked_by = models.CharField(max_length=150, help_text="user:<username> or api:<key prefix>.")
    via = models.CharField(max_length=6, choices=Via.choices)
    cached = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.question[:80]
