import pytest
from django_tenants.utils import schema_context

from kpis.models import Account


@pytest.fixture
def techcorp(alice_data):
    with schema_context("alice"):
        return Account.objects.get(name="TechCorp Solutions")
