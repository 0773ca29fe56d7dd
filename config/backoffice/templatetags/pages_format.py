"""Stop-gap filters of the record pages (money, rates, PD); the theme's ``backoffice_format``
replaces them where it offers the same."""

from decimal import Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format

register = template.Library()


def _decimal(value):
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@register.filter
def cny(value):
    """1234567.8 -> "¥1,234,567.80" (blank for nothing)."""
    d = _decimal(value)
    return "" if d is None else f"¥{number_format(d, 2, force_grouping=True)}"


@register.filter
def rate_pct(value):
    """0.150000 -> "15.00 %"."""
    d = _decimal(value)
    return "" if d is None else f"{number_format(d * 100, 2)} %"


@register.filter
def pd_pct(value):
    """A probability 0..1 as a percentage with sensible precision: 0.0123456 -> "1.23 %"."""
    d = _decimal(value)
    if d is None:
        return ""
    pct = d * 100
    return f"{number_format(pct, 3 if pct < 1 else 2)} %"


@register.filter
def share_pct(value):
    """A ratio 0..1 as a percentage: 0.0512 -> "5.1 %"."""
    d = _decimal(value)
    return "" if d is None else f"{number_format(d * 100, 1)} %"


@register.filter
def get_item(mapping, key):
    return (mapping or {}).get(key)
