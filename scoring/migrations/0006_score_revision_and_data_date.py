"""Scores follow the data: a score names the data it was computed from, and a rescore the same
day is a new revision, not a blocked write.

* ``Score.revision`` (1, 2, ... per subject, date and model) and ``Score.data_as_of`` (the date
  of the subject's own snapshot the score read); the unique identity becomes (subject, date,
  model, revision), ``score_unique_subject_date_model_revision``.
* ``LatestScore.data_as_of``: pointers are ordered by (data date, score date, score id), so the
  latest score is the one from the latest data; ``LatestScore.scored_through``: the latest date
  any score of the subject bears (a chunk's read knows from it that no score of its date exists).
* Existing scores get the date of the latest snapshot on or before their date (their own date
  when there is none), pointers their score's.

SQLite rebuilds ``scoring_score`` to add these columns, which drops its trigger (see 0003):
it is created again at the end.
"""

from django.db import migrations, models
from django.db.models import F, Q

BACKFILL = (
    "UPDATE scoring_score SET data_as_of = COALESCE(CASE WHEN subject_kind = 'person' THEN "
    "(SELECT MAX(p.as_of) FROM scoring_personcreditsnapshot p WHERE p.person_id = scoring_score.subject_id "
    "AND p.as_of <= scoring_score.as_of) ELSE "
    "(SELECT MAX(c.as_of) FROM scoring_companycreditsnapshot c WHERE c.company_id = scoring_score.subject_id "
    "AND c.as_of <= scoring_score.as_of) END, as_of)",
    "UPDATE scoring_latestscore SET scored_through = as_of, data_as_of = COALESCE("
    "(SELECT s.data_as_of FROM scoring_score s WHERE s.id = scoring_latestscore.score_id), as_of)",
)

SQLITE_TRIGGER = """
CREATE TRIGGER score_delete_pointers AFTER DELETE ON scoring_score FOR EACH ROW BEGIN
    DELETE FROM scoring_latestscore
     WHERE subject_kind = OLD.subject_kind AND subject_id = OLD.subject_id AND score_id = OLD.id;
END
"""


def _backfill(apps, schema_editor):
    for statement in BACKFILL:
        schema_editor.execute(statement)


def _sqlite_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS score_delete_pointers")
        schema_editor.execute(SQLITE_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0005_promote_scorecard_permission")]

    operations = [
        migrations.AddField(
            model_name="score",
            name="revision",
            field=models.PositiveSmallIntegerField(
                default=1, help_text="1 for the first score of the subject, date and model; each rescore that day adds one"
            ),
        ),
        migrations.AddField(
            model_name="score",
            name="data_as_of",
            field=models.DateField(null=True, help_text="Date of the subject's own credit data snapshot this score was computed from"),
        ),
        migrations.AddField(
            model_name="latestscore",
            name="data_as_of",
            field=models.DateField(null=True, help_text="The pointed score's data date (what orders pointers)"),
        ),
        migrations.AddField(
            model_name="latestscore",
            name="scored_through",
            field=models.DateField(
                null=True,
                help_text="The latest date any score of the subject bears (moves forward even when the pointer does not)",
            ),
        ),
        migrations.RunPython(_backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="latestscore",
            name="scored_through",
            field=models.DateField(
                help_text="The latest date any score of the subject bears (moves forward even when the pointer does not)",
            ),
        ),
        migrations.AddConstraint(
            model_name="latestscore",
            constraint=models.CheckConstraint(
                condition=Q(scored_through__gte=F("as_of")) & Q(as_of__gte=F("data_as_of")),
                name="latest_score_dates_ordered",
            ),
        ),
        migrations.AlterField(
            model_name="score",
            name="data_as_of",
            field=models.DateField(help_text="Date of the subject's own credit data snapshot this score was computed from"),
        ),
        migrations.AlterField(
            model_name="latestscore",
            name="data_as_of",
            field=models.DateField(help_text="The pointed score's data date (what orders pointers)"),
        ),
        migrations.AlterField(
            model_name="score",
            name="previous_score",
            field=models.SmallIntegerField(
                blank=True, null=True,
                help_text="The subject's score this one follows, when this one was written: the previous revision of "
                "the same date, else the latest earlier-dated score (None: the first)",
            ),
        ),
        migrations.RemoveConstraint(model_name="score", name="score_unique_subject_date_model"),
        migrations.AddConstraint(
            model_name="score",
            constraint=models.UniqueConstraint(
                fields=("subject_kind", "subject_id", "as_of", "model", "revision"),
                name="score_unique_subject_date_model_revision",
            ),
        ),
        migrations.AddConstraint(
            model_name="score",
            constraint=models.CheckConstraint(condition=Q(revision__gte=1), name="score_revision_positive"),
        ),
        migrations.AddConstraint(
            model_name="score",
            constraint=models.CheckConstraint(condition=Q(data_as_of__lte=F("as_of")), name="score_data_not_after_date"),
        ),
        migrations.AlterModelOptions(
            name="score", options={"ordering": ["subject_kind", "subject_id", "-as_of", "-revision"]},
        ),
        migrations.RunPython(_sqlite_trigger, migrations.RunPython.noop),
    ]
