"""Template filters over ``config.backoffice.formatting``: ``{% load backoffice_format %}``.

    {{ line.limit|money }}          ¥1,234,567.00
    {{ line.limit|money_code }}     1,234,567.00 CNY
    {{ loan.annual_rate|rate }}     15.00%
    {{ score.pd|pd }}               0.48%
    {{ run.started_at|sh_datetime }} 2026-12-02 09:30   (Asia/Shanghai)
    {{ event.created_at|sh_date }}  2026-12-02
    {{ score.score|score_tier:score.tier }}  742 · B
    {{ count|thousands }}           2,000,000
"""

from django import template

from config.backoffice import formatting

register = template.Library()


@register.filter
def money(value, currency="CNY"):
    return formatting.format_money(value, currency or "CNY")


@register.filter
def money_code(value, currency="CNY"):
    return formatting.format_money(value, currency or "CNY", code=True)


@register.filter
def amount(value, places=2):
    return formatting.format_amount(value, int(places))


@register.filter
def thousands(value):
    return formatting.format_int(value)


@register.filter
def rate(value, places=2):
    return formatting.format_rate(value, int(places))


@register.filter
def pd(value):
    return formatting.format_pd(value)


@register.filter
def sh_date(value):
    return formatting.format_date(value)


@register.filter
def sh_datetime(value):
    return formatting.format_datetime(value)


@register.filter
def score_tier(score, tier=None):
    return formatting.format_score(score, tier)
