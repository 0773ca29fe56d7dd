"""Small helpers of the record pages' templates (formatting is ``backoffice_format``)."""

from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """``{{ row|get_item:name }}``: a dict's value by a variable key."""
    return (mapping or {}).get(key)
