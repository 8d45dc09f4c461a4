"""The plan's limits on what a workspace holds (accounts, users): one rule, which every service
that adds such rows calls, so the portal, API, admin, imports and commands all meet it."""

from django.core.exceptions import ValidationError
from django.db import connection, models

from tenants.connection import tenant_connection
from tenants.models import Plan, Tenant


class PlanLimitReached(ValidationError):
    """Adding these rows would take the workspace past its plan; the message names the limit."""


def plan_current() -> Plan | None:
    """The plan of the workspace whose schema is current; None on the public schema or without a plan."""
    tenant = Tenant.objects.select_related("plan").filter(schema_name=tenant_connection().schema_name).first()
    return tenant.plan if tenant else None


def plan_limit_check(*, what: str, model: type[models.Model], adding: int = 1) -> None:
    """Refuse when the workspace's `model` rows plus `adding` more exceed the plan's `max_<what>`
    (`what` is "accounts" or "users"); `adding=0` checks rows the caller already wrote.

    Call it inside the transaction that writes: it holds this workspace's limit lock until the
    transaction ends, so two writers cannot both take the last free place."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))", [f"plan-limit:{tenant_connection().schema_name}"]
        )
    plan = plan_current()
    if plan is None:
        return
    limit, count = getattr(plan, f"max_{what}"), model._default_manager.count() + adding
    if count > limit:
        raise PlanLimitReached(
            f"Your {plan.name} plan allows {limit} {what}; this would bring the workspace to {count}. "
            f"Upgrade the plan, or remove {what} you no longer need.",
            code="plan_limit",
        )


def user_limit_check(sender: type[models.Model], **kwargs) -> None:
    """users.services.user_adding's receiver: a new user must fit the plan's user limit."""
    plan_limit_check(what="users", model=sender)
