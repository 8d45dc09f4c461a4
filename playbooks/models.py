"""Playbooks, their executions for accounts, and the triggers that start them."""

import uuid

from django.db import models
from django.db.models import Q

from kpis.models import catalog_fingerprint_field
from playbooks.criteria import condition_sentence


class Playbook(models.Model):
    """A repeatable play a CS team runs. Tenants edit the shipped ones and add their own."""

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=120)
    purpose = models.TextField()
    when_to_use = models.TextField(blank=True)
    expected_duration_days = models.PositiveIntegerField(default=30)
    expected_outcomes = models.JSONField(default=list, blank=True)
    exit_criteria = models.JSONField(default=list, blank=True, help_text='[{"key", "description", "check"}]')
    active = models.BooleanField(default=True)
    # Covers the steps too: they come with the playbook and change only through the catalog.
    catalog_fingerprint = catalog_fingerprint_field()
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PlaybookStep(models.Model):
    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveIntegerField()
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    responsible = models.JSONField(default=list, help_text="Roles or usernames who do the work.")
    accountable = models.CharField(max_length=150, help_text="The one role or user who answers for it.")
    consulted = models.JSONField(default=list, blank=True)
    informed = models.JSONField(default=list, blank=True)
    due_offset_days = models.PositiveIntegerField(default=0)
    required = models.BooleanField(default=True)

    class Meta:
        ordering = ["playbook", "order"]
        constraints = [
            models.UniqueConstraint(fields=["playbook", "order"], name="playbookstep_unique_order")
        ]

    def __str__(self) -> str:
        return f"{self.playbook.key} #{self.order} {self.title}"


