"""Application lifecycle through the services: create, submit (automated decision),
committee, accept, book, withdraw, expire; illegal moves; bad input."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from loans.choices import ApplicationStatus as S
from loans.choices import CompanyStatus, CreditLineStatus
from loans.errors import DomainError, InvalidTransition, NotFound
from loans.models import ApplicationEvent, CreditLine, Decision, LedgerEntry, LoanApplication
from loans.services.applications import (
    TRANSITIONS,
    application_accept,
    application_book,
    application_committee_approve,
    application_committee_decline,
    application_create,
    application_submit,
    application_withdraw,
    applications_expire,
)
from loans.services.ledger import ledger_verify
from loans.services.policy import credit_policy_active, credit_policy_publish
from tests.factories import CompanyFactory, PersonFactory, RelatedPartyFactory

from .conftest import TODAY, scores_for

pytestmark = pytest.mark.django_db


def draft(company, product, officer, amount="500000", term=12):
    return application_create(company_id=company.pk, product_id=product.pk, requested_amount=amount, term_months=term, actor=officer)


def submit(app, score=700, actor=None, **kw):
    return application_submit(application_id=app.pk, actor=actor, as_of=TODAY, scores=scores_for(app.company, score, **kw))


# --- create: bad input ----------------------------------------------------------------------


def test_create_makes_a_draft_with_its_first_history_row(company, product, officer):
    app = draft(company, product, officer)
    assert app.status == S.DRAFT
    assert list(app.events.values_list("from_status", "to_status")) == [("", S.DRAFT)]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"product_code": "no-such-product"}, "product"),
        ({"requested_amount": "0"}, "requested_amount"),
        ({"requested_amount": "-5"}, "requested_amount"),
        ({"requested_amount": "abc"}, "requested_amount"),
        ({"term_months": 2}, "term_months"),
        ({"term_months": 37}, "term_months"),
        ({"company_id": 999999}, "company"),
    ],
)
def test_create_refuses_bad_input_naming_the_field(company, product, kwargs, field):
    args = {"company_id": company.pk, "product_id": product.pk, "requested_amount": "100000", "term_months": 12}
    if "product_code" in kwargs:
        args.pop("product_id")
    args.update(kwargs)
    with pytest.raises(ValidationError) as exc:
        application_create(**args)
    assert field in exc.value.message_dict
    assert LoanApplication.objects.count() == 0


# --- submit: the automated decision ---------------------------------------------------------


def test_submit_approves_and_records_decision_events_and_ledger(company, product, officer):
    # given
    app = draft(company, product, officer)
    # when
    decision = submit(app, 700, actor=officer)
    # then
    app.refresh_from_db()
    assert app.status == S.APPROVED
    assert (app.score, app.tier, app.approved_limit, app.annual_rate) == (700, "B", Decimal("500000.00"), Decimal("0.090000"))
    assert decision.outcome == "approve" and decision.kind == "automated"
    assert decision.policy_version == credit_policy_active().version
    assert decision.inputs["request"]["amount"] == "500000.00"
    assert list(app.events.values_list("to_status", flat=True)) == [S.DRAFT, S.SUBMITTED, S.APPROVED]
    entry = LedgerEntry.objects.get(seq=decision.ledger_seq)
    assert (entry.kind, entry.subject_type, entry.subject_id) == ("decision.automated", "loans.loanapplication", str(app.pk))
    assert ledger_verify() == (1, None)


def test_submit_599_declines_with_rule_hits_and_reason_codes(company, product, officer):
    app = draft(company, product, officer)
    decision = submit(app, 599)
    app.refresh_from_db()
    assert app.status == S.DECLINED and app.approved_limit is None
    assert [h["code"] for h in decision.rule_hits] == ["EL_SCORE_BELOW_MIN"]
    assert [r["code"] for r in decision.reason_codes] == ["R_UTIL", "R_LATE"]


def test_submit_600_is_referred_to_the_committee(company, product, officer):
    app = draft(company, product, officer)
    decision = submit(app, 600)
    app.refresh_from_db()
    assert app.status == S.REFERRED and decision.outcome == "refer"
    assert app.approved_limit == Decimal("500000.00")  # the proposal the committee sees


def test_submit_knocks_out_a_suspended_company(company, product, officer):
    company.status = CompanyStatus.SUSPENDED
    company.save()
    app = draft(company, product, officer)
    decision = submit(app, 800)
    assert decision.outcome == "decline"
    assert "KO_COMPANY_STATUS" in [h["code"] for h in decision.rule_hits]


def test_submit_knocks_out_a_blocklisted_related_party(company, product, officer):
    person = PersonFactory(is_blocklisted=True)
    RelatedPartyFactory(company=company, person=person, role="director")
    decision = submit(draft(company, product, officer), 800)
    assert decision.outcome == "decline"
    assert "KO_PARTY_BLOCKLISTED" in [h["code"] for h in decision.rule_hits]


def test_submit_uses_the_policy_version_in_force(company, product, officer):
    credit_policy_publish(changes={"min_score": 650, "grey_band_low": 650, "grey_band_high": 660}, note="tighter")
    decision = submit(draft(company, product, officer), 640)
    assert decision.outcome == "decline"
    assert decision.policy_version == 2


def test_submit_twice_is_an_illegal_transition_and_changes_nothing(company, product, officer):
    app = draft(company, product, officer)
    submit(app, 700)
    with pytest.raises(InvalidTransition, match="cannot go from approved to submitted"):
        submit(app, 700)
    assert Decision.objects.count() == 1
    assert app.events.count() == 3


def test_submit_unknown_application_is_not_found(db):
    with pytest.raises(NotFound):
        application_submit(application_id=424242, scores=None)


def test_submit_query_count_is_pinned(company, product, officer, django_assert_num_queries):
    # given
    app = draft(company, product, officer)
    scores = scores_for(company, 700)
    credit_policy_active()
    # when / then: app (+ which policy is active), blocklisted roles, group and exposure
    # (one recursive query), savepoint, guarded update, events, ledger (tail + insert,
    # + advisory lock on PostgreSQL), decision, release.  On PostgreSQL the decision goes in the
    # ledger entry's INSERT (one data-modifying statement), which pays for the lock: 10 on both.
    with django_assert_num_queries(10):
        application_submit(application_id=app.pk, as_of=TODAY, scores=scores)


# --- the group cap --------------------------------------------------------------------------


def test_group_exposure_limits_the_new_limit(company, product, officer, make_line):
    # given a sister company (shared legal representative) with 4,700,000 of open limits
    rep = company.related_parties.get(role="legal_representative").person
    sister = CompanyFactory(annual_revenue=Decimal("90000000"))
    RelatedPartyFactory(company=sister, person=rep, role="legal_representative")
    credit_policy_publish(changes={"auto_approval_ceiling": Decimal("5000000")})
    make_line(amount="2700000", score=760, target=sister)
    make_line(amount="2000000", score=760, target=sister)
    # when
    decision = submit(draft(company, product, officer, amount="800000"), 700)
    # then
    assert decision.outcome == "approve"
    assert decision.approved_limit == Decimal("300000.00")
    assert decision.inputs["group"]["open_limits"] == "4700000.00"


# --- committee --------------------------------------------------------------------------------


def test_committee_approves_a_referral_under_maker_checker(company, product, officer, checker):
    app = draft(company, product, officer)
    submit(app, 610, actor=officer)
    with pytest.raises(DomainError, match="Maker-checker"):
        application_committee_approve(application_id=app.pk, actor=officer)
    decision = application_committee_approve(application_id=app.pk, actor=checker, limit="400000", note="ok with less")
    app.refresh_from_db()
    assert app.status == S.COMMITTEE_APPROVED and app.approved_limit == Decimal("400000.00")
    assert decision.kind == "committee" and decision.decided_by == checker
    assert ledger_verify() == (2, None)


def test_committee_cannot_price_above_the_cap(company, product, officer, checker):
    app = draft(company, product, officer)
    submit(app, 610)
    with pytest.raises(ValidationError) as exc:
        application_committee_approve(application_id=app.pk, actor=checker, annual_rate="0.25")
    assert "annual_rate" in exc.value.message_dict


def test_committee_decline_needs_a_reason(company, product, officer, checker):
    app = draft(company, product, officer)
    submit(app, 610)
    with pytest.raises(ValidationError):
        application_committee_decline(application_id=app.pk, actor=checker, note=" ")
    application_committee_decline(application_id=app.pk, actor=checker, note="thin file")
    app.refresh_from_db()
    assert app.status == S.COMMITTEE_DECLINED


def test_committee_cannot_decide_an_approved_application(company, product, officer, checker):
    app = draft(company, product, officer)
    submit(app, 700)
    with pytest.raises(InvalidTransition):
        application_committee_approve(application_id=app.pk, actor=checker)


# --- accept, book, withdraw, expire -------------------------------------------------------------


def test_accept_and_book_open_a_credit_line(company, product, officer):
    app = draft(company, product, officer)
    submit(app, 700)
    application_accept(application_id=app.pk, actor=officer)
    line = application_book(application_id=app.pk, actor=officer, opened_on=datetime.date(2026, 3, 5))
    app.refresh_from_db()
    assert app.status == S.BOOKED
    assert (line.limit_amount, line.annual_rate, line.tier, line.status) == (Decimal("500000.00"), Decimal("0.090000"), "B", CreditLineStatus.ACTIVE)
    assert line.expires_on == datetime.date(2027, 3, 5)
    assert list(app.events.values_list("to_status", flat=True)) == [S.DRAFT, S.SUBMITTED, S.APPROVED, S.ACCEPTED, S.BOOKED]


def test_booking_rechecks_the_group_cap(company, product, officer, make_line):
    # given an approval, then another line in the group booked meanwhile up to the cap
    app = draft(company, product, officer)
    submit(app, 700)
    application_accept(application_id=app.pk)
    credit_policy_publish(changes={"group_exposure_cap": Decimal("600000")})
    make_line(amount="200000", score=700)
    # when / then
    with pytest.raises(DomainError, match="above the cap"):
        application_book(application_id=app.pk)
    app.refresh_from_db()
    assert app.status == S.ACCEPTED
    assert CreditLine.objects.count() == 1


def test_booking_before_acceptance_is_illegal(company, product, officer):
    app = draft(company, product, officer)
    submit(app, 700)
    with pytest.raises(InvalidTransition, match="approved to booked"):
        application_book(application_id=app.pk)


def test_withdraw_is_final(company, product, officer):
    app = draft(company, product, officer)
    application_withdraw(application_id=app.pk, actor=officer, note="changed their mind")
    with pytest.raises(InvalidTransition, match="final status"):
        submit(app, 700)


def test_an_offer_lapses(company, product, officer):
    app = draft(company, product, officer)
    submit(app, 700)
    later = timezone.localdate() + datetime.timedelta(days=31)
    with pytest.raises(DomainError, match="lapsed"):
        application_accept(application_id=app.pk, as_of=later)
    assert applications_expire(as_of=later) == 1
    app.refresh_from_db()
    assert app.status == S.EXPIRED


def test_transition_table_has_every_status():
    assert set(TRANSITIONS) == set(S.values)
    for targets in TRANSITIONS.values():
        assert targets <= set(S.values)


def test_events_are_one_per_transition(company, product, officer):
    app = draft(company, product, officer)
    submit(app, 700)
    assert ApplicationEvent.objects.filter(application=app).count() == 3
