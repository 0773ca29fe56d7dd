"""Bulk writes that use PostgreSQL's COPY where available and bulk_create elsewhere.

COPY is an order of magnitude faster than INSERT for the volumes of demo seeding,
nightly scoring and benchmarks; SQLite keeps the zero-setup path working.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection, models


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def copy_rows(model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert ``rows`` (tuples in ``columns`` order, DB column names) into ``model``'s table."""
    table = model._meta.db_table
    n = 0
    if is_postgres():
        cols = ", ".join(f'"{c}"' for c in columns)
        with connection.cursor() as cursor:
            raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
            with raw.copy(f'COPY "{table}" ({cols}) FROM STDIN') as copy:
                for row in rows:
                    copy.write_row(row)
                    n += 1
        return n
    by_column = {f.column: f.attname for f in model._meta.concrete_fields}
    attnames = [by_column[c] for c in columns]
    batch: list[models.Model] = []
    for row in rows:
        batch.append(model(**dict(zip(attnames, row, strict=True))))
        n += 1
        if len(batch) >= 5000:
            model.objects.bulk_create(batch)
            batch.clear()
    if batch:
        model.objects.bulk_create(batch)
    return n


def next_ids(model: type[models.Model], count: int) -> range:
    """Reserve ``count`` primary keys after the current maximum (single-writer bulk loads only)."""
    from django.db.models import Max

    start = (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1
    return range(start, start + count)


def reset_sequence(model: type[models.Model]) -> None:
    """After inserting explicit ids, move the PostgreSQL sequence past them."""
    if not is_postgres():
        return
    table = model._meta.db_table
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, %s), COALESCE((SELECT MAX(\"{pk}\") FROM \"{table}\"), 1))",
            [table, pk],
        )
