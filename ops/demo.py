"""The demo tenant seeded into an empty development database."""

from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from kpis.demo import demo_data_load, demo_renewal_history_load, renewal_book_load
from kpis.knowledge.demo import demo_documents_load
from kpis.renewal_history import book_generate
from kpis.services import peer_benchmarks_refresh
from playbooks.demo import demo_playbook_history_load, demo_playbooks_load
from tenants.models import Plan, Tenant
from tenants.services import AdminSpec, tenant_peer_benchmarks_set, tenant_provision
from users.models import User

DEMO_SLUG = "demo"
DEMO_USERNAME = "admin"
STAFF_USERNAME = "staff"
# Small opted-in companies, so the demo tenant shows real peer cells. Each has 80 accounts
# across the industries, enough that with the demo tenant every cell has 6 companies and no
# company above the 40 % dominance limit.
DEMO_PEERS = ["Alderbrook", "Brightline", "Cobalt Ridge", "Driftwood", "Evergreen"]
DEMO_PEER_ACCOUNTS = 80


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
    if settings.DEMO_PEER_TENANTS:
        tenant = tenant_peer_benchmarks_set(tenant=tenant, enabled=True, changed_by=DEMO_USERNAME)
        demo_peers_seed()
    return tenant


def demo_peers_seed() -> list[Tenant]:
    """The demo peers (named "Demo peer: …"), opted in, with a year of KPI values, then the
    peer publication the nightly task would make. Never in production (DEMO_PEER_TENANTS):
    their made-up figures would sit in real companies' peer cells."""
    today, peers = timezone.localdate(), []
    for index, name in enumerate(DEMO_PEERS, start=1):
        slug = f"demo-peer-{index}"
        admin = AdminSpec(
            full_name=f"{name} Admin",
            email=f"admin@{slug}.example.com",
            password=settings.DEMO_ADMIN_PASSWORD,
            username=DEMO_USERNAME,
        )
        tenant = tenant_provision(
            name=f"Demo peer: {name}",
            slug=slug,
            admin=admin,
            demo_peer=True,
            plan=Plan.objects.get(name="pro"),
        )
        with schema_context(slug):
            renewal_book_load(
                book_generate(DEMO_PEER_ACCOUNTS, today, years=1, seed=100 + index, prefix="PEER")
            )
        peers.append(tenant_peer_benchmarks_set(tenant=tenant, enabled=True, changed_by=DEMO_USERNAME))
    peer_benchmarks_refresh(today=today)
    return peers
