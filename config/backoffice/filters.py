"""List filters for the huge tables (scores: millions of rows, a few hundred thousand a night).

:class:`RecentDateFilter` makes a list date-first: it offers the latest dates that have rows and
shows the latest one when none is chosen, so a list never starts on the whole table, never
counts it, and needs no ``date_hierarchy`` (which reads every distinct date of the table).
"""

from __future__ import annotations

import datetime

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.db import connections
from django.utils.translation import gettext_lazy as _

from . import formatting


def recent_dates(model, field: str, limit: int) -> list[datetime.date]:
    """The ``limit`` latest distinct values of date column ``field``, newest first.

    On PostgreSQL a skip scan (one index probe per date, a recursive CTE) on an index that
    starts with the column; elsewhere a plain DISTINCT (small tables)."""
    qs = model._default_manager.all()
    connection = connections[qs.db]
    if connection.vendor != "postgresql":
        return list(qs.order_by(f"-{field}").values_list(field, flat=True).distinct()[:limit])
    table = connection.ops.quote_name(model._meta.db_table)
    column = connection.ops.quote_name(model._meta.get_field(field).column)
    sql = (
        f"WITH RECURSIVE d(day) AS ("
        f" (SELECT {column} FROM {table} ORDER BY {column} DESC LIMIT 1)"
        f" UNION ALL"
        f" SELECT (SELECT {column} FROM {table} WHERE {column} < d.day ORDER BY {column} DESC LIMIT 1) FROM d"
        f" WHERE d.day IS NOT NULL"
        f") SELECT day FROM d WHERE day IS NOT NULL LIMIT %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [limit])
        return [row[0] for row in cursor.fetchall()]


class RecentDateFilter(admin.SimpleListFilter):
    """One date at a time, the latest by default (no "All": the whole table is never listed).
    Subclass with ``field_name``; a date typed in the URL that is not among the recent ones
    still filters."""

    field_name = "as_of"
    parameter_name = "as_of"
    title = _("date")
    recent = 30

    def lookups(self, request, model_admin):
        self._dates = recent_dates(model_admin.model, self.field_name, self.recent)
        return [(d.isoformat(), formatting.format_date(d)) for d in self._dates]

    def value(self):
        chosen = super().value()
        if chosen is None and getattr(self, "_dates", None):
            return self._dates[0].isoformat()
        return chosen

    def queryset(self, request, queryset):
        chosen = self.value()
        if not chosen:
            return queryset
        try:
            day = datetime.date.fromisoformat(chosen)
        except ValueError as exc:
            raise IncorrectLookupParameters(exc) from exc
        return queryset.filter(**{self.field_name: day})

    def choices(self, changelist):
        chosen = self.value()
        for lookup, title in self.lookup_choices:
            yield {
                "selected": chosen == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }
