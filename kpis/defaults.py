"""Defaults of a new tenant's health model (version 1)."""

DEFAULT_CATEGORY_WEIGHTS = {
    "Product Usage": 30.0,
    "Support": 20.0,
    "Sentiment/VoC": 20.0,
    "Financial": 20.0,
    "Relationship": 10.0,
}
DEFAULT_RENEWAL_PROBABILITIES = {"healthy": 0.95, "risk": 0.75, "critical": 0.45}
DEFAULT_OVERRIDE_RULES = [
    {
        "name": "A high-impact KPI in critical caps the account at risk",
        "impact": "high",
        "kpi_band": "critical",
        "cap_band": "risk",
    }
]
