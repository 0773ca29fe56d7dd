"""The score history partitioned by month on PostgreSQL (``scoring.partitions``); SQLite keeps
its plain table, and Django's model state does not change (the model still names ``id`` its
primary key; the database's is (id, as_of), which holds the same rows).

A partitioned table's primary key and unique constraints must contain the partition key, so:

* primary key (id, as_of).  Ids still come from one sequence (``scoring_score_id_seq``, owned by
  the column, continuing where the old identity stopped: a partitioned table cannot have an
  identity column before PostgreSQL 17), so an id stays unique on its own.  A lookup by id alone
  probes each partition's primary key; lookups that know the date (the latest-score pointer
  carries it: ``LatestScore.as_of`` is its score's date) go to one partition.
* ``score_unique_subject_date_model_revision`` (kind, subject, date, model, revision) already
  contains the date: kept as it is, on every partition.
* No foreign key points at scores (the pointer's ``score_id`` is a soft reference since 0003;
  the migration refuses to run if one appeared), and scores' reference to their model is
  checked by a statement trigger, so nothing else changes.
* The statement-level triggers (a deleted score takes its pointer along; a score names an
  existing model) are created again on the partitioned table: a statement trigger with
  transition tables on a partitioned table sees the rows of every partition.

The existing table is not rewritten.  It is renamed ``scoring_score_legacy`` and attached as
the first partition, covering everything before the month after its last date:
1. a unique index on (id, as_of) is built (becomes its primary key) — an index build, the one
   cost that grows with the table.  On a large table, build it beforehand without blocking
   writers: ``CREATE UNIQUE INDEX CONCURRENTLY scoring_score_legacy_id_as_of ON scoring_score
   (id, as_of)``; the migration uses it when present;
2. a CHECK constraint with the partition's bound is added (one read of the table, no rewrite),
   so ATTACH PARTITION need not scan it; the other indexes are matched and attached as they are;
3. the CHECK is dropped again (the partition bound says the same).
An empty table is simply replaced.  Then the default partition and the months from the current
one to ``SCORE_PARTITIONS_AHEAD`` ahead are created; the periodic job keeps creating them.

Backwards: the rows are copied into a plain table (the one direction that rewrites).
"""

import datetime

from django.conf import settings
from django.db import migrations
from django.utils import timezone

TRIGGERS = """
CREATE TRIGGER score_delete_pointers
    AFTER DELETE ON scoring_score REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_score_delete_pointers();
CREATE TRIGGER score_model_exists_on_insert
    AFTER INSERT ON scoring_score REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_score_model_exists();
CREATE TRIGGER score_model_exists_on_update
    AFTER UPDATE ON scoring_score REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_score_model_exists();
"""
DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS score_delete_pointers ON {table};
DROP TRIGGER IF EXISTS score_model_exists_on_insert ON {table};
DROP TRIGGER IF EXISTS score_model_exists_on_update ON {table};
"""
# The parent's indexes and constraints, by the names Django's state gives them.
PARENT_INDEXES = """
ALTER TABLE scoring_score ADD CONSTRAINT scoring_score_pkey PRIMARY KEY (id, as_of);
ALTER TABLE scoring_score ADD CONSTRAINT score_unique_subject_date_model_revision
    UNIQUE (subject_kind, subject_id, as_of, model_id, revision);
