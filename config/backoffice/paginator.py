"""A paginator for the huge tables' admin lists: the unfiltered list shows the planner's
estimate of the table's rows (``pg_class.reltuples``, kept by autovacuum's ANALYZE) instead of
counting 100,000s of rows at every page view; a filtered or searched list counts exactly."""

from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_BELOW = 20_000  # smaller tables are counted: an estimate buys nothing there


class EstimatedCountPaginator(Paginator):
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
        if query is None or query.where or query.is_sliced or query.combinator or query.distinct:
            return None
        connection = connections[qs.db]
        if connection.vendor != "postgresql":
            return None
        table = connection.ops.quote_name(qs.model._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT CASE WHEN c.reltuples >= %s THEN c.reltuples::bigint ELSE (SELECT count(*) FROM {table}) END "
                "FROM pg_class c WHERE c.oid = %s::regclass",
                [EXACT_BELOW, qs.model._meta.db_table],
            )
            row = cursor.fetchone()
        return None if row is None else int(row[0])
