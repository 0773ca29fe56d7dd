"""Names for raw SQL from the models' metadata, for every app (loans, scoring, monitoring).

A statement written by hand names its tables with ``Model._meta.db_table`` and its columns with
:func:`column_names`, never typed in, so a field's column is spelled in one place (the model).
It lives in ``config`` because scoring may not import loans (the dependency rule)."""

from __future__ import annotations

import functools

from django.db import models


@functools.cache
def column_names(model: type[models.Model]) -> dict[str, str]:
    """``{field name: '"column"'}`` of ``model``'s concrete fields (a foreign key under its name
    and its attname), for statements written with the model's metadata, not typed-in names."""
    out = {}
    for f in model._meta.concrete_fields:
        out[f.name] = out[f.attname] = f'"{f.column}"'
    return out
