"""The nightly write path, made cheaper without losing an invariant.

1. ``scoring_latestscore.score_id`` stops being a foreign key (and loses its index).  Every
   nightly run rewrites every pointer; with no indexed column changed and room on the page
   (fillfactor 50: a run rewrites a whole page at once, and last night's versions are pruned
   before tonight's need the space) the update is HOT — no index entries written.  What the
   foreign key's ON DELETE CASCADE did, a trigger does: deleting scores deletes the pointers
   that name them (one statement-level join through the (subject_kind, subject_id) index on
   PostgreSQL; a row trigger on SQLite).
2. ``scoring_latestscore.in_default``: the company composite reads a party's latest score and
   default flag from the pointer alone.
3. ``scoring_score.previous_score``: the subject's latest earlier-dated score, taken from the
   pointer when the score is written, so the score-drop rule reads one row per score instead
   of probing each subject's history.  Existing rows are filled from their history here.
4. ``scoring_score.model_id`` is checked once per statement instead of once per row.  A chunk
   appends 25,000 scores of one model in one statement; the row-level foreign key ran 25,000
   checks at commit (each an SPI query key-share-locking the same model row: ~0.2 s a chunk on
   this machine), and its index on model_id was written 25,000 times for a column nothing
   reads alone.  On PostgreSQL two statement-level triggers hold the same invariant: an insert
   (or update) naming a model that does not exist fails, and a model that still has scores
   cannot be deleted (the ORM's PROTECT says so first; the trigger is the backstop for every
   other writer — it scans the scores, and deleting a model is rare).  SQLite keeps PROTECT.
5. A partial index of the scores that dropped by at least 50 points (the early-warning rule
   reads those few, not the whole date).

The triggers are created last: SQLite rebuilds a table to alter a column, which drops the
table's triggers — a later migration that alters scoring_score must create them again.
"""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import F, Q

PG_TRIGGER = r"""
CREATE OR REPLACE FUNCTION scoring_score_delete_pointers() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM scoring_latestscore AS l
     USING gone AS g
     WHERE l.subject_kind = g.subject_kind AND l.subject_id = g.subject_id AND l.score_id = g.id;
    RETURN NULL;
END
$$;
CREATE TRIGGER score_delete_pointers
    AFTER DELETE ON scoring_score REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_score_delete_pointers();
ALTER TABLE scoring_latestscore SET (fillfactor = 50);
CREATE OR REPLACE FUNCTION scoring_score_model_exists() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    SELECT a.model_id INTO missing
      FROM (SELECT DISTINCT model_id FROM added) AS a
     WHERE NOT EXISTS (SELECT 1 FROM scoring_scoremodel m WHERE m.id = a.model_id)
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'score_model_exists: score model % does not exist', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER score_model_exists_on_insert
    AFTER INSERT ON scoring_score REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_score_model_exists();
CREATE TRIGGER score_model_exists_on_update
    AFTER UPDATE ON scoring_score REFERENCING NEW TABLE AS added
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_score_model_exists();

CREATE OR REPLACE FUNCTION scoring_scoremodel_unused() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    used bigint;
BEGIN
    SELECT g.id INTO used FROM gone g WHERE EXISTS (SELECT 1 FROM scoring_score s WHERE s.model_id = g.id) LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'score_model_exists: score model % still has scores', used
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER scoremodel_unused_on_delete
    AFTER DELETE ON scoring_scoremodel REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION scoring_scoremodel_unused();
"""
PG_UNDO = """
DROP TRIGGER IF EXISTS score_delete_pointers ON scoring_score;
DROP FUNCTION IF EXISTS scoring_score_delete_pointers();
ALTER TABLE scoring_latestscore RESET (fillfactor);
DROP TRIGGER IF EXISTS score_model_exists_on_insert ON scoring_score;
DROP TRIGGER IF EXISTS score_model_exists_on_update ON scoring_score;
DROP TRIGGER IF EXISTS scoremodel_unused_on_delete ON scoring_scoremodel;
DROP FUNCTION IF EXISTS scoring_score_model_exists();
DROP FUNCTION IF EXISTS scoring_scoremodel_unused();
"""
SQLITE_TRIGGER = """
CREATE TRIGGER score_delete_pointers AFTER DELETE ON scoring_score FOR EACH ROW BEGIN
    DELETE FROM scoring_latestscore
     WHERE subject_kind = OLD.subject_kind AND subject_id = OLD.subject_id AND score_id = OLD.id;
END
"""
SQLITE_UNDO = "DROP TRIGGER IF EXISTS score_delete_pointers"

BACKFILL = """
UPDATE scoring_latestscore SET in_default = TRUE
 WHERE score_id IN (SELECT id FROM scoring_score WHERE in_default);
UPDATE scoring_score SET previous_score = (
    SELECT p.score FROM scoring_score p
     WHERE p.subject_kind = scoring_score.subject_kind AND p.subject_id = scoring_score.subject_id
       AND p.as_of < scoring_score.as_of
     ORDER BY p.as_of DESC, p.id DESC LIMIT 1);
"""


def _forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in BACKFILL.split(";\n"):
        if statement.strip():
            schema_editor.execute(statement)
    if vendor == "postgresql":
        schema_editor.execute(PG_TRIGGER, params=None)  # no placeholders: plpgsql
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


def _backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UNDO, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UNDO)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0002_drop_redundant_score_index")]

    operations = [
        migrations.AlterField(
            model_name="latestscore",
            name="score_record",
            field=models.BigIntegerField(db_column="score_id"),
        ),
        migrations.RenameField(model_name="latestscore", old_name="score_record", new_name="score_id"),
        migrations.AlterField(model_name="latestscore", name="score_id", field=models.BigIntegerField()),
        migrations.AddField(
            model_name="latestscore", name="in_default", field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name="score",
            name="previous_score",
            field=models.SmallIntegerField(
                blank=True, null=True,
                help_text="The subject's latest score dated before this one, when this one was written (None: the first)",
            ),
        ),
        migrations.AddConstraint(
            model_name="score",
            constraint=models.CheckConstraint(
                condition=Q(previous_score__isnull=True) | (Q(previous_score__gte=0) & Q(previous_score__lte=950)),
                name="score_previous_range_0_950",
            ),
        ),
        migrations.AlterField(
            model_name="score",
            name="model",
            field=models.ForeignKey(
                db_constraint=False, db_index=False, on_delete=django.db.models.deletion.PROTECT,
                related_name="scores", to="scoring.scoremodel",
            ),
        ),
        migrations.AddIndex(
            model_name="score",
            index=models.Index(
                condition=Q(previous_score__gte=F("score") + 50), fields=["as_of"], name="score_drop_candidates_idx"
            ),
        ),
        migrations.RunPython(_forward, _backward),
    ]
