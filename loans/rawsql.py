"""Precompiled statements for the online hot path (a partner's application POST).

The ORM compiles every query anew from its querysets — cloning, resolving lookups, quoting
names — which cost more CPU than everything else in an application request together.  The
statements of that path are therefore written once per process from the models' metadata
(table and column names), and values go in and out through the fields' own adapters and
converters, so instances come out exactly as the ORM would build them, on PostgreSQL and
SQLite alike.  Everything else uses the ORM.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from django.db import connection, models


def columns(model: type[models.Model], names: Sequence[str], alias: str) -> str:
    """``alias."col", …`` for the fields ``names`` (attribute names) of ``model``."""
    meta = model._meta
    return ", ".join(f'{alias}."{meta.get_field(n).column}"' for n in names)


@functools.cache
def _converters(vendor: str, model: type[models.Model], names: tuple[str, ...]) -> tuple:
    """Per column, the converters the ORM's compiler would apply (backend, then field)."""
    out = []
    for name in names:
        col = model._meta.get_field(name).get_col(model._meta.db_table)
        fns = tuple(connection.ops.get_db_converters(col) + col.get_db_converters(connection))
        out.append((col, fns) if fns else None)
    return tuple(out)


def converters(model: type[models.Model], names: Sequence[str]) -> tuple:
    """The converters of ``model``'s fields ``names``, for :func:`convert` (cached per process)."""
    return _converters(connection.vendor, model, tuple(names))


def convert(values: Sequence, convs: tuple) -> list:
    """Apply :func:`converters` to one row's values."""
    out = list(values)
    for i, conv in enumerate(convs):
        if conv is not None:
            col, fns = conv
            for fn in fns:
                out[i] = fn(out[i], col, connection)
    return out


def instance(model: type[models.Model], names: Sequence[str], values: Sequence, convs: tuple):
    """A model instance from raw column values, as ``Model.from_db`` builds it for a queryset."""
    return model.from_db(connection.alias, list(names), convert(values, convs))


@functools.cache
def _insert_sql(model: type[models.Model], rows: int) -> tuple[str, tuple[models.Field, ...]]:
    meta = model._meta
    fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    cols = ", ".join(f'"{f.column}"' for f in fields)
    one = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = f'INSERT INTO "{meta.db_table}" ({cols}) VALUES {", ".join([one] * rows)} RETURNING "{meta.pk.column}"'
    return sql, fields


def insert(objs: Sequence[models.Model]) -> None:
    """INSERT new instances of one model in one statement and set their primary keys, like
    ``bulk_create`` (no save signals; ``auto_now``/``auto_now_add`` are filled by the fields'
    ``pre_save``, defaults were applied when the instances were built).  Both supported
    databases return the new ids in the order of the rows."""
    model = type(objs[0])
    sql, fields = _insert_sql(model, len(objs))
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for obj in objs for f in fields]
    with connection.cursor() as cur:
        cur.execute(sql, params)
        ids = cur.fetchall()
    for obj, (pk,) in zip(objs, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
