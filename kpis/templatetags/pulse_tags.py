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


# How each currency is written before an amount; the others are written after it ("1,200 CHF").
CURRENCY_PREFIX = {"USD": "$", "EUR": "€", "GBP": "£", "CAD": "CA$", "AUD": "A$", "JPY": "¥", "INR": "₹"}


@register.filter
def money(amount, tenant) -> str:
    """{{ 518854.2|money:current_tenant }} → $518,854: whole units, thousands separated, in the
    workspace's currency; a missing amount shows as a dash."""
    if amount in (None, ""):
        return "—"
    currency = getattr(tenant, "currency", "USD")
    number = f"{round(float(amount)):,}"
    prefix = CURRENCY_PREFIX.get(currency)
    if prefix is None:
        return f"{number} {currency}"
    return f"-{prefix}{number[1:]}" if number.startswith("-") else f"{prefix}{number}"
