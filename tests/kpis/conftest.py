from tests.conftest import DEMO_TODAY as TODAY  # noqa: F401  (the demo data's fixed "today")
