"""Workspace roles and the one rule about giving them: nobody gives a role above their own.

Every way a role is given (the user service, rows of a users import, the workspace admin's user
form) asks this module. It imports nothing from Django, so row validation can use it too.
"""

ADMIN, MANAGER, VIEWER = "admin", "manager", "viewer"
RANKED = (VIEWER, MANAGER, ADMIN)  # lowest first


def roles_up_to(acting_role: str) -> tuple[str, ...]:
    """The roles someone acting with `acting_role` may give: their own and those below it.
    An unknown acting role may give none."""
    return RANKED[: RANKED.index(acting_role) + 1] if acting_role in RANKED else ()


def role_grant_refusal(*, role: str, acting_role: str) -> str | None:
    """Why someone acting with `acting_role` may not give `role`, in a sentence; None if they may."""
    allowed = roles_up_to(acting_role)
    if role in allowed:
        return None
    choices = " or ".join(reversed(allowed)) or "no role"
    return (
        f"role {role} is above your own role {acting_role}; nobody can give a role above their own, "
        f"so choose {choices}, or ask someone with the {role} role to do it"
    )
