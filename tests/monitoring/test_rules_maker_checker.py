"""Maker-checker on the warning rules (issue 13 item 6): a person proposes a version, another
person holding monitoring.publish_warning_rule approves it (then, and only then, the nightly
rules use it) or rejects it with a reason; the proposer cannot approve, an officer can do
neither, a proposal overtaken by a newer published version is refused, nothing half-changes."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from config.backoffice.roles import LOAN_OFFICER, RISK_MANAGER
from loans.errors import DomainError
from monitoring.models import WarningRule
from monitoring.rules import (
    rule_versions,
    warning_rule_approve,
    warning_rule_propose,
    warning_rule_publish,
    warning_rule_reject,
)
from tests.factories import user_in

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 2)


@pytest.fixture
def maker(django_user_model):
    return user_in(django_user_model, "risk1", RISK_MANAGER)


@pytest.fixture
def checker(django_user_model):
    return user_in(django_user_model, "risk2", RISK_MANAGER)


@pytest.fixture
def officer(django_user_model):
    return user_in(django_user_model, "officer", LOAN_OFFICER)


def propose(actor, days=60, **kwargs):
    return warning_rule_propose(code="dpd_over", severity="high", params={"days": days}, effective_from=DAY, actor=actor, **kwargs)


def active(code="dpd_over"):
    return WarningRule.objects.get(code=code, is_active=True)


def test_a_proposal_records_its_maker_and_the_nightly_rules_keep_the_active_version(maker):
    v1 = active()
    proposed = propose(maker, note="tighter")
    assert (proposed.status, proposed.is_active, proposed.maker, proposed.created_by) == ("proposed", False, f"user:{maker.pk}", maker)
    assert (proposed.version, proposed.based_on_version) == (v1.version + 1, v1.version)
    # what the night evaluates on and after the proposal's effective date: still v1
    assert rule_versions(DAY)["dpd_over"].pk == v1.pk
    assert rule_versions(DAY + datetime.timedelta(days=30))["dpd_over"].params["days"] == 30
    assert active().pk == v1.pk


def test_the_proposer_cannot_approve_their_own_version(maker):
    proposed = propose(maker)
    with pytest.raises(DomainError) as exc:
        warning_rule_approve(rule_id=proposed.pk, actor=maker)
    assert exc.value.code == "maker_checker"
    proposed.refresh_from_db()
    assert (proposed.status, proposed.is_active, proposed.approved_by) == ("proposed", False, None)


def test_a_person_cannot_publish_in_one_step(maker):
    with pytest.raises(DomainError) as exc:
        warning_rule_publish(code="dpd_over", severity="high", params={"days": 60}, effective_from=DAY, actor=maker)
    assert exc.value.code == "maker_checker"
    assert WarningRule.objects.filter(code="dpd_over").count() == 1


def test_another_risk_manager_approves_and_the_version_becomes_active(maker, checker):
    v1 = active()
    proposed = propose(maker)
    approved = warning_rule_approve(rule_id=proposed.pk, actor=checker, note="agreed")
    v1.refresh_from_db()
    assert (approved.status, approved.is_active, approved.approved_by, approved.decision_note) == ("published", True, checker, "agreed")
    assert approved.approved_at is not None and v1.is_active is False
    assert v1.params == {"days": 30, "high_days": 90}  # the old version is never edited
    assert rule_versions(DAY)["dpd_over"].pk == approved.pk
    assert rule_versions(DAY - datetime.timedelta(days=1))["dpd_over"].pk == v1.pk


def test_an_officer_can_neither_propose_nor_approve(maker, officer):
    with pytest.raises(DomainError) as exc:
        propose(officer)
    assert exc.value.code == "permission_denied"
    proposed = propose(maker)
    for decide in (warning_rule_approve, warning_rule_reject):
        with pytest.raises(DomainError) as exc:
            decide(rule_id=proposed.pk, actor=officer, note="no")
        assert exc.value.code == "permission_denied"
    proposed.refresh_from_db()
    assert proposed.status == "proposed"


def test_rejection_needs_a_reason_and_a_rejected_version_never_applies(maker, checker):
    proposed = propose(maker)
    with pytest.raises(ValidationError) as exc:
        warning_rule_reject(rule_id=proposed.pk, actor=checker, note="  ")
    assert "note" in exc.value.message_dict
    proposed.refresh_from_db()
    assert proposed.status == "proposed"
    rejected = warning_rule_reject(rule_id=proposed.pk, actor=checker, note="too strict")
    assert (rejected.status, rejected.rejected_by, rejected.decision_note, rejected.is_active) == ("rejected", checker, "too strict", False)
    with pytest.raises(DomainError):
        warning_rule_approve(rule_id=proposed.pk, actor=checker)
    assert rule_versions(DAY)["dpd_over"].params["days"] == 30


def test_a_proposal_overtaken_by_a_newer_published_version_is_refused(maker, checker):
    first, second = propose(maker, days=60), propose(maker, days=45)
    warning_rule_approve(rule_id=second.pk, actor=checker)
    with pytest.raises(DomainError) as exc:
        warning_rule_approve(rule_id=first.pk, actor=checker)
    assert exc.value.code == "stale_proposal"
    first.refresh_from_db()
    assert (first.status, first.is_active) == ("proposed", False)
    assert active().pk == second.pk


def test_a_proposal_is_validated_and_nothing_is_saved_on_an_error(maker):
    before = WarningRule.objects.count()
    with pytest.raises(ValidationError) as exc:
        propose(maker, days=-5)
    assert "params" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        warning_rule_propose(code="dpd_over", severity="high", params={"days": 60}, effective_from=datetime.date(1999, 12, 31), actor=maker)
    assert "effective_from" in exc.value.message_dict
    v1 = active()
    with pytest.raises(ValidationError):  # the same settings as the active version
        warning_rule_propose(code="dpd_over", severity=v1.severity, params=v1.params, effective_from=v1.effective_from, actor=maker)
    assert WarningRule.objects.count() == before


def test_the_database_refuses_an_approver_who_proposed(maker):
    proposed = propose(maker)
    with pytest.raises(IntegrityError), transaction.atomic():
        WarningRule.objects.filter(pk=proposed.pk).update(approved_by=maker)


def test_the_database_refuses_a_version_without_a_maker():
    with pytest.raises(IntegrityError), transaction.atomic():
        WarningRule.objects.create(code="dpd_over", version=9, severity="low", params={}, effective_from=DAY, maker="")


def test_in_the_admin_one_proposes_and_another_approves(maker, checker, client):
    v1 = active()
    client.force_login(maker)
    form = {"enabled": "on", "severity": "high", "effective_from": "2026-11-02", "note": "tighter", "params": '{"days": 15}'}
    response = client.post(f"/admin/monitoring/warningrule/{v1.pk}/change/", form)
    proposed = WarningRule.objects.get(code="dpd_over", status="proposed")
    review = reverse("admin:monitoring_warningrule_review", args=[proposed.pk])
    assert response.status_code == 302 and response["Location"] == review
    assert active().pk == v1.pk
    page = client.get(review).content.decode()
    assert "Approve and publish" not in page and "You proposed this version" in page
    client.post(review, {"do-approve": "1", "note": ""})
    proposed.refresh_from_db()
    assert proposed.status == "proposed"

    client.force_login(checker)
    assert "Approve and publish" in client.get(review).content.decode()
    client.post(review, {"do-reject": "1", "note": ""})
    proposed.refresh_from_db()
    assert proposed.status == "proposed"  # a rejection without a reason changes nothing
    assert client.post(review, {"do-approve": "1", "note": "ok"}).status_code == 302
    proposed.refresh_from_db()
    assert (proposed.status, proposed.is_active, proposed.approved_by) == ("published", True, checker)


def test_an_officer_gets_no_review_screen(maker, officer, client):
    proposed = propose(maker)
    client.force_login(officer)
    review = reverse("admin:monitoring_warningrule_review", args=[proposed.pk])
    assert client.post(review, {"do-approve": "1", "note": "x"}).status_code == 403
    proposed.refresh_from_db()
    assert proposed.status == "proposed"
