"""Playbooks listen to the ingest hook: triggers are evaluated right after data lands."""

from django.dispatch import receiver

from ingest.services import data_loaded
from playbooks.services import triggers_evaluate


@receiver(data_loaded, dispatch_uid="playbooks-evaluate-after-load")
def evaluate_after_load(sender, upload, account_ids, **kwargs) -> None:
    # Runs inside the upload's task (already in the background, in the tenant's schema).
    if account_ids:
        triggers_evaluate(account_ids=account_ids)
