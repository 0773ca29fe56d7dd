"""A paginator for the huge tables' admin lists: the unfiltered list shows the planner's
estimate of the table's rows (``pg_class.reltuples``, kept by autovacuum's ANALYZE) instead of
counting 100,000s of rows at every page view; a filtered or searched list counts exactly,
unless the planner expects at least ``EXACT_BELOW`` rows of a huge table (one night of scores:
a few hundred thousand), where its estimate stands (``FilteredEstimatePaginator``)."""

import json

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_BELOW = 20_000  # smaller tables are counted: an estimate buys nothing there


class EstimatedCountPaginator(Paginator):
    estimate_filtered = False

    @cached_property
    def count(self):
        counted = self._estimate_or_count()
        return super().count if counted is None else counted

    def _estimate_or_count(self) -> int | None:
        """The estimate of an unfiltered big table, or its exact count when small, in one
        statement (PostgreSQL runs the count only when the estimate is small); None: the
        list is filtered (or not on PostgreSQL), count it the usual way."""
        qs = self.object_list
        query = getattr(qs, "query", None)
        if query is None or query.is_sliced or query.combinator or query.distinct:
            return None
        connection = connections[qs.db]
        if connection.vendor != "postgresql":
            return None
        if query.where:
            return self._filtered_estimate(qs) if self.estimate_filtered else None
        table = connection.ops.quote_name(qs.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT CASE WHEN c.reltuples >= %s THEN c.reltuples::bigint ELSE (SELECT count(*) FROM {table}) END "
                "FROM pg_class c WHERE c.oid = %s::regclass",
                [EXACT_BELOW, qs.model._meta.db_table],
            )
            row = cursor.fetchone()
        return None if row is None else int(row[0])

    def _filtered_estimate(self, qs) -> int | None:
        """The planner's row estimate of the filtered list when it is large, else None (count)."""
        plan = json.loads(qs.order_by().explain(format="json"))
        rows = int(plan[0]["Plan"]["Plan Rows"]) if plan else 0
        return rows if rows >= EXACT_BELOW else None


class FilteredEstimatePaginator(EstimatedCountPaginator):
    """For lists that are always filtered (one date of scores): a large filtered result is
    not counted either."""

    estimate_filtered = True
