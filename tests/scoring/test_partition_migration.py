"""Migration scoring 0008 on a populated table (PostgreSQL): the table becomes the first
partition as it is — same file on disk, same rows, same ids — and everything that worked on it
still works: the id sequence continues, the pointer trigger fires, the unique identity holds."""

import datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from scoring import api, partitions
from scoring.models import LatestScore, Score

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("scoring", "0007_monthly_score_summary")]


def _one(sql, params=None):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


def test_a_populated_score_table_is_attached_as_the_first_partition_without_a_rewrite(on_postgres):
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    _migrate(BEFORE)  # back to the plain table (the reverse copies: it is empty here)
    try:
        assert _one("SELECT relkind FROM pg_class WHERE oid = 'scoring_score'::regclass")[0] == "r"
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO scoring_scoremodel (subject_kind, version, status, scorecard, metrics, reference_distribution, "
                "trained_on, created_at) VALUES ('person', 1, 'champion', '{}', '{}', '{}', '{}', now()) RETURNING id"
            )
            model_id = cursor.fetchone()[0]
            cursor.execute(
                "INSERT INTO scoring_score (subject_kind, subject_id, as_of, model_id, model_version, score, pd, tier, "
                "in_default, dimension_points, reason_codes, created_at, revision, data_as_of) "
                "SELECT 'person', g, DATE '2026-10-20' + g, %s, 1, 600 + g, 0.1, 'C', false, '{}', '[]', now(), 1, "
                "DATE '2026-10-20' FROM generate_series(1, 30) g",
                [model_id],
            )
            cursor.execute(
                "INSERT INTO scoring_latestscore (subject_kind, subject_id, score_id, as_of, data_as_of, scored_through, "
                "score, tier, in_default) SELECT subject_kind, subject_id, id, as_of, data_as_of, as_of, score, tier, "
                "in_default FROM scoring_score"
            )
        filenode = _one("SELECT pg_relation_filenode('scoring_score')")[0]
        max_id = _one("SELECT MAX(id) FROM scoring_score")[0]

        _migrate(leaves)

        assert partitions.is_partitioned()
        # the same file: attached, not copied
        assert _one("SELECT pg_relation_filenode('scoring_score_legacy')")[0] == filenode
        legacy = next(p for p in partitions.partitions() if p.name == partitions.LEGACY_PARTITION)
        assert (legacy.lower, legacy.upper) == (None, datetime.date(2026, 12, 1))  # the month after 2026-11-19
        assert _one("SELECT count(*) FROM scoring_score WHERE tableoid = 'scoring_score_legacy'::regclass")[0] == 30
        assert partitions.partition_name(datetime.date(2026, 12, 1)) in {p.name for p in partitions.partitions()}
        # the pointer lookups read through it
        assert api.latest_score(subject_kind="person", subject_id=5).score == 605
        # new ids continue the old sequence
        new = Score.objects.create(
            subject_kind="person", subject_id=99, as_of=datetime.date(2026, 11, 30), model_id=model_id, model_version=1,
            score=640, pd=0.1, tier="C", dimension_points={}, reason_codes=[],
        )
        assert new.id == max_id + 1
        # the identity holds across the attached partition
        with pytest.raises(IntegrityError), transaction.atomic():
            Score.objects.create(
                subject_kind="person", subject_id=5, as_of=datetime.date(2026, 10, 25), model_id=model_id,
                model_version=1, score=1, pd=0.1, tier="E", dimension_points={}, reason_codes=[],
            )
        # deleting old scores deletes their pointers (the trigger on the partitioned table)
        Score.objects.filter(subject_id__lte=10).delete()
        assert not LatestScore.objects.filter(subject_id__lte=10).exists()
        assert LatestScore.objects.filter(subject_id__gt=10).count() == 20
    finally:
        # leave the test database as migrate makes it: no legacy partition
        if not partitions.is_partitioned():
            _migrate(leaves)
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS scoring_score_legacy")
