import datetime as dt

import pytest
from django_tenants.utils import schema_context

from kpis.demo import demo_data_load

TODAY = dt.date(2026, 11, 23)


@pytest.fixture
def alice_data(alice):
    """Alice's schema filled with the demo dataset (25 accounts × 25 KPIs × 18 months)."""
    with schema_context("alice"):
        demo_data_load(today=TODAY)
    return alice
