"""A small world with at least one row behind every admin, and the users who attack it."""

import datetime
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from config.ops.models import JobStatus
from loans.choices import ApplicationStatus, Role
from loans.services import applications as app_services
from loans.services.lines import credit_line_draw_down, credit_line_freeze
from loans.services.repayments import loan_repayment_record
from tests.factories import CompanyFactory, LoanProductFactory, PartnerFactory, PersonFactory, RelatedPartyFactory
from tests.loans import bundles

TODAY = bundles.AS_OF


def _scores(company, score):
    rep = company.related_parties.get(role=Role.LEGAL_REPRESENTATIVE)
    return bundles.bundle(score, company_id=company.pk, parties=[bundles.party(rep.person_id, score=700)])


def _application(maker, product, *, score, amount="300000", to=None):
    company = CompanyFactory(annual_revenue=Decimal("8000000.00"))
    RelatedPartyFactory(company=company, person=PersonFactory(), role=Role.LEGAL_REPRESENTATIVE)
    app = app_services.application_create(company_id=company.pk, product_id=product.pk, requested_amount=amount, term_months=12, actor=maker)
    app_services.application_submit(application_id=app.pk, actor=maker, as_of=TODAY, scores=_scores(company, score))
    if to in (ApplicationStatus.ACCEPTED, ApplicationStatus.BOOKED):
        app_services.application_accept(application_id=app.pk, actor=maker, as_of=TODAY)
    if to == ApplicationStatus.BOOKED:
        app_services.application_book(application_id=app.pk, actor=maker, opened_on=TODAY)
    app.refresh_from_db()
    return app


