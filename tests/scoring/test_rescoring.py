"""Scores follow the data: a score names its data and revision; new credit data rescores the
subject and the companies depending on a person; the latest score is the one from the latest
data; the whole history stays."""

import datetime

import pytest

from scoring import api, batch
from scoring.models import LatestScore, Score
from scoring.signals import company_scores_written
from tests.factories import CompanyFactory, PersonFactory, RelatedPartyFactory
from tests.scoring.helpers import AS_OF, BAD_PERSON, GOOD_COMPANY, GOOD_PERSON, champion, snapshot

pytestmark = pytest.mark.django_db

DAY = datetime.timedelta(days=1)


@pytest.fixture
def champions():
    champion("person")
    champion("company")


def _latest(kind, sid):
    pointer = LatestScore.objects.get(subject_kind=kind, subject_id=sid)
    return Score.objects.get(id=pointer.score_id)


def test_new_data_the_same_day_is_the_next_revision_and_the_history_stays(champions):
    # given: a person scored today from last month's data
    person = PersonFactory()
    snapshot("person", person.id, GOOD_PERSON, as_of=AS_OF - 30 * DAY)
    assert batch.score_persons(person_ids=[person.id], as_of=AS_OF) == 1
    first = _latest("person", person.id)
    assert (first.revision, first.data_as_of) == (1, AS_OF - 30 * DAY)
    # when: the same day, the scorer runs again from the same data: nothing new
    assert batch.score_persons(person_ids=[person.id], as_of=AS_OF) == 0
    # and when: worse data dated today arrives and the person is rescored the same day
    snapshot("person", person.id, BAD_PERSON, as_of=AS_OF)
    assert batch.score_persons(person_ids=[person.id], as_of=AS_OF) == 1
    # then: the second revision of the day, from today's data, is the latest; the first stays
    second = _latest("person", person.id)
    assert (second.revision, second.data_as_of, second.as_of) == (2, AS_OF, AS_OF)
    assert second.score < first.score and second.previous_score == first.score
    assert list(Score.objects.filter(subject_id=person.id).order_by("revision").values_list("id", flat=True)) == [
        first.id, second.id,
    ]
    assert api.latest_score(subject_kind="person", subject_id=person.id).revision == 2


def test_a_score_computed_today_does_not_hide_data_dated_yesterday(champions):
    # given: scored today from data of three days ago
    person = PersonFactory()
    snapshot("person", person.id, GOOD_PERSON, as_of=AS_OF - 3 * DAY)
    batch.score_persons(person_ids=[person.id], as_of=AS_OF)
    # when: data dated yesterday arrives after today's score, and a back-dated run scores
    # yesterday from it
    snapshot("person", person.id, BAD_PERSON, as_of=AS_OF - DAY)
    assert batch.score_persons(person_ids=[person.id], as_of=AS_OF - DAY) == 1
    # then: the latest score is yesterday's, from the newer data, not today's from older data
    latest = _latest("person", person.id)
    assert (latest.as_of, latest.data_as_of) == (AS_OF - DAY, AS_OF - DAY)
    # and rescoring today reads yesterday's data as the next revision of today
    assert batch.score_persons(person_ids=[person.id], as_of=AS_OF) == 1
    latest = _latest("person", person.id)
    assert (latest.as_of, latest.revision, latest.data_as_of) == (AS_OF, 2, AS_OF - DAY)
    # a late snapshot older than the data already read changes nothing
    snapshot("person", person.id, GOOD_PERSON, as_of=AS_OF - 2 * DAY)
    assert batch.score_persons(person_ids=[person.id], as_of=AS_OF) == 0


