"""The credit committee: cases opened by referrals, votes, outcomes, deadlines, screens."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from config.backoffice.roles import COMMITTEE_MEMBER, LOAN_OFFICER
from loans.choices import ApplicationStatus as S
from loans.choices import Role
from loans.errors import DomainError
from loans.models import Decision, LedgerEntry, LoanApplication
from loans.services import applications as app_services
from monitoring import committee
from monitoring.models import Alert, CaseStatus, CommitteeCase, CommitteeVote
from tests.factories import (
    CompanyFactory,
    LoanProductFactory,
    PartnerFactory,
    PersonFactory,
    RelatedPartyFactory,
    user_in,
)
from tests.loans import bundles

pytestmark = pytest.mark.django_db
TODAY = bundles.AS_OF


@pytest.fixture
def product(db):
    return LoanProductFactory(code="sme-revolving", rate_spread=Decimal("0.010000"))


@pytest.fixture
def officer(django_user_model):
    return user_in(django_user_model, "officer", LOAN_OFFICER)


@pytest.fixture
def members(django_user_model):
    return [user_in(django_user_model, f"member{i}", COMMITTEE_MEMBER) for i in (1, 2, 3)]


def _company():
    company = CompanyFactory(annual_revenue=Decimal("8000000.00"))
    RelatedPartyFactory(company=company, person=PersonFactory(), role=Role.LEGAL_REPRESENTATIVE)
    return company


def _scores(company, score):
    rep = company.related_parties.get(role=Role.LEGAL_REPRESENTATIVE)
    return bundles.bundle(score, company_id=company.pk, parties=[bundles.party(rep.person_id, score=700)])


@pytest.fixture
def referred(product, officer):
    company = _company()
    app = app_services.application_create(company_id=company.pk, product_id=product.pk, requested_amount="300000", term_months=12, actor=officer)
    app_services.application_submit(application_id=app.pk, actor=officer, as_of=TODAY, scores=_scores(company, 610))
    app.refresh_from_db()
    assert app.status == S.REFERRED
    return app


def vote(case, user, choice="approve", comment="fine", **conditions):
    return committee.committee_vote_cast(case_id=case.pk, actor=user, choice=choice, comment=comment, **conditions)


# --- opening ----------------------------------------------------------------------------------


def test_a_referral_opens_one_case_with_its_maker_excluded(referred, officer):
    case = CommitteeCase.objects.get()
    assert (case.kind, case.subject_id, case.application_id, case.status) == ("application", referred.pk, referred.pk, CaseStatus.OPEN)
    assert case.maker == f"user:{officer.pk}" and officer.pk in case.excluded_user_ids
    assert (case.quorum, case.majority) == (3, 2)
    assert committee.committee_case_open(kind="application", subject_id=referred.pk) == case  # idempotent
    assert CommitteeCase.objects.count() == 1


def test_an_approved_or_declined_application_opens_no_case(product, officer):
    company = _company()
    app = app_services.application_create(company_id=company.pk, product_id=product.pk, requested_amount="300000", term_months=12, actor=officer)
    app_services.application_submit(application_id=app.pk, actor=officer, as_of=TODAY, scores=_scores(company, 700))
    assert not CommitteeCase.objects.exists()


def test_the_deadline_is_two_working_days():
    friday = timezone.make_aware(datetime.datetime(2026, 11, 6, 10, 0))
    assert committee.add_working_days(friday, 2) == friday + datetime.timedelta(days=4)  # Tuesday
    wednesday = friday - datetime.timedelta(days=2)
    assert committee.add_working_days(wednesday, 2) == friday


def test_the_rules_come_from_the_credit_policy_and_a_case_keeps_those_it_opened_under(referred, product, officer):
    from loans.services.policy import credit_policy_publish

    # given: the case referred under the default policy (3 votes, 2 decide, due in 2 working days)
    first = CommitteeCase.objects.get(application=referred)
    assert (first.quorum, first.majority) == (3, 2)
    # when: a stricter policy is published and another application is referred
    v2 = credit_policy_publish(changes={"committee_quorum": 5, "committee_majority": 3, "committee_due_working_days": 4})
    company = _company()
    app = app_services.application_create(company_id=company.pk, product_id=product.pk, requested_amount="300000", term_months=12, actor=officer)
    app_services.application_submit(application_id=app.pk, actor=officer, as_of=TODAY, scores=_scores(company, 610))
    # then: the new case follows v2; the first keeps the rules it was opened under
    case = CommitteeCase.objects.get(application=app)
    assert (case.quorum, case.majority, case.policy_version) == (5, 3, v2.version)
    assert case.due_at == committee.add_working_days(case.opened_at, 4)
    assert case.lapses_at == committee.add_working_days(case.due_at, 4)
    first.refresh_from_db()
    assert (first.quorum, first.majority) == (3, 2) and first.policy_version == v2.version - 1


@pytest.mark.parametrize("changes, field", [
    ({"committee_majority": 4, "committee_quorum": 3}, "__all__"),
    ({"committee_majority": 0}, "__all__"),
    ({"committee_due_working_days": 0}, "__all__"),
])
def test_committee_rules_outside_sense_are_refused_and_nothing_is_published(changes, field):
    from loans.models import CreditPolicy
    from loans.services.policy import credit_policy_active, credit_policy_publish

    before = credit_policy_active().version
    with pytest.raises(ValidationError) as exc:
        credit_policy_publish(changes=changes)
    assert field in exc.value.message_dict
    assert CreditPolicy.objects.get(is_active=True).version == before and CreditPolicy.objects.count() == 1


# --- partner applications: maker recorded, decision reaches the partner --------------------------


def test_a_partner_application_records_the_partner_as_maker_and_gets_the_committee_reasons(product, members):
    from loans.api.models import WebhookDelivery, WebhookEndpoint

    partner = PartnerFactory()
    WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example.com/in", events=["application.decided"])
    company = CompanyFactory(annual_revenue=Decimal("8000000.00"), partner=partner)
    RelatedPartyFactory(company=company, person=PersonFactory(partner=partner), role=Role.LEGAL_REPRESENTATIVE)
    decision = app_services.application_apply(
        company_id=company.pk, product_code=product.code, requested_amount="300000", term_months=12,
        partner_id=partner.pk, as_of=TODAY, scores=_scores(company, 610),
    )
    app = decision.application
    assert app.maker == f"partner:{partner.pk}" and app.status == S.REFERRED
    case = CommitteeCase.objects.get(application=app)
    assert case.maker == f"partner:{partner.pk}"
    # when the committee rejects it
    vote(case, members[0], "reject", "thin file")
    vote(case, members[1], "reject", "revenue unproven")
    vote(case, members[2], "approve", "acceptable")
    # then it is declined with the committee's reasons, and the partner hears them
    app.refresh_from_db()
    assert app.status == S.COMMITTEE_DECLINED
    case.refresh_from_db()
    assert case.status == CaseStatus.REJECTED and "thin file" in case.outcome_reason and "revenue unproven" in case.outcome_reason
    payload = WebhookDelivery.objects.filter(event_type="application.decided").latest("id").payload
    assert payload["status"] == "committee_declined" and payload["outcome"] == "decline"
    assert any("thin file" in r for r in payload["reasons"]) and not any("acceptable" in r for r in payload["reasons"])


def test_an_application_without_a_maker_cannot_be_decided(referred, members):
    LoanApplication.objects.filter(pk=referred.pk).update(maker="system:x")
    referred.refresh_from_db()
    referred.maker = ""
    with pytest.raises(DomainError, match="no recorded maker"):
        app_services.application_makers(referred)
    with pytest.raises(IntegrityError), transaction.atomic():
        LoanApplication.objects.filter(pk=referred.pk).update(maker="")


# --- voting and outcomes ------------------------------------------------------------------------


def test_two_approvals_of_three_approve_and_the_lower_limit_is_booked(referred, members, officer):
    case = CommitteeCase.objects.get()
    vote(case, members[0], "approve_conditions", "lower the limit", limit="200000")
    vote(case, members[1], "approve_conditions", "price it up", annual_rate="0.180000", required_security="director's guarantee")
    assert CommitteeCase.objects.get().status == CaseStatus.OPEN  # two votes: below the quorum
    vote(case, members[2], "reject", "too thin")
    case.refresh_from_db()
    assert case.status == CaseStatus.APPROVED and case.closed_at is not None
    referred.refresh_from_db()
    assert referred.status == S.COMMITTEE_APPROVED
    assert (referred.approved_limit, referred.annual_rate) == (Decimal("200000.00"), Decimal("0.180000"))
    decision = Decision.objects.get(application=referred, kind="committee")
    assert decision.decided_by == members[2] and "director's guarantee" in decision.note
    assert LedgerEntry.objects.filter(kind="committee.case_closed").count() == 1
    assert LedgerEntry.objects.filter(kind="decision.committee").count() == 1
    # the approval books the committee's limit
    app_services.application_accept(application_id=referred.pk, actor=officer, as_of=TODAY)
    line = app_services.application_book(application_id=referred.pk, actor=officer, opened_on=TODAY)
    assert line.limit_amount == Decimal("200000.00")


def test_a_member_changes_the_vote_while_the_case_is_open_one_row_each(referred, members):
    case = CommitteeCase.objects.get()
    vote(case, members[0], "more_info", "send the accounts")
    vote(case, members[0], "approve", "accounts seen")
    assert list(CommitteeVote.objects.values_list("member_id", "choice")) == [(members[0].pk, "approve")]
    # (PostgreSQL names the constraint in the error, SQLite its columns)
    with pytest.raises(IntegrityError, match="committee_vote_one_per_member|committeevote.case_id, monitoring_committeevote.member_id"), transaction.atomic():
        CommitteeVote.objects.create(case=case, member=members[0], choice="reject", comment="twice")


def test_quorum_without_a_majority_stays_open(referred, members):
    case = CommitteeCase.objects.get()
    vote(case, members[0], "approve")
    vote(case, members[1], "reject", "no")
    vote(case, members[2], "more_info", "the lease")
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN
    referred.refresh_from_db()
    assert referred.status == S.REFERRED


# --- bad input: a clear error, nothing changes ----------------------------------------------------


def _unchanged(case, votes):
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and CommitteeVote.objects.count() == votes


def test_a_non_member_cannot_vote(referred, django_user_model):
    case = CommitteeCase.objects.get()
    outsider = user_in(django_user_model, "outsider", LOAN_OFFICER)
    with pytest.raises(DomainError, match="member of the credit committee") as exc:
        vote(case, outsider)
    assert exc.value.code == "not_a_member"
    _unchanged(case, 0)


def test_nobody_votes_on_their_own_proposal(referred, officer, django_user_model):
    case = CommitteeCase.objects.get()
    officer.groups.add(Group.objects.get(name=COMMITTEE_MEMBER))
    officer = django_user_model.objects.get(pk=officer.pk)
    with pytest.raises(DomainError, match="Maker-checker") as exc:
        vote(case, officer)
    assert exc.value.code == "maker_checker"
    _unchanged(case, 0)


def test_the_applicants_officer_who_submitted_cannot_vote(product, officer, members):
    company = _company()
    app = app_services.application_create(company_id=company.pk, product_id=product.pk, requested_amount="300000", term_months=12, actor=officer)
    app_services.application_submit(application_id=app.pk, actor=members[0], as_of=TODAY, scores=_scores(company, 610))
    case = CommitteeCase.objects.get(application=app)
    with pytest.raises(DomainError, match="Maker-checker"):
        vote(case, members[0])
    _unchanged(case, 0)


@pytest.mark.parametrize(
    ("choice", "conditions", "field"),
    [
        ("approve_conditions", {"annual_rate": "0.250000"}, "annual_rate"),  # above the legal cap
        ("approve_conditions", {"limit": "300000.01"}, "limit"),  # above the request
        ("approve_conditions", {"limit": "-5"}, "limit"),
        ("approve_conditions", {"limit": "lots"}, "limit"),
        ("approve_conditions", {}, "choice"),  # conditions promised, none given
        ("approve", {"limit": "100000"}, "choice"),  # conditions on a plain approval
        ("maybe", {}, "choice"),
    ],
)
def test_conditions_outside_policy_are_refused(referred, members, choice, conditions, field):
    case = CommitteeCase.objects.get()
    with pytest.raises(ValidationError) as exc:
        vote(case, members[0], choice, "c", **conditions)
    assert field in exc.value.message_dict
    _unchanged(case, 0)


def test_a_vote_needs_a_comment(referred, members):
    case = CommitteeCase.objects.get()
    with pytest.raises(ValidationError) as exc:
        vote(case, members[0], "approve", "   ")
    assert "comment" in exc.value.message_dict
    _unchanged(case, 0)


def test_no_vote_on_a_closed_case(referred, members, django_user_model):
    case = CommitteeCase.objects.get()
    for m in members[:2]:
        vote(case, m, "reject", "no")
    vote(case, members[2], "reject", "no")
    late = user_in(django_user_model, "late", COMMITTEE_MEMBER)
    for who in (late, members[0]):
        with pytest.raises(DomainError, match="closed") as exc:
            vote(case, who, "approve", "changed my mind")
        assert exc.value.code == "case_closed"
    assert set(CommitteeVote.objects.values_list("choice", flat=True)) == {"reject"} and CommitteeVote.objects.count() == 3


def test_an_unknown_case_is_not_found(members):
    with pytest.raises(DomainError, match="does not exist"):
        committee.committee_vote_cast(case_id=999999, actor=members[0], choice="approve", comment="x")


# --- deadlines ------------------------------------------------------------------------------------


def test_an_overdue_case_is_escalated_once_then_lapses_and_declines(referred, members):
    from loans.api.models import WebhookDelivery  # noqa: F401  (the receiver is connected)

    case = CommitteeCase.objects.get()
    assert committee.committee_cases_escalate(now=case.due_at - datetime.timedelta(minutes=1)) == {"escalated": 0, "lapsed": 0}
    assert committee.committee_cases_escalate(now=case.due_at) == {"escalated": 1, "lapsed": 0}
    assert committee.committee_cases_escalate(now=case.due_at) == {"escalated": 0, "lapsed": 0}
    alert = Alert.objects.get(rule=committee.OVERDUE_RULE)
    assert (alert.subject_kind, alert.subject_id, alert.severity) == ("company", referred.company_id, "high")
    assert committee.committee_cases_escalate(now=case.lapses_at) == {"escalated": 0, "lapsed": 1}
    case.refresh_from_db()
    referred.refresh_from_db()
    assert case.status == CaseStatus.LAPSED and referred.status == S.COMMITTEE_DECLINED
    assert "lapsed" in Decision.objects.get(application=referred, kind="committee").note


def test_a_case_whose_application_was_withdrawn_lapses_quietly(referred, officer):
    case = CommitteeCase.objects.get()
    app_services.application_withdraw(application_id=referred.pk, actor=officer)
    assert committee.committee_cases_escalate(now=case.lapses_at)["lapsed"] == 1
    referred.refresh_from_db()
    assert referred.status == S.WITHDRAWN


def test_a_vote_on_a_withdrawn_application_is_refused(referred, officer, members):
    case = CommitteeCase.objects.get()
    app_services.application_withdraw(application_id=referred.pk, actor=officer)
    vote(case, members[0])
    vote(case, members[1])
    with pytest.raises(DomainError, match="no longer referred"):
        vote(case, members[2])
    assert CommitteeVote.objects.count() == 2


# --- the queue and the screens ----------------------------------------------------------------------


def test_my_queue_lists_cases_waiting_for_my_vote_overdue_first(referred, members, product, officer):
    company = _company()
    app2 = app_services.application_create(company_id=company.pk, product_id=product.pk, requested_amount="300000", term_months=12, actor=officer)
    app_services.application_submit(application_id=app2.pk, actor=officer, as_of=TODAY, scores=_scores(company, 610))
    first, second = CommitteeCase.objects.order_by("pk")
    CommitteeCase.objects.filter(pk=second.pk).update(due_at=timezone.now() - datetime.timedelta(hours=1))
    assert [c.pk for c in committee.committee_queue(members[0])["waiting"]] == [second.pk, first.pk]
    vote(first, members[0])
    queue = committee.committee_queue(members[0])
    assert [c.pk for c in queue["waiting"]] == [second.pk] and [c.pk for c in queue["voted"]] == [first.pk]
    assert committee.committee_queue(officer) == {"waiting": [], "voted": []}
    # the sidebar's badge counts what the queue shows as waiting
    from django.test import RequestFactory

    from config.backoffice.navigation import badge_cases_waiting

    request = RequestFactory().get("/admin/")
    request.user = members[0]
    assert badge_cases_waiting(request) == "1"
    request.user = members[1]
    assert badge_cases_waiting(request) == "2"
    CommitteeCase.objects.filter(pk=second.pk).update(excluded_user_ids=[members[1].pk])
    assert badge_cases_waiting(request) == "1" == str(len(committee.committee_queue(members[1])["waiting"]))


def test_three_members_decide_on_the_case_page(referred, members, officer, client):
    case = CommitteeCase.objects.get()
    page = reverse("admin:monitoring_committeecase_case", args=[case.pk])
    client.force_login(members[0])
    queue = client.get(reverse("admin:monitoring_committeecase_queue"))
    assert queue.status_code == 200 and page in queue.content.decode()
    body = client.get(page).content.decode()
    assert "Credit memo" in body and referred.company.legal_name in body and "Cast my vote" in body
    # the memo says how the limit and rate were derived, in words and formatted, as the
    # underwriting page does (never the decision's raw output dictionaries)
    assert 'id="bo-derivation"' in body and "Limit = the smallest of" in body and "Amount requested" in body
    assert "limit_breakdown" not in body and "{&#x27;" not in body
    for n, m in enumerate(members):
        client.force_login(m)
        response = client.post(reverse("admin:monitoring_committeecase_vote", args=[case.pk]),
                               {"choice": "approve_conditions" if n == 0 else "approve", "comment": f"vote {n}",
                                "limit": "250000" if n == 0 else ""}, follow=True)
        assert response.status_code == 200
    referred.refresh_from_db()
    assert referred.status == S.COMMITTEE_APPROVED and referred.approved_limit == Decimal("250000.00")
    # the officer reads the case but has no queue and cannot vote
    client.force_login(officer)
    assert client.get(page).status_code == 200
    assert client.get(reverse("admin:monitoring_committeecase_queue")).status_code == 403
    assert client.post(reverse("admin:monitoring_committeecase_vote", args=[case.pk]), {"choice": "reject", "comment": "x"}).status_code == 403


def test_the_memo_names_the_warnings_rule_and_subject_in_words(referred, members, client):
    # given: a live warning on the referred company and one on its legal representative
    from monitoring.models import Alert

    company = referred.company
    rep = company.related_parties.select_related("person").first()
    Alert.objects.create(subject_kind="company", subject_id=company.pk, company_id=company.pk, rule="below_minimum",
                         severity="high", first_seen_on=TODAY, last_seen_on=TODAY, old_score=640, new_score=580)
    if rep is not None:
        Alert.objects.create(subject_kind="person", subject_id=rep.person_id, rule="score_drop", severity="medium",
                             first_seen_on=TODAY, last_seen_on=TODAY, old_score=700, new_score=640)
    case = CommitteeCase.objects.get()
    client.force_login(members[0])
    body = client.get(reverse("admin:monitoring_committeecase_case", args=[case.pk])).content.decode()
    # then: the rule by name and the subject by name (was "below_minimum (High) — company #12")
    assert "Score below the minimum (High)" in body
    assert "below_minimum (" not in body and f"company #{company.pk}" not in body
    assert company.legal_name in body
    if rep is not None:
        assert f"person #{rep.person_id}" not in body and "score_drop" not in body


def test_a_bad_vote_from_the_page_is_a_message_not_a_500(referred, members, client):
    case = CommitteeCase.objects.get()
    client.force_login(members[0])
    response = client.post(reverse("admin:monitoring_committeecase_vote", args=[case.pk]),
                           {"choice": "approve_conditions", "comment": "x", "annual_rate": "0.5"}, follow=True)
    assert response.status_code == 200
    assert any("legal cap" in str(m) for m in response.context["messages"])
    assert not CommitteeVote.objects.exists()


def test_the_deadline_job_is_scheduled_and_runs(referred):
    from django_celery_beat.models import PeriodicTask

    from monitoring.tasks import committee_deadlines

    assert PeriodicTask.objects.get(name="committee deadlines").task == "monitoring.tasks.committee_deadlines"
    CommitteeCase.objects.update(due_at=timezone.now() - datetime.timedelta(minutes=1))
    assert committee_deadlines() == {"escalated": 1, "lapsed": 0}


def test_a_registered_kind_of_case_is_decided_through_its_applier(members, django_user_model, client):
    # given a kind registered the way the post-loan work registers "post_loan_action"
    proposer = user_in(django_user_model, "proposer", LOAN_OFFICER)
    applied = []
    committee.register_case_kind(
        "test_action",
        opener=lambda subject_id: {"title": f"Recall line #{subject_id}", "maker": f"user:{proposer.pk}"},
        applier=lambda case, approved, actor, reason, terms, reasons: applied.append((case.subject_id, approved, actor, reason)),
        memo=lambda case: {"sections": [{"title": "Action", "rows": [("kind", "recall")]}]},
    )
    try:
        case = committee.committee_case_open(kind="test_action", subject_id=77)
        client.force_login(members[0])
        assert "Recall line #77" in client.get(reverse("admin:monitoring_committeecase_case", args=[case.pk])).content.decode()
        # the proposer cannot vote even as a member
        proposer.groups.add(Group.objects.get(name=COMMITTEE_MEMBER))
        with pytest.raises(DomainError, match="Maker-checker"):
            vote(case, django_user_model.objects.get(pk=proposer.pk))
        vote(case, members[0])
        vote(case, members[1], "approve", "recall it")
        assert applied == []
        vote(case, members[2], "more_info", "why now?")
        assert applied == [(77, True, members[2], applied[0][3])] and "recall it" in applied[0][3]
        assert LedgerEntry.objects.filter(kind="committee.case_closed", subject_id=str(case.pk)).exists()
        with pytest.raises(DomainError, match="Unknown kind"):
            committee.committee_case_open(kind="no_such_kind", subject_id=1)
    finally:
        committee.CASE_KINDS.pop("test_action", None)


def test_demo_referrals_needs_the_demo_officer():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="demo_users"):
        call_command("demo_referrals", officer="nobody-here")

