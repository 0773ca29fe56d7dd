"""A score's JSON documents stored as ``json``, not ``jsonb``, on PostgreSQL.

``dimension_points``, ``reason_codes`` and ``components`` are written for every subject every
night and read one score at a time; ``jsonb`` parsed each one into its binary form on the way in
(0.18 s of a 25,000-company chunk's COPY), ``json`` only checks the syntax (see
``scoring.fields.StoredJSONField``).  Nothing queries inside them.

The column type changes on PostgreSQL only (one ALTER TABLE, which rewrites the table: on a
large production table, run it in a maintenance window).  On SQLite both are text already, and
altering the field there would rebuild the table and drop its triggers (see 0003), so the
database side is a no-op.
"""

from django.db import migrations

import scoring.fields

COLUMNS = ("dimension_points", "reason_codes", "components")


def _retype(schema_editor, to):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "ALTER TABLE scoring_score "
            + ", ".join(f"ALTER COLUMN {c} TYPE {to} USING {c}::{to}" for c in COLUMNS)
        )


def _forward(apps, schema_editor):
    _retype(schema_editor, "json")


def _backward(apps, schema_editor):
    _retype(schema_editor, "jsonb")


class Migration(migrations.Migration):
    dependencies = [("scoring", "0003_latest_pointer_hot_previous_score")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="score", name="dimension_points",
                    field=scoring.fields.StoredJSONField(default=dict),
                ),
                migrations.AlterField(
                    model_name="score", name="reason_codes",
                    field=scoring.fields.StoredJSONField(default=list, help_text="[{code, points_lost}], worst first"),
                ),
                migrations.AlterField(
                    model_name="score", name="components",
                    field=scoring.fields.StoredJSONField(
                        blank=True, null=True, help_text="Company composite: each contribution"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(_forward, _backward)],
        ),
    ]