@pytest.fixture
def person_behind_three(champions):
    """A person who is the legal representative of three companies, all scored."""
    boss = PersonFactory()
    snapshot("person", boss.id, GOOD_PERSON, as_of=AS_OF - 30 * DAY)
    companies = [CompanyFactory() for _ in range(3)]
    for c in companies:
        snapshot("company", c.id, GOOD_COMPANY, as_of=AS_OF - 30 * DAY)
        RelatedPartyFactory(company=c, person=boss, role="legal_representative")
    batch.score_persons(person_ids=[boss.id], as_of=AS_OF)
    batch.score_companies(company_ids=[c.id for c in companies], as_of=AS_OF)
    return boss, [c.id for c in companies]


@pytest.mark.parametrize("inline", [10, 2], ids=["in-process", "on-a-worker"])
def test_a_person_in_default_rescores_every_company_behind_them(person_behind_three, inline):
    boss, company_ids = person_behind_three
    before = {cid: _latest("company", cid).score for cid in company_ids}
    heard = []

    def receiver(sender, company_ids, as_of, **kwargs):
        heard.append((sorted(company_ids), as_of))

    company_scores_written.connect(receiver)
    try:
        # when: the person defaults (the task runs eagerly here: no broker in tests)
        snapshot("person", boss.id, BAD_PERSON, as_of=AS_OF, in_default=True)
        result = api.rescore_subjects(person_ids=[boss.id], as_of=AS_OF, inline=inline)
    finally:
        company_scores_written.disconnect(receiver)
    # then: the person and all three companies have a second revision of the day, capped
    assert result.persons_written == 1
    assert (result.companies_inline, result.companies_queued) == (
        (company_ids, []) if inline >= 3 else ([], company_ids)
    )
    for cid in company_ids:
        latest = _latest("company", cid)
        assert latest.revision == 2 and latest.previous_score == before[cid]
        assert latest.score < before[cid] and latest.reason_codes[0]["code"] == "R01"
    assert heard == [(company_ids, AS_OF)]


def test_a_company_not_behind_the_person_is_left_alone(person_behind_three):
    boss, company_ids = person_behind_three
    other = CompanyFactory()
    snapshot("company", other.id, GOOD_COMPANY, as_of=AS_OF - 30 * DAY)
    batch.score_companies(company_ids=[other.id], as_of=AS_OF)
    snapshot("person", boss.id, BAD_PERSON, as_of=AS_OF)
    api.rescore_subjects(person_ids=[boss.id], as_of=AS_OF)
    assert _latest("company", other.id).revision == 1


def test_unchanged_data_rescores_nothing(person_behind_three):
    boss, company_ids = person_behind_three
    result = api.rescore_subjects(person_ids=[boss.id], company_ids=company_ids, as_of=AS_OF)
    assert (result.persons_written, result.companies_written) == (0, 0)
    assert Score.objects.filter(revision__gt=1).count() == 0


def test_recording_credit_data_rescores_once_the_transaction_commits(champions, django_capture_on_commit_callbacks):
    # given: a company scored today from older data (written by a bulk writer that scores by
    # itself: in a test, the test's transaction never commits)
    from django.utils import timezone

    from scoring import services

    today = timezone.localdate()
    company = CompanyFactory()
    services.credit_snapshot_record(subject_kind="company", subject_id=company.id, as_of=today - 10 * DAY,
                                    features=GOOD_COMPANY, rescore=False)
    batch.score_companies(company_ids=[company.id], as_of=today)
    assert _latest("company", company.id).data_as_of == today - 10 * DAY
    # when: new data is recorded
    worse = {**GOOD_COMPANY, "lawsuits_24m": 12, "admin_penalties_24m": 6}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        snapshot("company", company.id, worse, as_of=today)
    # then: one rescore on commit, and the latest score reads the new data
    assert len(callbacks) == 1
    latest = _latest("company", company.id)
    assert (latest.revision, latest.data_as_of) == (2, today)


