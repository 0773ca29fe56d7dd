"""Scores of a date found through a BRIN index instead of a B-tree.

Scores are appended a date at a time (the nightly run writes each date's scores together, in
date order), so the heap is laid out by ``as_of`` and a block-range index finds a date's rows
as well as a B-tree for what reads by date (the admin's date filter, a date's tier mix, a
date's existence) — at a fraction of the cost.  The B-tree on (as_of, subject_kind, tier)
took one index entry and its WAL record per score: about 10% of the insert's work in a nightly
chunk.  A BRIN index is summarised per block range (``autosummarize``: as ranges fill), not
per row.  The early-warning rule keeps its own partial index (score_drop_candidates_idx).

PostgreSQL only: SQLite has no BRIN, and development databases are small enough to scan.
"""

from django.db import migrations

PG_CREATE = "CREATE INDEX IF NOT EXISTS score_as_of_brin ON scoring_score USING brin (as_of) WITH (autosummarize = on)"
PG_DROP = "DROP INDEX IF EXISTS score_as_of_brin"


def _forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_CREATE)


def _backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0003_latest_pointer_hot_previous_score")]

    operations = [
        migrations.RemoveIndex(model_name="score", name="score_date_kind_tier_idx"),
        migrations.RunPython(_forward, _backward),
    ]
