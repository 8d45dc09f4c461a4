"""Defaults of a new tenant's health model (version 1)."""

from kpis.catalog import SHIPPED
from kpis.scoring import Band

DEFAULT_CATEGORY_WEIGHTS = SHIPPED.category_weights
DEFAULT_RENEWAL_PROBABILITIES = {Band.HEALTHY: 0.95, Band.RISK: 0.75, Band.CRITICAL: 0.45}
DEFAULT_OVERRIDE_RULES = [
    {
        "name": "A high-impact KPI in critical caps the account at risk",
        "impact": "high",
        "kpi_band": Band.CRITICAL,
        "cap_band": Band.RISK,
    }
]
