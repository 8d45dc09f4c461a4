from django import template

register = template.Library()


@register.filter
def get_item(mapping: dict, key):
    """{{ names|get_item:key }}: look a key up in a dict from a template."""
    return mapping.get(key, key)