@pytest.fixture
def world(db, django_user_model):
    """Applications in every interesting state, an active and a frozen line, a loan with a
    repayment, partner API state, scores, a nightly run, schedules and login records."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django_celery_beat.models import ClockedSchedule, IntervalSchedule, PeriodicTask, SolarSchedule
    from rest_framework_api_key.models import APIKey

    from loans.api.models import IdempotencyRecord, PartnerAPIKey, WebhookDelivery, WebhookEndpoint
    from loans.models import Collateral, CreditCheckConsent, Guarantee, PersonDataRequest
    from monitoring.models import Alert, ScoringChunk, ScoringRun
    from scoring import batch
    from scoring.models import CreditOutcome
    from tests.scoring.helpers import AS_OF, GOOD_COMPANY, GOOD_PERSON, champion, snapshot

    maker = django_user_model.objects.create_user("maker", password="x", is_staff=True)
    product = LoanProductFactory(code="sme-revolving", rate_spread=Decimal("0.010000"))
    referred = _application(maker, product, score=610)
    approved = _application(maker, product, score=700)
    accepted = _application(maker, product, score=700, to=ApplicationStatus.ACCEPTED)
    booked = _application(maker, product, score=700, amount="500000", to=ApplicationStatus.BOOKED)
    frozen = _application(maker, product, score=700, to=ApplicationStatus.BOOKED)
    assert (referred.status, approved.status) == (ApplicationStatus.REFERRED, ApplicationStatus.APPROVED)
    line, frozen_line = booked.credit_line, frozen.credit_line
    credit_line_freeze(credit_line_id=frozen_line.pk, actor=maker)
    loan = credit_line_draw_down(credit_line_id=line.pk, amount="100000", term_months=3, disbursed_on=TODAY, actor=maker)
    first = loan.installments.order_by("number").first()
    loan_repayment_record(loan_id=loan.pk, amount=first.amount_due, external_ref="bank-1", received_on=first.due_date, actor=maker)
    Collateral.objects.create(owner=line.company, kind="equipment", description="lathe", appraised_value="80000", valued_on=TODAY, credit_line=line)
    guarantor = PersonFactory()
    Guarantee.objects.create(guarantor_person=guarantor, amount="50000", credit_line=line)
    CreditCheckConsent.objects.create(person=guarantor, source="bureau", granted_at=timezone.now(), evidence="auth-1")
    PersonDataRequest.objects.create(person=guarantor, kind="export", outcome="done", reason="access request 1", channel="admin")

    partner = PartnerFactory()
    PartnerAPIKey.objects.create_key(name="ops", partner=partner)
    APIKey.objects.create_key(name="unused")
    endpoint = WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example.com/in")
    WebhookDelivery.objects.create(endpoint=endpoint, event_type="credit_line.changed", payload={"id": 1}, status="failed", attempts=8)
    IdempotencyRecord.objects.create(partner=partner, key="k-1", fingerprint="0" * 64, response_status=201, response_body={})

    champion("person")
    champion("company")
    person = line.company.related_parties.get().person
    snapshot("person", person.pk, GOOD_PERSON)
    snapshot("company", line.company.pk, GOOD_COMPANY)
    batch.score_person_range(id_from=person.pk, id_to=person.pk + 1, as_of=AS_OF)
    CreditOutcome.objects.create(subject_kind="person", subject_id=person.pk, observed_at=AS_OF, defaulted_12m=False)
    run = ScoringRun.objects.create(as_of=TODAY, status="succeeded", chunks_total=1, chunks_done=1)
    ScoringChunk.objects.create(run=run, phase="persons", id_from=1, id_to=10, status="done")
    warning = Alert.objects.create(subject_kind="company", subject_id=line.company.pk, company=line.company, first_seen_on=TODAY, last_seen_on=TODAY, rule="score_drop", severity="high", old_score=700, new_score=560)
    # WarningRule: the defaults are published by monitoring migration 0005
    from monitoring.actions import post_loan_action_propose
    from monitoring.models import ActionPolicy

    post_loan_action_propose(kind="reduce_limit", credit_line_id=line.pk, params={"percent": 10}, actor=maker, alert_id=warning.pk, on=TODAY)
    ActionPolicy.objects.get_or_create(rule="score_drop", severity="high", defaults={"action_kind": "reduce_limit", "params": {"percent": 30}})
    from monitoring.models import ActionPolicyChange

    ActionPolicyChange.objects.create(rule="score_drop", severity="high", action_kind="reduce_limit", params={"percent": 20},
                                      maker=f"user:{maker.pk}", proposed_by=maker)

    from monitoring.models import CommitteeCase, CommitteeVote

    case = CommitteeCase.objects.get(application=referred)  # opened by the referral
    member = django_user_model.objects.create_user("member", password="x", is_staff=True)
    CommitteeVote.objects.create(case=case, member=member, choice="more_info", comment="the cash flow, please")

    from loans.models import PersonalDataReveal

    PersonalDataReveal.objects.create(person=person, field="resident_id", reason="KYC re-check", revealed_by=maker)
    from monitoring.models import ModelMonitoring, PortfolioSegment, PortfolioSnapshot
    from scoring.models import ScoreModel

    snap = PortfolioSnapshot.objects.create(as_of=TODAY, run=run, loans_count=1, loans_outstanding_principal=Decimal("100000.00"))
    PortfolioSegment.objects.create(snapshot=snap, dimension="tier", key="B", loans_count=1, outstanding_principal=Decimal("100000.00"))
    ModelMonitoring.objects.create(as_of=TODAY, model=ScoreModel.objects.filter(subject_kind="person").first(), role="champion", psi_status="no_reference")
    from monitoring.models import ModelPromotion

    ModelPromotion.objects.create(model=ScoreModel.objects.filter(subject_kind="company").first(), proposed_by=maker)
    from scoring.models import MonthlyScoreSummary

    company_model = ScoreModel.objects.filter(subject_kind="company").first()
    MonthlyScoreSummary.objects.create(
        # a company of its own: the company pages' tests count the line's company's months
        subject_kind="company", subject_id=line.company.pk + 10_000, month=TODAY.replace(day=1), model=company_model,
        model_version=company_model.version, scores=1, first_as_of=TODAY, last_as_of=TODAY, last_score=700,
        last_tier="B", min_score=700, max_score=700, mean_score=700.0, created_at=timezone.now(),
    )

    Group.objects.create(name="Auditors")
    IntervalSchedule.objects.create(every=10, period="minutes")
    SolarSchedule.objects.create(event="sunrise", latitude=31.23, longitude=121.47)
    ClockedSchedule.objects.create(clocked_time=timezone.now() + datetime.timedelta(days=1))
    assert PeriodicTask.objects.exists()  # the nightly run's schedule, from a migration
    attempt = dict(user_agent="pytest", ip_address="10.9.9.9", username="someone", http_accept="*/*", path_info="/admin/login/")
    AccessAttempt.objects.create(**attempt, get_data="", post_data="", failures_since_start=1)
    AccessLog.objects.create(**attempt)
    AccessFailureLog.objects.create(**attempt)
    JobStatus.objects.create(name="nightly rescoring", task="monitoring.tasks.nightly_run", last_status="succeeded", last_started_at=timezone.now())
    TOTPDevice.objects.create(user=maker, name="phone")

    for obj in (referred, approved, accepted, line, frozen_line):
        obj.refresh_from_db()
    return {
        "maker": maker, "referred": referred, "approved": approved, "accepted": accepted,
        "line": line, "frozen_line": frozen_line, "loan": loan,
    }


def staff(django_user_model, username, *, perms=()):
    user = django_user_model.objects.create_user(username, password="x", is_staff=True)
    user.user_permissions.set(perms)
    return django_user_model.objects.get(pk=user.pk)  # no stale permission cache


@pytest.fixture
def nobody(db, django_user_model):
    """Staff with no permission at all."""
    return staff(django_user_model, "nobody")


@pytest.fixture
def viewer(db, django_user_model):
    """Staff who may view everything and do nothing."""
    return staff(django_user_model, "viewer", perms=Permission.objects.filter(codename__startswith="view_"))


def database_state() -> dict:
    """Every row of every table (sessions aside): to prove that nothing changed."""
    state = {}
    for model in apps.get_models(include_auto_created=True):
        if model is Session:
            continue
        state[model._meta.label] = list(model.objects.order_by("pk").values_list())
    return state
