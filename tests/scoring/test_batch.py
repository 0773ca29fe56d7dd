"""Set-based scoring of chunks; runs on SQLite and on PostgreSQL (COPY path forced there)."""

import datetime
import gc

import pytest

from scoring import batch
from scoring.errors import ScoringUnavailable
from scoring.models import LatestScore, Score
from tests.factories import CompanyFactory, PersonFactory, RelatedPartyFactory
from tests.scoring.helpers import AS_OF, BAD_PERSON, GOOD_COMPANY, GOOD_PERSON, champion, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(params=["small", "copy"])
def write_path(request, monkeypatch):
    # "copy": every batch goes through COPY on PostgreSQL (a no-op difference on SQLite)
    if request.param == "copy":
        monkeypatch.setattr(batch, "COPY_THRESHOLD", 1)
    return request.param


@pytest.fixture
def world():
    champion("person")
    champion("company")
    good, bad, silent = PersonFactory(), PersonFactory(), PersonFactory()
    snapshot("person", good.id, GOOD_PERSON, as_of=AS_OF - datetime.timedelta(days=31))
    snapshot("person", good.id, GOOD_PERSON)
    snapshot("person", bad.id, BAD_PERSON, in_default=True)
    company = CompanyFactory()
    snapshot("company", company.id, GOOD_COMPANY)
    RelatedPartyFactory(company=company, person=good, role="legal_representative")
    return {"good": good, "bad": bad, "silent": silent, "company": company}


def _person_range(world):
    ids = [world[k].id for k in ("good", "bad", "silent")]
    return min(ids), max(ids) + 1


def test_person_range_scores_latest_snapshot_and_rerun_writes_nothing(world, write_path):
    lo, hi = _person_range(world)
    # when
    stats = batch.RunStats()
    first = batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF, stats=stats)
    second = batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF)
    # then
    assert (first, second) == (2, 0)
    assert stats.no_snapshot == 1
    assert Score.objects.filter(subject_kind="person").count() == 2
    good = Score.objects.get(subject_kind="person", subject_id=world["good"].id)
    bad = Score.objects.get(subject_kind="person", subject_id=world["bad"].id)
    assert good.score == 720 and good.tier == "B" and good.reason_codes == []
    assert bad.in_default and bad.score == 280 and bad.tier == "E"
    # points lost: connections 140, debt-to-income 110, verification 100, on-time ratio 90
    assert bad.reason_codes == [{"code": "P14", "points_lost": 140.0}, {"code": "P08", "points_lost": 110.0},
                                {"code": "P10", "points_lost": 100.0}, {"code": "P02", "points_lost": 90.0}]
    assert set(bad.dimension_points) == {"credit_history", "ability", "identity", "social"}
    assert LatestScore.objects.get(subject_kind="person", subject_id=world["bad"].id).score_id == bad.id


def test_company_composite_reads_party_scores_and_caps_on_default(world, write_path):
    # given: the bad person (in default) becomes a shareholder of the company
    RelatedPartyFactory(company=world["company"], person=world["bad"], role="shareholder", ownership_pct=30)
    lo, hi = _person_range(world)
    batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF)
    cid = world["company"].id
    # when
    n = batch.score_company_range(id_from=cid, id_to=cid + 1, as_of=AS_OF)
    again = batch.score_company_range(id_from=cid, id_to=cid + 1, as_of=AS_OF)
    # then
    assert (n, again) == (1, 0)
    s = Score.objects.get(subject_kind="company", subject_id=cid)
    assert s.components["own"]["score"] == 710
    assert {p["role"] for p in s.components["parties"]} == {"legal_representative", "shareholder"}
    assert s.components["capped"] and s.score == 599 and s.tier == "E"
    assert s.reason_codes[0]["code"] == "R01"


def test_latest_pointer_moves_forward_never_back(world):
    lo, hi = _person_range(world)
    pid = world["good"].id
    batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF)
    # when: an older date is scored afterwards
    batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF - datetime.timedelta(days=20))
    # then
    assert LatestScore.objects.get(subject_kind="person", subject_id=pid).as_of == AS_OF
    assert Score.objects.filter(subject_kind="person", subject_id=pid).count() == 2


