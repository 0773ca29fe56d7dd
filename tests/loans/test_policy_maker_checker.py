"""Maker-checker on the credit policy: a person proposes a version, another person holding
loans.publish_policy approves it; the proposer cannot, an officer cannot, nothing half-changes."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from config.backoffice.roles import LOAN_OFFICER, RISK_MANAGER
from loans.errors import DomainError
from loans.models import CreditPolicy
from loans.services.policy import (
    credit_policy_active,
    credit_policy_approve,
    credit_policy_propose,
    credit_policy_publish,
    credit_policy_reject,
)
from tests.factories import user_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def maker(django_user_model):
    return user_in(django_user_model, "risk1", RISK_MANAGER)


@pytest.fixture
def checker(django_user_model):
    return user_in(django_user_model, "risk2", RISK_MANAGER)


@pytest.fixture
def officer(django_user_model):
    return user_in(django_user_model, "officer", LOAN_OFFICER)


def test_a_proposal_records_its_maker_and_changes_nothing_until_approved(maker):
    v1 = credit_policy_active()
    proposed = credit_policy_propose(changes={"min_score": 640, "grey_band_low": 640, "grey_band_high": 655}, actor=maker, note="tighter")
    assert (proposed.status, proposed.is_active, proposed.maker, proposed.created_by) == ("proposed", False, f"user:{maker.pk}", maker)
    assert proposed.based_on_version == v1.version
    assert credit_policy_active().version == v1.version and credit_policy_active().min_score == 600


def test_the_proposer_cannot_publish_their_own_policy(maker):
    proposed = credit_policy_propose(changes={"min_score": 640, "grey_band_low": 640, "grey_band_high": 655}, actor=maker)
    with pytest.raises(DomainError) as exc:
        credit_policy_approve(policy_id=proposed.pk, actor=maker)
    assert exc.value.code == "maker_checker"
    proposed.refresh_from_db()
    assert proposed.status == "proposed" and not proposed.is_active and proposed.approved_by is None


def test_another_risk_manager_publishes_it(maker, checker):
    v1 = credit_policy_active()
    proposed = credit_policy_propose(changes={"legal_rate_cap": Decimal("0.20")}, actor=maker)
    published = credit_policy_approve(policy_id=proposed.pk, actor=checker, note="agreed")
    v1.refresh_from_db()
    assert (published.status, published.is_active, published.approved_by, published.decision_note) == ("published", True, checker, "agreed")
    assert not v1.is_active
    assert credit_policy_active().version == proposed.version and credit_policy_active().legal_rate_cap == Decimal("0.200000")
    with pytest.raises(DomainError):  # decided once
        credit_policy_approve(policy_id=proposed.pk, actor=checker)


def test_an_officer_can_neither_propose_nor_approve(maker, officer, client):
    proposed = credit_policy_propose(changes={"min_score": 650, "grey_band_low": 650, "grey_band_high": 660}, actor=maker)
    for service, kwargs in ((credit_policy_approve, {"policy_id": proposed.pk}), (credit_policy_propose, {"changes": {"min_score": 610}})):
        with pytest.raises(DomainError) as exc:
            service(actor=officer, **kwargs)
        assert exc.value.code == "permission_denied"
    client.force_login(officer)
    assert client.get(reverse("admin:loans_creditpolicy_review", args=[proposed.pk])).status_code == 403
    assert client.post(reverse("admin:loans_creditpolicy_review", args=[proposed.pk]), {"note": "x", "do-approve": "1"}).status_code == 403
    proposed.refresh_from_db()
    assert proposed.status == "proposed" and CreditPolicy.objects.filter(is_active=True).get().version == 1


def test_a_person_cannot_publish_in_one_step(maker):
    with pytest.raises(DomainError) as exc:
        credit_policy_publish(changes={"min_score": 610}, actor=maker)
    assert exc.value.code == "maker_checker"
    assert CreditPolicy.objects.count() == 1


def test_a_proposal_overtaken_by_another_version_must_be_proposed_again(maker, checker):
    first = credit_policy_propose(changes={"min_score": 640, "grey_band_low": 640, "grey_band_high": 655}, actor=maker)
    second = credit_policy_propose(changes={"legal_rate_cap": Decimal("0.20")}, actor=maker)
    credit_policy_approve(policy_id=second.pk, actor=checker)
    with pytest.raises(DomainError) as exc:  # approving it would silently undo the rate cap
        credit_policy_approve(policy_id=first.pk, actor=checker)
    assert exc.value.code == "stale_proposal"
    assert credit_policy_active().version == second.version


def test_a_rejection_needs_a_reason_and_keeps_the_version_inactive(maker, checker):
    proposed = credit_policy_propose(changes={"min_score": 640, "grey_band_low": 640, "grey_band_high": 655}, actor=maker)
    with pytest.raises(ValidationError):
        credit_policy_reject(policy_id=proposed.pk, actor=checker, note=" ")
    rejected = credit_policy_reject(policy_id=proposed.pk, actor=checker, note="too strict for Q4")
    assert (rejected.status, rejected.is_active, rejected.rejected_by) == ("rejected", False, checker)
    with pytest.raises(DomainError):
        credit_policy_approve(policy_id=proposed.pk, actor=checker)


def test_the_database_refuses_an_approver_who_is_the_proposer_and_an_empty_maker(maker):
    proposed = credit_policy_propose(changes={"min_score": 640, "grey_band_low": 640, "grey_band_high": 655}, actor=maker)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditPolicy.objects.filter(pk=proposed.pk).update(approved_by=maker)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditPolicy.objects.filter(pk=proposed.pk).update(maker="")


def test_the_admin_proposes_then_another_manager_reviews_and_approves(maker, checker, client):
    from tests.backoffice.test_policy_form import _table_post

    v1 = credit_policy_active()
    bands = [(b["tier"], b["min_score"], str(Decimal(b["base_rate"]) * 100), b["multiplier"]) for b in v1.tier_bands]
    spreads = [(r["max_months"], str(Decimal(r["spread"]) * 100)) for r in v1.term_spreads]
    client.force_login(maker)
    r = client.post(reverse("admin:loans_creditpolicy_change", args=[v1.pk]), _table_post(v1, bands, spreads, committee_quorum=5, committee_majority=3))
    proposed = CreditPolicy.objects.get(status="proposed")
    assert r.status_code == 302 and r.url == reverse("admin:loans_creditpolicy_review", args=[proposed.pk])
    page = client.get(r.url).content.decode()
    assert "committee quorum" in page.lower() and 'name="do-approve"' not in page  # the maker sees no approve button
    client.post(r.url, {"note": "", "do-approve": "1"})  # and a forged post is refused by the service
    assert not CreditPolicy.objects.get(pk=proposed.pk).is_active
    client.force_login(checker)
    page = client.get(r.url).content.decode()
    assert 'name="do-approve"' in page
    client.post(r.url, {"note": "ok", "do-approve": "1"})
    active = credit_policy_active()
    assert (active.version, active.committee_quorum, active.committee_majority) == (proposed.version, 5, 3)
    assert CreditPolicy.objects.get(pk=proposed.pk).approved_by == checker


def test_a_proposal_that_changes_nothing_is_refused(maker):
    v1 = credit_policy_active()
    with pytest.raises(ValidationError) as exc:
        credit_policy_propose(changes={"min_score": v1.min_score}, actor=maker, note="same again")
    assert "changes no setting" in str(exc.value)
    assert CreditPolicy.objects.count() == 1


def test_the_form_says_so_when_nothing_changes(maker, client):
    from tests.backoffice.test_policy_form import _table_post

    v1 = credit_policy_active()
    bands = [(b["tier"], b["min_score"], str(Decimal(b["base_rate"]) * 100), b["multiplier"]) for b in v1.tier_bands]
    spreads = [(r["max_months"], str(Decimal(r["spread"]) * 100)) for r in v1.term_spreads]
    client.force_login(maker)
    r = client.post(reverse("admin:loans_creditpolicy_change", args=[v1.pk]), _table_post(v1, bands, spreads))
    assert r.status_code == 200 and "changes no setting" in r.content.decode()
    assert CreditPolicy.objects.count() == 1
