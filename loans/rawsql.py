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

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

from config.sqlnames import column_names  # noqa: F401  (re-exported: loans' statements use it from here)


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
    conn = connections[DEFAULT_DB_ALIAS]  # not the proxy, see ``_params``
    for i, conv in enumerate(convs):
        if conv is not None:
            col, fns = conv
            for fn in fns:
                out[i] = fn(out[i], col, conn)
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


def _params(objs: Sequence[models.Model], fields: Sequence[models.Field], conn) -> list:
    # ``conn`` is the connection itself, not the ``connection`` proxy: every field's adapter
    # reads it, and each read through the proxy is a context-local lookup.
    return [f.get_db_prep_save(f.pre_save(obj, True), conn) for obj in objs for f in fields]


def _saved(obj: models.Model, pk, alias: str) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = alias


def insert(objs: Sequence[models.Model]) -> None:
    """INSERT new instances of one model in one statement and set their primary keys, like
    ``bulk_create`` (no save signals; ``auto_now``/``auto_now_add`` are filled by the fields'
    ``pre_save``, defaults were applied when the instances were built).  Both supported
    databases return the new ids in the order of the rows."""
    conn = connections[DEFAULT_DB_ALIAS]
    sql, fields = _insert_sql(type(objs[0]), len(objs))
    with conn.cursor() as cur:
        cur.execute(sql, _params(objs, fields, conn))
        ids = cur.fetchall()
    for obj, (pk,) in zip(objs, ids, strict=True):
        _saved(obj, pk, conn.alias)


@functools.cache
def _insert_together_sql(
    model: type[models.Model], child_model: type[models.Model], rows: int, link: str | None
) -> tuple[str, tuple[models.Field, ...], tuple[models.Field, ...]]:
    """``WITH parent AS (INSERT … RETURNING pk) INSERT INTO child … RETURNING parent's pk, pk``;
    the children's ``link`` column (if any) is filled from the CTE, not from a parameter."""
    parent_sql, fields = _insert_sql(model, 1)
    meta = child_model._meta
    child_fields = tuple(f for f in meta.concrete_fields if not f.primary_key)
    pk_of_parent = f'(SELECT "{model._meta.pk.column}" FROM parent)'
    cols = ", ".join(f'"{f.column}"' for f in child_fields)
    one = "(" + ", ".join(pk_of_parent if f.name == link else "%s" for f in child_fields) + ")"
    sql = (
        f"WITH parent AS ({parent_sql}) "
        f'INSERT INTO "{meta.db_table}" ({cols}) '
        f'VALUES {", ".join([one] * rows)} RETURNING {pk_of_parent}, "{meta.pk.column}"'
    )
    return sql, fields, tuple(f for f in child_fields if f.name != link)


def insert_together(obj: models.Model, children: Sequence[models.Model], *, link: str | None = None) -> None:
    """:func:`insert` ``obj``, then ``children`` (instances of one model) — in one statement on
    PostgreSQL, a data-modifying CTE, which saves a round trip on the hot path.  ``link``: the
    children's foreign key to ``obj`` (the children were built before ``obj`` had its id; the
    statement fills the column from the CTE and the instances get it afterwards).  SQLite has
    no data-modifying CTEs, so there it is two INSERTs."""
    conn = connections[DEFAULT_DB_ALIAS]
    if conn.vendor != "postgresql":
        insert([obj])
        if link is not None:
            for child in children:
                setattr(child, link, obj)  # the id is known now: set the column from the instance
        insert(children)
        return
    sql, fields, child_fields = _insert_together_sql(type(obj), type(children[0]), len(children), link)
    with conn.cursor() as cur:
        cur.execute(sql, _params([obj], fields, conn) + _params(children, child_fields, conn))
        ids = cur.fetchall()
    _saved(obj, ids[0][0], conn.alias)
    for child, (_, pk) in zip(children, ids, strict=True):
        if link is not None:
            setattr(child, link, obj)
        _saved(child, pk, conn.alias)
