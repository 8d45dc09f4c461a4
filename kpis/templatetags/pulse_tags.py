from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key):
    """{{ names|get_item:key }}: look a key up in a dict from a template (nothing to look in: "")."""
    return mapping.get(key, key) if hasattr(mapping, "get") else ""


@register.filter
def percent(share) -> str:
    """{{ 0.1234|percent }} → 12.3%; a missing figure (None, "") shows as a dash."""
    return "—" if share in (None, "") else f"{100 * share:.1f}%"
