"""The plans Pulse ships with. Staff may edit them; seeding never overwrites an edit."""

# name, max accounts, max documents, max API requests / month, max users
DEFAULT_PLANS = [
    ("free", 25, 50, 1_000, 3),
    ("starter", 250, 500, 50_000, 10),
    ("pro", 2_500, 5_000, 500_000, 50),
    ("enterprise", 100_000, 100_000, 10_000_000, 1_000),
]


def plans_ensure_defaults(plan_model) -> None:
    """Create any missing default plan."""
    for name, accounts, documents, requests, users in DEFAULT_PLANS:
        plan_model.objects.get_or_create(
            name=name,
            defaults={
                "max_accounts": accounts,
                "max_documents": documents,
                "max_api_requests_per_month": requests,
                "max_users": users,
            },
        )