def test_each_score_records_the_previous_one_forward_and_back_dated(world, write_path):
    """previous_score: the latest earlier-dated score when written: from the pointer on a
    forward run, from the history when the pointer is not earlier (a back-dated run)."""
    lo, hi = _person_range(world)
    pid = world["good"].id
    day = datetime.timedelta(days=1)
    batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF - 20 * day)  # the good person's older snapshot
    # the score of that date is raised so that each step is told apart by its value
    first = Score.objects.get(subject_kind="person", subject_id=pid)
    Score.objects.filter(pk=first.pk).update(score=first.score + 7)
    LatestScore.objects.filter(score_id=first.pk).update(score=first.score + 7)
    # when: a forward run, then a back-dated run between the two
    batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF)
    batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF - 10 * day)
    batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF - 30 * day)
    # then
    prev = dict(Score.objects.filter(subject_kind="person", subject_id=pid).values_list("as_of", "previous_score"))
    assert prev == {
        AS_OF - 30 * day: None,  # nothing earlier
        AS_OF - 20 * day: None,  # the first score written
        AS_OF - 10 * day: first.score + 7,  # back-dated: from the history, not the (later) pointer
        AS_OF: first.score + 7,  # forward: from the pointer
    }


def test_deleting_a_score_deletes_the_pointer_that_names_it(world):
    lo, hi = _person_range(world)
    batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF)
    good = Score.objects.get(subject_kind="person", subject_id=world["good"].id)
    # when
    Score.objects.filter(pk=good.pk).delete()
    # then: its pointer went with it (the database's trigger), the other subject's stayed
    assert not LatestScore.objects.filter(subject_kind="person", subject_id=world["good"].id).exists()
    assert LatestScore.objects.filter(subject_kind="person", subject_id=world["bad"].id).exists()


def test_a_back_dated_company_run_reads_party_scores_of_that_date(world):
    lo, hi = _person_range(world)
    cid = world["company"].id
    earlier = AS_OF - datetime.timedelta(days=10)
    # the good person's score of an earlier date is 700; its pointer then moves on to AS_OF (720)
    snapshot("company", cid, GOOD_COMPANY, as_of=earlier)
    batch.score_person_range(id_from=lo, id_to=hi, as_of=earlier)
    old = Score.objects.get(subject_kind="person", subject_id=world["good"].id, as_of=earlier)
    Score.objects.filter(pk=old.pk).update(score=700)
    LatestScore.objects.filter(score_id=old.pk).update(score=700)
    batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF)
    # when: both dates of the company are scored, the later first
    batch.score_company_range(id_from=cid, id_to=cid + 1, as_of=AS_OF)
    batch.score_company_range(id_from=cid, id_to=cid + 1, as_of=earlier)
    # then: each composite used the party's score of its own date
    parties = {
        s.as_of: s.components["parties"][0]["score"] for s in Score.objects.filter(subject_kind="company", subject_id=cid)
    }
    assert parties == {AS_OF: 720, earlier: 700}


def test_a_chunk_costs_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    lo, hi = _person_range(world)
    with django_assert_max_num_queries(12):
        batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF)


def test_no_champion_is_a_clear_error():
    p = PersonFactory()
    with pytest.raises(ScoringUnavailable, match="no champion person scorecard"):
        batch.score_person_range(id_from=p.id, id_to=p.id + 1, as_of=AS_OF)


def test_the_json_columns_are_what_json_dumps_would_write():
    # given: points and losses of every magnitude, and rows with 0-4 reason codes
    import json

    import numpy as np

    rng = np.random.default_rng(3)
    n = 500
    dims = ("credit_history", "ability", "social")
    points = np.round(rng.normal(0, 10.0 ** rng.integers(-5, 17, (n, 3))), 1)
    points[0] = [0.0, -0.0, 1e16]
    codes = np.array([["P14", "P08", "X:col", "P01"]] * n, dtype=object)
    k = rng.integers(0, 5, n)
    for i in range(n):
        codes[i, k[i]:] = ""
    lost = np.where(codes != "", np.round(rng.uniform(0, 500, (n, 4)), 1), 0.0)
    # when
    dims_json = batch._dimension_points_json(dims, points)
    reasons_json = batch._reason_codes_json(codes, lost)
    # then
    for i in range(n):
        assert dims_json[i] == json.dumps(dict(zip(dims, points[i].tolist())))
        assert reasons_json[i] == json.dumps([{"code": c, "points_lost": v} for c, v in zip(codes[i], lost[i].tolist()) if c])


def test_the_garbage_collector_is_paused_while_chunks_run_and_back_after_the_last():
    assert gc.isenabled()
    with batch.gc_paused():
        assert not gc.isenabled()
        with batch.gc_paused():  # a second chunk on another thread
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first one still runs
    assert gc.isenabled()
    gc.disable()
    try:
        with batch.gc_paused():
            pass
        assert not gc.isenabled()  # off before: left off
    finally:
        gc.enable()


