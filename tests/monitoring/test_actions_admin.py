"""The back office's post-loan actions: proposing from a line, approving (never your own)."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from loans.choices import CreditLineStatus
from monitoring.models import ActionStatus, PostLoanAction
from tests.loans.conftest import TODAY, company, make_line, officer, product  # noqa: F401

pytestmark = pytest.mark.django_db


def user_with(django_user_model, name, *codenames):
    user = django_user_model.objects.create_user(name, password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=[*codenames, "view_postloanaction", "view_creditline"]))
    return django_user_model.objects.get(pk=user.pk)


def post_action(client, model, name, objs):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    return client.post(url, {"action": name, "_selected_action": [o.pk for o in objs], "index": 0}, follow=True)


def test_freezing_from_the_line_admin_proposes_and_a_second_person_approves_and_executes(make_line, client, django_user_model):  # noqa: F811
    from loans.models import CreditLine

    line = make_line()
    maker = user_with(django_user_model, "maker", "freeze_line", "approve_action", "execute_action")
    checker = user_with(django_user_model, "checker", "approve_action", "execute_action")
    # when the maker freezes from the line admin: only a proposal
    client.force_login(maker)
    post_action(client, CreditLine, "freeze_lines", [line])
    action = PostLoanAction.objects.get()
    line.refresh_from_db()
    assert (action.kind, action.status, action.proposed_by) == ("freeze_line", ActionStatus.PROPOSED, maker)
    assert line.status == CreditLineStatus.ACTIVE
    # and the maker cannot approve it (their queue does not even list it)
    decide = reverse("admin:monitoring_postloanaction_decide", args=[action.pk])
    assert f'id="bo-action-{action.pk}"' not in client.get(reverse("admin:monitoring_postloanaction_approvals")).content.decode()
    page = client.post(decide, {"comment": "mine", "do-approve": "1"}, follow=True).content.decode()
    assert "someone else must approve" in page
    assert PostLoanAction.objects.get().status == ActionStatus.PROPOSED
    # and the list offers no bulk approval (a decision needs a comment)
    assert "approve_actions" not in client.get(reverse("admin:monitoring_postloanaction_changelist")).content.decode()
    # when the checker approves from the queue (and, holding execute_action, executes at once)
    client.force_login(checker)
    client.post(decide, {"comment": "the borrower stopped paying", "do-approve": "1"})
    # then
    action.refresh_from_db()
    line.refresh_from_db()
    assert (action.status, action.approved_by, action.executed_by) == (ActionStatus.EXECUTED, checker, checker)
    assert line.status == CreditLineStatus.FROZEN
    # and the list names the company
    page = client.get(reverse("admin:monitoring_postloanaction_changelist")).content.decode()
    assert line.company.legal_name in page


def test_proposing_through_the_add_form_checks_the_terms(make_line, client, django_user_model):  # noqa: F811
    line = make_line()
    maker = user_with(django_user_model, "maker", "propose_action", "add_postloanaction")
    client.force_login(maker)
    url = reverse("admin:monitoring_postloanaction_add")
    r = client.post(url, {"kind": "reduce_limit", "credit_line": line.pk, "params": '{"new_limit": "-5"}', "reason": "x"})
    assert r.status_code == 200 and "cannot be negative" in r.content.decode()
    assert not PostLoanAction.objects.exists()
    r = client.post(url, {"kind": "reduce_limit", "credit_line": line.pk, "params": '{"percent": 20}', "reason": "score fell"})
    assert r.status_code == 302, r.content.decode()[:2000]
    action = PostLoanAction.objects.get()
    assert (action.params["new_limit"], action.proposed_by, action.status) == ("400000.00", maker, ActionStatus.PROPOSED)
