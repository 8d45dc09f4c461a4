"""Operations above the product apps: startup (`bootstrap`), demo seeding, schema health checks.
It may import every app below config; none imports it."""
