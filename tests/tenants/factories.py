"""Tenants and API keys for tests, made through the tenants services as registration and the
settings page make them."""

import factory

from tenants.models import ApiKey, Plan, Tenant
from tenants.services import AdminSpec, api_key_create, tenant_provision

PASSWORD = "correct-horse-battery-42"


class TenantFactory(factory.Factory):
    """A tenant with its schema (cloned from the template), host and first admin user; call it
    on the public schema. The admin signs in as `admin` with PASSWORD unless told otherwise."""

    class Meta:
        model = Tenant

    slug = factory.Sequence(lambda n: f"tenant{n}")
    name = factory.LazyAttribute(lambda o: f"{o.slug.title()} Inc")
    admin_username = "admin"
    admin_full_name = factory.LazyAttribute(lambda o: f"{o.slug.title()} Admin")
    admin_email = factory.LazyAttribute(lambda o: f"admin@{o.slug}.example.com")
    admin_password = PASSWORD
    plan = None

    @classmethod
    def _create(cls, model_class, *, slug, name, plan, **admin) -> Tenant:
        spec = AdminSpec(
            full_name=admin["admin_full_name"],
            email=admin["admin_email"],
            password=admin["admin_password"],
            username=admin["admin_username"],
        )
        return tenant_provision(name=name, slug=slug, admin=spec, plan=plan)


class ApiKeyFactory(factory.Factory):
    """A key of `tenant` (required). The full key, shown once in the product, is on `.full_key`."""

    class Meta:
        model = ApiKey

    name = factory.LazyAttribute(lambda o: f"test {o.scope}")
    scope = ApiKey.Scope.WRITE

    @classmethod
    def _create(cls, model_class, **fields) -> ApiKey:
        key, full_key = api_key_create(**fields)
        key.full_key = full_key
        return key


class PlanFactory(factory.django.DjangoModelFactory):
    """A plan roomy enough for any test; give only the limit a test is about. (Plans have no
    create service: staff make them in the back office.)"""

    class Meta:
        model = Plan

    name = factory.Sequence(lambda n: f"plan-{n}")
    max_accounts = 1000
    max_documents = 1000
    max_api_requests_per_month = 100_000
    max_users = 100
