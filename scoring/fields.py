"""Model fields of the scoring app."""

from __future__ import annotations

from django.db import models


class StoredJSONField(models.JSONField):
    """A ``JSONField`` stored as PostgreSQL ``json`` (the text as written), not ``jsonb``.

    For documents written in bulk and read one at a time: a score's dimension points, reason
    codes and composite components are written for every subject every night and read when an
    officer or a partner looks at one score.  ``jsonb`` parses each document into its binary
    form on the way in (a company's components: about 7 µs, 0.18 s of a 25,000-company chunk's
    COPY); ``json`` only checks the syntax and keeps the text, keys in the order written.
    Nothing queries inside these documents (no containment, no key index: what ``jsonb`` is
    for).  Elsewhere (SQLite) the type is JSONField's own.
    """

    def db_type(self, connection):
        if connection.vendor == "postgresql":
            return "json"
        return super().db_type(connection)

    def from_db_value(self, value, expression, connection):
        # psycopg parses a json column itself; Django has it hand jsonb over as text only
        if value is not None and not isinstance(value, str):
            return value
        return super().from_db_value(value, expression, connection)
