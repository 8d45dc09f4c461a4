"""Enumerate the API's URL patterns, so isolation tests cover every route that exists."""

from django.urls import URLPattern, URLResolver, get_resolver

API_PREFIX = "api/"
# Key-less by design: the schema, its docs and the liveness probe hold no tenant data.
PUBLIC_API_ROUTES = {"api/schema/", "api/docs/", "api/ping/"}


def api_routes(urlconf: str = "config.urls_tenants") -> dict[str, type]:
    """{"api/v1/keys/<pk>/": ViewClass} for every route of the API that needs a key."""
    return dict(_walk(get_resolver(urlconf).url_patterns, ""))


def _walk(patterns, prefix: str):
    for pattern in patterns:
        route = prefix + _route_text(pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif (
            isinstance(pattern, URLPattern)
            and route.startswith(API_PREFIX)
            and route not in PUBLIC_API_ROUTES
        ):
            view = pattern.callback
            yield route, getattr(view, "cls", None) or getattr(view, "view_class", None)


def _route_text(pattern) -> str:
    """Normalise both path() and router regexes to `keys/<pk>/`."""
    text = str(pattern.pattern).lstrip("^").rstrip("$")
    for regex in ("(?P<pk>[^/.]+)", "<str:pk>"):
        text = text.replace(regex, "<pk>")
    return text.replace("<int:number>", "<number>")
