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
        estimate = self._estimate()
        if estimate is None or estimate < EXACT_BELOW:
            return super().count
        return estimate

    def _estimate(self) -> int | None:
        qs = self.object_list
        query = getattr(qs, "query", None)
        if query is None or query.where or query.is_sliced or query.combinator:
            return None
        connection = connections[qs.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [qs.model._meta.db_table])
            row = cursor.fetchone()
        return int(row[0]) if row and row[0] and row[0] > 0 else None