def test_a_failing_chunk_turns_the_garbage_collector_back_on():
    with pytest.raises(ValueError):
        with batch.gc_paused():
            raise ValueError("boom")
    assert gc.isenabled()


def test_score_documents_are_kept_as_written_json_on_postgres(on_postgres, world, write_path):
    from django.db import connection

    # given
    lo, hi = _person_range(world)
    batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF)
    cid = world["company"].id
    # when
    batch.score_company_range(id_from=cid, id_to=cid + 1, as_of=AS_OF)
    # then: json, not jsonb (no parse into a binary form on the nightly write), the text as written
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_typeof(components)::text, components::text, pg_typeof(reason_codes)::text, "
            "pg_typeof(dimension_points)::text FROM scoring_score WHERE subject_kind = 'company'"
        )
        comp_type, comp_text, reasons_type, dims_type = cursor.fetchone()
    assert (comp_type, reasons_type, dims_type) == ("json", "json", "json")
    assert comp_text.startswith('{"formula": ')  # jsonb would have reordered the keys
    # and the ORM still hands documents over as Python objects
    s = Score.objects.get(subject_kind="company", subject_id=cid)
    assert isinstance(s.components, dict) and s.components["parties"][0]["role"] == "legal_representative"
    assert isinstance(s.reason_codes, list) and isinstance(s.dimension_points, dict)


def test_a_score_written_between_a_chunks_read_and_its_write_is_left_alone(world, write_path, monkeypatch):
    # given: right after the chunk reads its subjects, another writer (an on-demand score for
    # the same date and model) scores the good person
    from scoring import selectors

    read = selectors.latest_snapshots

    def read_then_race(*args, **kwargs):
        rows = read(*args, **kwargs)
        monkeypatch.setattr(selectors, "latest_snapshots", read)  # the racing writer reads plainly
        batch.score_persons(person_ids=[world["good"].id], as_of=AS_OF)
        return rows

    monkeypatch.setattr(selectors, "latest_snapshots", read_then_race)
    lo, hi = _person_range(world)
    # when
    written = batch.score_person_range(id_from=lo, id_to=hi, as_of=AS_OF)
    # then: the chunk writes the other subject and keeps the racing score; one score each
    assert written == 1
    assert Score.objects.filter(subject_kind="person", subject_id=world["good"].id, as_of=AS_OF).count() == 1
    assert Score.objects.filter(subject_kind="person", as_of=AS_OF).count() == 2
    assert LatestScore.objects.filter(subject_kind="person").count() == 2


def test_a_chunk_read_tells_scored_from_unscored_by_the_pointer_and_probes_only_when_it_must(world):
    # given: the good person scored on three dates (the pointer on the latest), the bad person
    # never scored
    from scoring import selectors

    day = datetime.timedelta(days=1)
    good, bad = world["good"].id, world["bad"].id
    for d in (AS_OF - 2 * day, AS_OF, AS_OF + day):
        batch.score_persons(person_ids=[good], as_of=d)
    model_id = Score.objects.filter(subject_id=good).values_list("model_id", flat=True).first()
    lo, hi = _person_range(world)

    def read(as_of):
        cols, rows = selectors.latest_snapshots(
            "person", as_of=as_of, id_from=lo, id_to=hi, scored_by_model=model_id
        )
        return {row[0]: (row[-2], row[-1]) for row in rows}

    def scored(as_of):  # the packed revision of the day, None when none
        return {sid: score_id for sid, (score_id, _) in read(as_of).items()}

    # then: a date after the pointer is unscored for everyone, with no probe needed, and the
    # pointer's score is the previous one
    assert scored(AS_OF + 2 * day) == {good: None, bad: None}
    latest = Score.objects.get(subject_id=good, as_of=AS_OF + day).score
    assert {sid: prev for sid, (_, prev) in read(AS_OF + 2 * day).items()} == {good: latest, bad: None}
    # the pointer's own date and a date behind it (a re-run, a back-dated run) are probed: the
    # day's latest revision (1) packed with "computed from this very snapshot" (revision * 2 + 1)
    assert scored(AS_OF + day)[good] == 1 * 2 + 1
    assert scored(AS_OF)[good] == 1 * 2 + 1
    assert scored(AS_OF - day)[good] is None  # between two of its scores: none that day
    assert read(AS_OF - day)[good][1] is None  # the pointer is later: the writer looks it up
    assert scored(AS_OF)[bad] is None