CREATE INDEX score_date_kind_tier_idx ON scoring_score (as_of, subject_kind, tier);
CREATE INDEX score_drop_candidates_idx ON scoring_score (as_of) WHERE previous_score >= score + 50;
"""


def _month(day: datetime.date, n: int = 0) -> datetime.date:
    index = day.year * 12 + day.month - 1 + n
    return datetime.date(index // 12, index % 12 + 1, 1)


def _one(cursor, sql, params=None):
    cursor.execute(sql, params)
    return cursor.fetchone()


def _forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    with schema_editor.connection.cursor() as cursor:
        if _one(cursor, "SELECT relkind FROM pg_class WHERE oid = 'scoring_score'::regclass")[0] == "p":
            return  # already partitioned
        referencing = _one(
            cursor, "SELECT string_agg(conname || ' on ' || conrelid::regclass::text, ', ') FROM pg_constraint "
            "WHERE contype = 'f' AND confrelid = 'scoring_score'::regclass"
        )[0]
        if referencing:
            raise RuntimeError(f"foreign keys point at scoring_score ({referencing}): they cannot follow a partitioned "
                               "table's (id, as_of) key; make them soft references first")
        last_day = _one(cursor, "SELECT MAX(as_of) FROM scoring_score")[0]
        sequence = _one(cursor, "SELECT pg_get_serial_sequence('scoring_score', 'id')")[0]
        last_value, is_called = _one(cursor, f"SELECT last_value, is_called FROM {sequence}")
        identity = _one(
            cursor, "SELECT attidentity <> '' FROM pg_attribute WHERE attrelid = 'scoring_score'::regclass AND attname = 'id'"
        )[0]

    run("ALTER TABLE scoring_score RENAME TO scoring_score_legacy")
    run(DROP_TRIGGERS.format(table="scoring_score_legacy"))
    # Free the names the partitioned table takes (the primary key, the unique constraint, the
    # indexes and the id sequence, which DROP IDENTITY drops).
    if identity:
        run("ALTER TABLE scoring_score_legacy ALTER COLUMN id DROP IDENTITY")
    else:  # a sequence default (this migration reversed once)
        run("ALTER TABLE scoring_score_legacy ALTER COLUMN id DROP DEFAULT")
        run(f"DROP SEQUENCE {sequence}")
    run("ALTER TABLE scoring_score_legacy RENAME CONSTRAINT score_unique_subject_date_model_revision "
        "TO scoring_score_legacy_unique_subject_date_model_revision")
    run("ALTER INDEX score_date_kind_tier_idx RENAME TO scoring_score_legacy_date_kind_tier")
    run("ALTER INDEX score_drop_candidates_idx RENAME TO scoring_score_legacy_drop_candidates")
    run("ALTER TABLE scoring_score_legacy RENAME CONSTRAINT scoring_score_pkey TO scoring_score_legacy_id_pkey")

    run("CREATE TABLE scoring_score (LIKE scoring_score_legacy INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        "INCLUDING STORAGE INCLUDING COMPRESSION) PARTITION BY RANGE (as_of)")
    run("CREATE SEQUENCE scoring_score_id_seq AS bigint OWNED BY scoring_score.id")
    run(f"SELECT setval('scoring_score_id_seq', {int(last_value)}, {'true' if is_called else 'false'})")
    run("ALTER TABLE scoring_score ALTER COLUMN id SET DEFAULT nextval('scoring_score_id_seq')")
    for statement in PARENT_INDEXES.strip().split(";\n"):
        run(statement)

    if last_day is None:
        run("DROP TABLE scoring_score_legacy")
        first_month = _month(timezone.localdate())
    else:
        upper = _month(last_day, 1)
        run("CREATE UNIQUE INDEX IF NOT EXISTS scoring_score_legacy_id_as_of ON scoring_score_legacy (id, as_of)")
        run("ALTER TABLE scoring_score_legacy DROP CONSTRAINT scoring_score_legacy_id_pkey")
        run("ALTER TABLE scoring_score_legacy ADD CONSTRAINT scoring_score_legacy_pkey "
            "PRIMARY KEY USING INDEX scoring_score_legacy_id_as_of")
        run(f"ALTER TABLE scoring_score_legacy ADD CONSTRAINT scoring_score_legacy_bound CHECK (as_of < '{upper}')")
        run(f"ALTER TABLE scoring_score ATTACH PARTITION scoring_score_legacy FOR VALUES FROM (MINVALUE) TO ('{upper}')")
        run("ALTER TABLE scoring_score_legacy DROP CONSTRAINT scoring_score_legacy_bound")
        first_month = upper  # the months between it and now too: none of them lands in the default
    run("CREATE TABLE scoring_score_default PARTITION OF scoring_score DEFAULT")
    this_month = _month(timezone.localdate())
    month = first_month
    while month <= _month(this_month, settings.SCORE_PARTITIONS_AHEAD):
        run(f"CREATE TABLE scoring_score_{month:%Y_%m} PARTITION OF scoring_score "
            f"FOR VALUES FROM ('{month}') TO ('{_month(month, 1)}')")
        month = _month(month, 1)
    run(TRIGGERS, params=None)


def _backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.execute
    with schema_editor.connection.cursor() as cursor:
        if _one(cursor, "SELECT relkind FROM pg_class WHERE oid = 'scoring_score'::regclass")[0] != "p":
            return
    run(DROP_TRIGGERS.format(table="scoring_score"))
    run("ALTER SEQUENCE scoring_score_id_seq OWNED BY NONE")
    run("ALTER TABLE scoring_score RENAME TO scoring_score_partitioned")
    run("CREATE TABLE scoring_score (LIKE scoring_score_partitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    run("ALTER SEQUENCE scoring_score_id_seq OWNED BY scoring_score.id")
    run("INSERT INTO scoring_score SELECT * FROM scoring_score_partitioned")
    run("DROP TABLE scoring_score_partitioned")
    run("ALTER TABLE scoring_score ADD CONSTRAINT scoring_score_pkey PRIMARY KEY (id)")
    for statement in PARENT_INDEXES.strip().split(";\n")[1:]:
        run(statement)
    run(TRIGGERS, params=None)


class Migration(migrations.Migration):
    atomic = True

    dependencies = [("scoring", "0007_monthly_score_summary")]

    operations = [migrations.RunPython(_forward, _backward)]
