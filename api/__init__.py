"""The API's shared machinery: key authentication, the base every view inherits, the one
exception handler, body parsers, schema helpers, and the platform endpoints (me, usage, keys,
ping). Product apps keep their endpoints in their own api.py; config/api_router.py routes them.
It imports tenants and users, never a product app."""
