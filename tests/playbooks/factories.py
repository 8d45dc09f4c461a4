"""Playbook executions and triggers for tests, made through playbooks.services in the schema the
connection is on. Playbooks themselves come from the catalog every tenant starts with."""

import factory

from playbooks.models import Execution, Playbook, Trigger
from playbooks.services import execution_start, trigger_create
from tests.kpis.factories import AccountFactory


def catalog_playbook(key: str) -> Playbook:
    return Playbook.objects.get(key=key)


class ExecutionFactory(factory.Factory):
    """A run of a catalog playbook (`renewal_safeguard` unless told) for a new account."""

    class Meta:
        model = Execution

    playbook = factory.LazyFunction(lambda: catalog_playbook("renewal_safeguard"))
    account = factory.SubFactory(AccountFactory)
    started_by = "user:test"
    owner = ""

    @classmethod
    def _create(cls, model_class, **fields) -> Execution:
        return execution_start(**fields)


class TriggerFactory(factory.Factory):
    """A trigger suggesting `voc_sprint` (unless told) for critical accounts (unless told)."""

    class Meta:
        model = Trigger

    playbook = factory.LazyFunction(lambda: catalog_playbook("voc_sprint"))
    condition = factory.LazyFunction(lambda: {"type": "band_in", "bands": ["critical"]})
    action = Trigger.Action.SUGGEST
    cooldown_days = 30
    enabled = True

    @classmethod
    def _create(cls, model_class, **fields) -> Trigger:
        return trigger_create(**fields)
