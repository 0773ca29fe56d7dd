"""Model building blocks that the borrower files share with the rest of ``loans``.

They live here, at the bottom, because ``loans`` may import this app and this app may import
nothing of ``loans``: one definition of a money column, one of the time stamps.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


def MoneyField(**kwargs):  # noqa: N802 - reads like a field class
    return models.DecimalField(max_digits=18, decimal_places=2, **kwargs)


def in_choices(field: str, choices) -> Q:
    """The condition of a CheckConstraint keeping ``field`` among ``choices``' values."""
    return Q(**{f"{field}__in": choices.values})


class TimeStamped(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
