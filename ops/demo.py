"""The demo tenant seeded into an empty development database."""

from django.conf import settings
from django_tenants.utils import schema_context

from kpis.demo import demo_data_load, demo_renewal_history_load
from kpis.knowledge.demo import demo_documents_load
from playbooks.demo import demo_playbook_history_load, demo_playbooks_load
from tenants.models import Plan, Tenant
from tenants.services import AdminSpec, tenant_provision
from users.models import User

DEMO_SLUG = "demo"
DEMO_USERNAME = "admin"
STAFF_USERNAME = "staff"


def demo_seed() -> Tenant:
    """Create tenant `demo` with its admin and demo data, and a staff user for the back office.

    Callers check the database holds no tenant first.
    """
    if not User.objects.filter(username=STAFF_USERNAME).exists():
        User.objects.create_superuser(STAFF_USERNAME, "staff@pulse.example", settings.DEMO_ADMIN_PASSWORD)
    admin = AdminSpec(
        full_name="Demo Admin",
        email="admin@demo.example.com",
        password=settings.DEMO_ADMIN_PASSWORD,
        username=DEMO_USERNAME,
    )
    # The pro plan, so visitors can load more accounts than the free plan's 25.
    tenant = tenant_provision(
        name="Demo Company", slug=DEMO_SLUG, admin=admin, plan=Plan.objects.get(name="pro")
    )
    with schema_context(DEMO_SLUG):
        demo_data_load()
        demo_renewal_history_load()
        demo_playbook_history_load()
        demo_playbooks_load()
        demo_documents_load()
    return tenant