def _company_with_two_key_people(as_of=AS_OF):
    """A company and its two key people, scored the day before ``as_of``; new data dated
    ``as_of`` for all three (not yet rescored)."""
    company = CompanyFactory()
    people = [PersonFactory(), PersonFactory()]
    snapshot("company", company.id, GOOD_COMPANY, as_of=as_of - 30 * DAY)
    for person, role in zip(people, ("legal_representative", "actual_controller")):
        snapshot("person", person.id, GOOD_PERSON, as_of=as_of - 30 * DAY)
        RelatedPartyFactory(company=company, person=person, role=role)
    batch.score_persons(person_ids=[p.id for p in people], as_of=as_of - DAY)
    batch.score_companies(company_ids=[company.id], as_of=as_of - DAY)
    for person in people:
        assert snapshot("person", person.id, BAD_PERSON, as_of=as_of).as_of == as_of
    snapshot("company", company.id, GOOD_COMPANY, as_of=as_of)
    return company, people


def test_event_driven_rescoring_of_a_company_with_its_parties_costs_a_fixed_number_of_queries(
    champions, django_assert_num_queries, monkeypatch
):
    # given: a company and its two key people with new data dated today, and an earlier event
    # in this process (it saw the person champion)
    from django.db import connection

    first, first_people = _company_with_two_key_people()
    api.rescore_subjects(person_ids=[p.id for p in first_people], company_ids=[first.id], as_of=AS_OF)
    company, people = _company_with_two_key_people()
    # when: the people, then the companies behind them, are rescored (what the partner API's
    # new credit data sets off)
    # then: the champions with the people's dependent companies (one statement on PostgreSQL);
    # people: snapshots, one INSERT moving the pointers; company: snapshot, parties with their
    # latest scores, one INSERT likewise; the protective check.  (Elsewhere the dependents
    # are a statement of their own and the INSERT and the pointer move are two.)
    # On PostgreSQL in four round trips: the champions' read with the people's snapshots; the
    # people's INSERT with the company's two reads; the company's INSERT; the protective check.
    expected = 7 if connection.vendor == "postgresql" else 10
    trips = _RoundTrips(monkeypatch)
    with django_assert_num_queries(expected), connection.execute_wrapper(trips):
        result = api.rescore_subjects(person_ids=[p.id for p in people], company_ids=[company.id], as_of=AS_OF)
    assert trips.count == (4 if connection.vendor == "postgresql" else 10)
    assert (result.persons_written, result.companies_written, result.companies_inline) == (2, 1, [company.id])
    latest = _latest("company", company.id)
    assert (latest.as_of, latest.data_as_of) == (AS_OF, AS_OF)


def test_a_new_person_champion_scores_the_next_event(champions):
    # given: an event rescored under the first champion, then a new person champion promoted
    first, first_people = _company_with_two_key_people()
    api.rescore_subjects(person_ids=[p.id for p in first_people], company_ids=[first.id], as_of=AS_OF)
    newer = champion("person")
    company, people = _company_with_two_key_people(as_of=AS_OF + DAY)
    # when: the next event is rescored
    result = api.rescore_subjects(person_ids=[p.id for p in people], company_ids=[company.id], as_of=AS_OF + DAY)
    # then: the people are scored by the new champion, from today's data, and the company with them
    assert result.persons_written == 2 and result.companies_written == 1
    for person in people:
        latest = _latest("person", person.id)
        assert (latest.model_id, latest.data_as_of, latest.revision) == (newer.id, AS_OF + DAY, 1)
    parties = _latest("company", company.id).components["parties"]
    assert {(p["person_id"], p["score"]) for p in parties} == {(p.id, _latest("person", p.id).score) for p in people}


class _RoundTrips:
    """Counts round trips: an execute wrapper counts the statements sent outside a pipeline, and
    ``batch.pipelined`` (wrapped) counts one for each run of statements it sends together."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = batch.pipelined

        def pipelined(statements):
            self.count += bool(statements)
            return original(statements)

        monkeypatch.setattr(batch, "pipelined", pipelined)

    def __call__(self, execute, sql, params, many, context):
        from django.db import connection

        pgconn = getattr(connection.connection, "pgconn", None)
        if pgconn is None or not pgconn.pipeline_status:
            self.count += 1
        return execute(sql, params, many, context)
