"""The shared store of published peer benchmarks, in the public schema.

Only cells that passed the thresholds are stored, already rounded and noised: nothing here
names or counts a single tenant."""

from django.db import models

from peers.publication import step_decimals

ALL_INDUSTRIES = "*"  # the industry key of the cells that pool every industry


class PeerCell(models.Model):
    """One published industry × KPI × month cell."""

    industry_key = models.CharField(
        max_length=80, help_text="The industry, case-folded, or * for all industries together."
    )
    industry = models.CharField(max_length=80, help_text="The industry as shown.")
    kpi_key = models.SlugField(max_length=64, help_text="A KPI of the shipped catalog.")
    month = models.DateField(help_text="First day of the month.")
    companies = models.PositiveIntegerField()
    accounts = models.PositiveIntegerField(help_text="Rounded to the nearest 10.")
    p25 = models.FloatField()
    median = models.FloatField()
    p75 = models.FloatField()
    step = models.FloatField(help_text="The quartiles are rounded to this step.")
    published_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["industry_key", "kpi_key", "month"], name="peercell_one_per_cell")
        ]
        indexes = [models.Index(fields=["kpi_key", "industry_key", "-month"], name="peercell_latest")]

    def __str__(self) -> str:
        return f"{self.industry} / {self.kpi_key} / {self.month:%Y-%m}"

    @property
    def decimals(self) -> int:
        """How many decimals to show the quartiles with: those of the rounding step."""
        return step_decimals(self.step)