class Execution(models.Model):
    """One run of a playbook for an account. `plan` is a copy of the playbook's steps,
    outcomes and exit criteria at start, so later catalog edits never rewrite history."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    playbook = models.ForeignKey(Playbook, on_delete=models.PROTECT, related_name="executions")
    account = models.ForeignKey("kpis.Account", on_delete=models.CASCADE, related_name="executions")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    plan = models.JSONField(default=dict)
    current_step = models.PositiveIntegerField(default=0)
    owner = models.CharField(max_length=150, blank=True)
    notes = models.TextField(blank=True)
    started_by = models.CharField(max_length=150, help_text="user:<name> or trigger:<id>")
    started_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    health_at_start = models.JSONField(default=dict, blank=True)
    manual_criteria = models.JSONField(
        default=dict, blank=True, help_text="{key: {by, at}} of ticked criteria."
    )
    completion_reason = models.CharField(max_length=200, blank=True)

    # Not stored: playbooks.selectors.with_actor_text sets it for the pages that name who started runs.
    started_by_text: str

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            # Never two open runs of one playbook for one account, whoever starts them.
            models.UniqueConstraint(
                fields=["playbook", "account"], condition=Q(status="in_progress"), name="one_open_execution"
            )
        ]

    def __str__(self) -> str:
        return f"{self.plan.get('name', self.playbook_id)} for {self.account_id}"


class StepProgress(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        SKIPPED = "skipped", "Skipped"

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="progress")
    index = models.PositiveIntegerField(help_text="Position in the execution's plan, from 0.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    due_date = models.DateField()
    notes = models.TextField(blank=True)
    done_by = models.CharField(max_length=150, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)

    # Not stored: playbooks.selectors.open_steps sets them for the pages that list open steps.
    overdue: bool
    title: str

    class Meta:
        ordering = ["execution", "index"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "index"], name="stepprogress_unique_index")
        ]

    def __str__(self) -> str:
        return f"{self.execution_id} step {self.index}: {self.status}"


class Trigger(models.Model):
    """Starts or suggests a playbook for accounts that meet a condition."""

    class Action(models.TextChoices):
        AUTO_START = "auto_start", "Start automatically"
        SUGGEST = "suggest", "Suggest (one-click start)"

    playbook = models.ForeignKey(Playbook, on_delete=models.CASCADE, related_name="triggers")
    condition = models.JSONField(help_text='e.g. {"type": "band_in", "bands": ["risk", "critical"]}')
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.SUGGEST)
    cooldown_days = models.PositiveIntegerField(default=30)
    enabled = models.BooleanField(default=True)
    last_evaluated_at = models.DateTimeField(null=True, blank=True)
    last_triggered_at = models.DateTimeField(null=True, blank=True)
    times_triggered = models.PositiveIntegerField(default=0)
    last_error = models.TextField(
        blank=True, help_text="Why evaluation skipped this trigger; empty once it runs or is fixed."
    )
    catalog_key = models.SlugField(
        max_length=64,
        blank=True,
        editable=False,
        help_text="The catalog's name for a default trigger within its playbook; empty for the tenant's own.",
    )
    catalog_fingerprint = catalog_fingerprint_field()
    # The experiment: a share of the accounts it fires for is held out (drawn once per account,
    # never re-drawn), so the playbook's effect can be measured against them.
    holdout_share = models.FloatField(
        default=0,
        help_text="Share of the accounts it fires for that get no run (0 to 0.5); 0 holds none out.",
    )
    holdout_delay_days = models.PositiveIntegerField(
        default=0, help_text="Held-out accounts get their run this many days later; 0: never."
    )
    holdout_reason = models.CharField(max_length=300, blank=True, help_text="Why accounts are held out.")
    # Calm automation: an auto-started run always has an owner, and one evaluation starts a
    # bounded number of runs (a big upload must not flood the team).
    fallback_owner = models.CharField(
        max_length=150,
        blank=True,
        help_text="Teammate (username) who owns runs it starts for accounts without an owner; "
        "empty: those accounts are only suggested.",
    )
    max_starts_per_evaluation = models.PositiveIntegerField(
        default=25,
        help_text="At most this many runs started per evaluation; the other accounts go into one summary insight.",
    )
    holdout_critical_renewals = models.BooleanField(
        default=False,
        help_text="Also hold out accounts in the critical band whose renewal is under 30 days away.",
    )

    class Meta:
        ordering = ["playbook", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["playbook", "catalog_key"],
                condition=~Q(catalog_key=""),
                name="trigger_one_per_catalog_key",
            )
        ]

    def __str__(self) -> str:
        return self.sentence

    @property
    def condition_text(self) -> str:
        """The condition as a person says it; rows saved before validation still read as one."""
        return condition_sentence(self.condition)

    @property
    def sentence(self) -> str:
        """What the team calls it: "health band is critical → Renewal Safeguard"."""
        return f"{self.condition_text} → {self.playbook.name}"


class TriggerFiring(models.Model):
    """When a trigger fired for an account: the cooldown is counted from here."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="firings")
    account = models.ForeignKey("kpis.Account", on_delete=models.CASCADE, related_name="trigger_firings")
    fired_at = models.DateTimeField()
    execution = models.ForeignKey(
        Execution, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        indexes = [models.Index(fields=["trigger", "account", "fired_at"], name="firing_cooldown_lookup")]

    def __str__(self) -> str:
        return f"{self.trigger_id} → {self.account_id} at {self.fired_at:%Y-%m-%d}"


class HoldoutDraw(models.Model):
    """The draw for one account the first time a trigger fired for it: held out or not. It is
    recorded then and never re-drawn, so the comparison group cannot drift."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="draws")
    account = models.ForeignKey("kpis.Account", on_delete=models.CASCADE, related_name="holdout_draws")
    held_out = models.BooleanField()
    drawn_at = models.DateTimeField()
    delay_days = models.PositiveIntegerField(
        default=0, help_text="The trigger's delay when drawn: the held-out run starts then (0: never)."
    )
    kept_because = models.CharField(
        max_length=200, blank=True, help_text="Why an account was not put in the draw, e.g. a near renewal."
    )
    delayed_run_at = models.DateTimeField(
        null=True, blank=True, help_text="When the delayed run was started."
    )

    class Meta:
        ordering = ["trigger", "drawn_at"]
        constraints = [
            models.UniqueConstraint(fields=["trigger", "account"], name="holdoutdraw_one_per_trigger_account")
        ]

    def __str__(self) -> str:
        return f"{self.trigger_id} → {self.account_id}: {'held out' if self.held_out else 'runs'}"


class CatalogState(models.Model):
    """The shipped catalogs this schema was last synced with (one row, by their fingerprint):
    `bootstrap` syncs only the schemas whose fingerprint is not the code's. A tenant cloned from
    the template inherits the template's row with its catalogs."""

    fingerprint = models.CharField(max_length=64)
    synced_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"catalogs {self.fingerprint[:12]} synced {self.synced_at:%Y-%m-%d %H:%M}"
