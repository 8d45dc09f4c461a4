"""Which key scopes a request needs: read keys may only read; writes need a write key; a view's
`required_scope` raises the bar. Both the statement that admits a request (it counts only requests
the key's scope covers) and the permission that refuses the rest ask here."""

from rest_framework.permissions import SAFE_METHODS

from tenants.models import ApiKey

SCOPE_RANK = {ApiKey.Scope.READ: 0, ApiKey.Scope.WRITE: 1, ApiKey.Scope.ADMIN: 2}


def scope_needed(view, method: str) -> str:
    needed = view.required_scope
    writes = method not in SAFE_METHODS and not view.posts_are_reads
    if writes and SCOPE_RANK[needed] < SCOPE_RANK[ApiKey.Scope.WRITE]:
        return ApiKey.Scope.WRITE
    return needed


def scopes_covering(view, method: str) -> list[str]:
    """The scopes a key may have to make this request."""
    needed = SCOPE_RANK[scope_needed(view, method)]
    return [scope for scope, rank in SCOPE_RANK.items() if rank >= needed]
