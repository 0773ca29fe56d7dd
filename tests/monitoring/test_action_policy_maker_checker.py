"""Maker-checker on the action policy (issue 13 item 6): a person's change to a row (or a new
row) is held as a proposed ActionPolicyChange; another person with the right to change the
policy applies it or rejects it with a reason; the proposer cannot apply their own, an officer
can do neither, a change overtaken by another one applied since is refused."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.backoffice.roles import LOAN_OFFICER, RISK_MANAGER
from loans.errors import DomainError
from monitoring.models import ActionPolicy, ActionPolicyChange
from monitoring.policy_changes import (
    action_policy_change_approve,
    action_policy_change_propose,
    action_policy_change_reject,
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


@pytest.fixture
def row():
    # (a migration seeds the policy's rows)
    return ActionPolicy.objects.update_or_create(rule="score_drop", severity="high", defaults={
        "action_kind": "reduce_limit", "params": {"percent": 30}, "is_active": True, "updated_by": None})[0]


def test_a_change_is_held_until_another_person_applies_it(maker, checker, row):
    change = action_policy_change_propose(actor=maker, policy_id=row.pk, params={"percent": 50}, note="deeper cut")
    row.refresh_from_db()
    assert row.params == {"percent": 30} and row.updated_by is None  # nothing applies yet
    assert (change.status, change.maker, change.proposed_by, change.params) == ("proposed", f"user:{maker.pk}", maker, {"percent": 50})
    with pytest.raises(DomainError) as exc:
        action_policy_change_approve(change_id=change.pk, actor=maker)
    assert exc.value.code == "maker_checker"
    row.refresh_from_db()
    assert row.params == {"percent": 30}
    applied = action_policy_change_approve(change_id=change.pk, actor=checker, note="ok")
    row.refresh_from_db()
    assert (applied.status, applied.decided_by, row.params, row.updated_by) == ("applied", checker, {"percent": 50}, maker)


def test_a_new_row_is_added_only_on_approval(maker, checker):
    ActionPolicy.objects.filter(rule="dpd_over", severity="high").delete()
    change = action_policy_change_propose(actor=maker, rule="dpd_over", severity="high", action_kind="freeze_line", params={})
    assert not ActionPolicy.objects.filter(rule="dpd_over", severity="high").exists()
    action_policy_change_approve(change_id=change.pk, actor=checker)
    assert ActionPolicy.objects.get(rule="dpd_over", severity="high").action_kind == "freeze_line"


def test_an_officer_can_neither_propose_nor_approve(maker, officer, row):
    with pytest.raises(DomainError) as exc:
        action_policy_change_propose(actor=officer, policy_id=row.pk, params={"percent": 50})
    assert exc.value.code == "permission_denied"
    change = action_policy_change_propose(actor=maker, policy_id=row.pk, params={"percent": 50})
    with pytest.raises(DomainError) as exc:
        action_policy_change_approve(change_id=change.pk, actor=officer)
    assert exc.value.code == "permission_denied"
    change.refresh_from_db()
    assert change.status == "proposed"


def test_rejection_needs_a_reason(maker, checker, row):
    change = action_policy_change_propose(actor=maker, policy_id=row.pk, params={"percent": 50})
    with pytest.raises(ValidationError) as exc:
        action_policy_change_reject(change_id=change.pk, actor=checker, note="")
    assert "note" in exc.value.message_dict
    rejected = action_policy_change_reject(change_id=change.pk, actor=checker, note="too deep")
    row.refresh_from_db()
    assert (rejected.status, rejected.decision_note, row.params) == ("rejected", "too deep", {"percent": 30})


def test_a_change_overtaken_by_another_applied_since_is_refused(maker, checker, row):
    first = action_policy_change_propose(actor=maker, policy_id=row.pk, params={"percent": 50})
    second = action_policy_change_propose(actor=maker, policy_id=row.pk, params={"percent": 40})
    action_policy_change_approve(change_id=second.pk, actor=checker)
    with pytest.raises(DomainError) as exc:
        action_policy_change_approve(change_id=first.pk, actor=checker)
    assert exc.value.code == "stale_proposal"
    row.refresh_from_db()
    assert row.params == {"percent": 40}


def test_bad_terms_are_refused_and_nothing_is_saved(maker, row):
    with pytest.raises(ValidationError) as exc:
        action_policy_change_propose(actor=maker, policy_id=row.pk, params={"percent": 130})
    assert "params" in exc.value.message_dict
    assert not ActionPolicyChange.objects.exists()


def test_the_database_refuses_an_approver_who_proposed(maker):
    with pytest.raises(IntegrityError), transaction.atomic():
        ActionPolicyChange.objects.create(rule="score_drop", severity="high", action_kind="reduce_limit", maker=f"user:{maker.pk}",
                                          proposed_by=maker, decided_by=maker, status="applied", decided_at=timezone.now())


def test_in_the_admin_a_change_is_proposed_and_another_applies_it(maker, checker, row, client):
    client.force_login(maker)
    form = {"rule": "score_drop", "severity": "high", "action_kind": "reduce_limit", "params": '{"percent": 45}', "is_active": "on"}
    response = client.post(f"/admin/monitoring/actionpolicy/{row.pk}/change/", form)
    assert response.status_code == 302
    bad = client.post(f"/admin/monitoring/actionpolicy/{row.pk}/change/", {**form, "params": '{"percent": 130}'})
    assert bad.status_code == 200
    change = ActionPolicyChange.objects.get()
    row.refresh_from_db()
    assert row.params == {"percent": 30}
    changelist = "/admin/monitoring/actionpolicychange/"
    client.post(changelist, {"action": "approve", "_selected_action": [change.pk], "note": ""})
    change.refresh_from_db()
    assert change.status == "proposed"
    client.force_login(checker)
    client.post(changelist, {"action": "approve", "_selected_action": [change.pk], "note": "fine"})
    change.refresh_from_db()
    row.refresh_from_db()
    assert (change.status, change.decided_by, change.decision_note, row.params) == ("applied", checker, "fine", {"percent": 45})
