import datetime

import pytest

from scoring import api, selectors
from scoring.models import Score
from tests.factories import CompanyFactory, PersonFactory, RelatedPartyFactory
from tests.scoring.helpers import AS_OF, BAD_PERSON, GOOD_COMPANY, GOOD_PERSON, champion, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def company_world():
    champion("person")
    champion("company")
    rep, holder, ghost = PersonFactory(), PersonFactory(), PersonFactory()
    snapshot("person", rep.id, GOOD_PERSON)
    snapshot("person", holder.id, BAD_PERSON)
    company = CompanyFactory()
    snapshot("company", company.id, GOOD_COMPANY)
    RelatedPartyFactory(company=company, person=rep, role="legal_representative")
    RelatedPartyFactory(company=company, person=holder, role="shareholder", ownership_pct=40)
    RelatedPartyFactory(company=company, person=ghost, role="director")  # no credit data
    # a former director no longer counts
    RelatedPartyFactory(company=company, person=PersonFactory(), role="director",
                        valid_from=datetime.date(2015, 1, 1), valid_to=datetime.date(2020, 1, 1))
    return {"company": company, "rep": rep, "holder": holder, "ghost": ghost}


def test_company_scores_on_demand_then_from_the_pointers(company_world, django_assert_num_queries):
    cid = company_world["company"].id
    # when: nobody has a score yet
    bundle = api.company_scores(company_id=cid, as_of=AS_OF, max_age_days=30)
    # then: scored on demand, people first
    assert bundle.company.subject_id == cid and 0 <= bundle.company.score <= 950
    assert bundle.company.model_version == 1
    roles = {(p.person_id, p.role): p for p in bundle.parties}
    assert len(roles) == 3
    assert roles[(company_world["ghost"].id, "director")].score is None
    assert roles[(company_world["holder"].id, "shareholder")].score.score == 280
    assert bundle.components["missing_parties"] == [{"person_id": company_world["ghost"].id, "role": "director"}]
    holder_reasons = roles[(company_world["holder"].id, "shareholder")].score.reasons
    assert holder_reasons[0].code == "P14" and holder_reasons[0].text_zh == "关系人中有违约"
    # and when asked again, nothing is rescored: two indexed queries (the champions; the parties
    # with their latest scores and the company's), plus one for the director who has no credit
    # data (a snapshot lookup; the champions are passed through)
    with django_assert_num_queries(3):
        again = api.company_scores(company_id=cid, as_of=AS_OF + datetime.timedelta(days=5), max_age_days=30)
    assert again == bundle
    assert Score.objects.count() == 3


def test_fresh_scores_cost_two_queries(company_world, django_assert_num_queries):
    # given: the director without credit data leaves
    from loans.models import RelatedParty

    RelatedParty.objects.filter(person=company_world["ghost"]).delete()
    cid = company_world["company"].id
    api.company_scores(company_id=cid, as_of=AS_OF, max_age_days=30)
    # when / then
    with django_assert_num_queries(2):
        bundle = api.company_scores(company_id=cid, as_of=AS_OF, max_age_days=0)
    assert len(bundle.parties) == 2


def test_on_demand_scoring_of_a_company_and_its_parties_costs_a_fixed_number_of_queries(
    company_world, django_assert_num_queries
):
    # given: every party has credit data, nobody has a score
    from django.db import connection

    from loans.models import RelatedParty

    RelatedParty.objects.filter(person=company_world["ghost"]).delete()
    cid = company_world["company"].id
    for kind in ("person", "company"):
        selectors.champion(kind)  # compiled once per process, not per request
    # when: all three are stale, so the people and then the company are scored on demand
    # then: champions; parties with the pointers (the company's too); people: snapshots (with
    # "already scored" flags), one INSERT that also moves the pointers and returns the rows
    # written; company: snapshot, parties with their latest scores, one INSERT likewise.  (On
    # other databases the INSERT and the pointer move are two statements, and the pointers are
    # read again at the end.)  Then the protective check on the company scores just written
    # (monitoring's company_scores_written receiver): one statement, the company's active lines
    # to freeze with the policy's minimum read inside it.
    expected = 8 if connection.vendor == "postgresql" else 11
    with django_assert_num_queries(expected):
        bundle = api.company_scores(company_id=cid, as_of=AS_OF, max_age_days=0)
    assert bundle.company.as_of == AS_OF
    assert {p.score.as_of for p in bundle.parties} == {AS_OF}
    assert Score.objects.filter(as_of=AS_OF).count() == 3


def test_old_scores_are_refreshed(company_world):
    cid = company_world["company"].id
    api.company_scores(company_id=cid, as_of=AS_OF, max_age_days=30)
    # when
    later = AS_OF + datetime.timedelta(days=45)
    bundle = api.company_scores(company_id=cid, as_of=later, max_age_days=30)
    # then
    assert bundle.company.as_of == later
    assert api.latest_score(subject_kind="person", subject_id=company_world["rep"].id).as_of == later


def test_latest_score_is_none_for_a_subject_never_scored():
    assert api.latest_score(subject_kind="person", subject_id=123456) is None


def test_a_company_without_credit_data_is_unavailable(company_world):
    other = CompanyFactory()
    with pytest.raises(api.ScoringUnavailable, match=f"no credit data for company #{other.id}"):
        api.company_scores(company_id=other.id, as_of=AS_OF, max_age_days=30)


def test_without_a_champion_scoring_is_unavailable():
    company = CompanyFactory()
    with pytest.raises(api.ScoringUnavailable, match="no champion person scorecard"):
        api.company_scores(company_id=company.id, as_of=AS_OF, max_age_days=30)


def test_scores_written_for_an_earlier_date_leave_the_newer_pointers_in_the_bundle(company_world):
    # given: everyone scored for a later date, then a new person champion
    cid = company_world["company"].id
    later = AS_OF + datetime.timedelta(days=10)
    api.company_scores(company_id=cid, as_of=later, max_age_days=30)
    champion("person")
    # when: asked for the earlier date, the people (and so the company) are rescored for it
    bundle = api.company_scores(company_id=cid, as_of=AS_OF, max_age_days=30)
    # then: the scores were written, but the pointers never move backwards, and the bundle
    # shows what the pointers say (as a fresh read would)
    assert Score.objects.filter(as_of=AS_OF).count() == 3
    assert bundle.company == api.latest_score(subject_kind="company", subject_id=cid)
    assert bundle.company.as_of == later
    for party in bundle.parties:
        assert party.score == api.latest_score(subject_kind="person", subject_id=party.person_id)
    assert {p.score.as_of for p in bundle.parties if p.score} == {later}
