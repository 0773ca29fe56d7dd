"""Change history of the writes that send no signal (set-based updates) and of the changes the
system makes: each names who acted, or the system and why."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.backoffice.roles import ROLES_SYNC_REASON, roles_sync
from config.history.records import acting_as, update_with_history
from loans.choices import CreditLineStatus
from loans.models import Company, CreditLine, Partner, Person
from loans.services.privacy import pii_rotate
from monitoring.actions import post_loan_action_approve, post_loan_action_execute, post_loan_action_propose
from monitoring.models import PostLoanAction
from monitoring.protection import protect_companies
from tests.factories import CompanyFactory, PersonFactory
from tests.loans.conftest import TODAY, checker  # noqa: F401 - shared fixture
from tests.loans.test_pii_rotation import rotate_to_v2, v1  # noqa: F401
from tests.monitoring.test_protection_and_proposals import scored

pytestmark = pytest.mark.django_db


def test_a_set_based_update_keeps_a_version_of_each_changed_row_with_constant_queries(django_user_model):
    # given five companies, two of them already suspended
    user = django_user_model.objects.create_user("risk", password="x", is_staff=True)
    companies = [CompanyFactory() for _ in range(5)]
    Company.objects.filter(pk__in=[c.pk for c in companies[:2]]).update(status="suspended")
    before = {c.pk: c.history.count() for c in companies}

    def suspend(ids):
        with acting_as(user, reason="bulk suspension"), CaptureQueriesContext(connection) as ctx:
            changed = update_with_history(
                Company.objects.filter(pk__in=ids).exclude(status="suspended"), status="suspended"
            )
        return changed, len(ctx.captured_queries)

    # when the other three are suspended in one set-based write (and then nothing more)
    changed, queries = suspend([c.pk for c in companies])
    # then each changed row has one new version naming the user and the reason, with the new value
    assert changed == 3
    for suspended in companies[2:]:
        assert suspended.history.count() == before[suspended.pk] + 1
        latest = suspended.history.first()
        assert (latest.status, latest.history_user, latest.history_change_reason, latest.history_type) == (
            "suspended",
            user,
            "bulk suspension",
            "~",
        )
    # and the rows it did not change have none
    assert [c.history.count() for c in companies[:2]] == [before[c.pk] for c in companies[:2]]
    # and the statements do not grow with the rows: the same count for one row as for three
    other = CompanyFactory()
    assert suspend([other.pk]) == (1, queries)


def test_the_blocklist_set_in_the_admin_is_kept_in_the_history_of_every_file_of_the_person(client, django_user_model):
    # given one person in two partners' files
    boss = django_user_model.objects.create_superuser("boss", "", "pw")
    client.force_login(boss)
    a, b = Partner.objects.create(name="Channel A"), Partner.objects.create(name="Channel B")
    mine = PersonFactory(partner=a, name="甲")
    theirs = PersonFactory(partner=b, name="乙", resident_id=mine.reveal_resident_id())
    # when an administrator blocklists A's record in the admin
    response = client.post(
        reverse("admin:parties_person_change", args=[mine.pk]),
        {"name": "甲", "is_blocklisted": "on", "partner": a.pk, "resident_id": "", "phone": ""},
    )
    assert response.status_code == 302
    # then B's record is blocklisted too, and its history says by whom and why
    latest = Person.objects.get(pk=theirs.pk).history.first()
    assert latest.is_blocklisted is True
    assert latest.history_user == boss
    assert latest.history_change_reason == f"blocklist set on person #{mine.pk} (same subject)"


def test_a_protective_freeze_is_kept_in_the_line_s_history_as_the_system_s_with_its_reason(make_line):
    # given a line whose company's latest score fell below the policy's minimum
    line = make_line(amount="500000")
    scored("company", line.company_id, 533)
    # when the night protects the book
    assert protect_companies(None, TODAY) == 1
    # then the line's history has the freeze, by no user, naming the action and why
    action = PostLoanAction.objects.get()
    latest = CreditLine.objects.get(pk=line.pk).history.first()
    assert latest.status == CreditLineStatus.FROZEN and latest.history_user is None
    reason = latest.history_change_reason
    assert reason.startswith(
        f"post-loan action #{action.pk} (freeze_line) by the system: the company's latest score is below"
    )
    assert len(reason) <= 100


def test_an_executed_action_is_kept_in_the_line_s_history_with_its_executor_and_the_action(make_line, officer, checker):  # noqa: F811
    # given a limit cut proposed by an officer and approved by a risk manager
    line = make_line(amount="500000")
    action = post_loan_action_propose(
        kind="reduce_limit", credit_line_id=line.pk, params={"new_limit": "400000"}, actor=officer, on=TODAY
    )
    post_loan_action_approve(action_id=action.pk, actor=checker)
    # when the risk manager executes it
    post_loan_action_execute(action_id=action.pk, actor=checker, on=TODAY)
    # then the line's history names the executor and the action
    latest = CreditLine.objects.get(pk=line.pk).history.first()
    assert latest.limit_amount == Decimal("400000.00")
    assert (latest.history_user, latest.history_change_reason) == (
        checker,
        f"post-loan action #{action.pk} (reduce_limit)",
    )


def test_roles_synced_by_migrate_are_kept_in_the_role_s_history_with_the_declaration_as_reason():
    # given the loan officers' role lost a permission
    group = Group.objects.get(name="Loan officer")
    group.permissions.remove(group.permissions.get(codename="view_company"))
    # when the declared roles are synced (as after every migrate)
    roles_sync()
    # then the role's history has the restored permission, by no user, for the declaration
    latest = Group.objects.get(pk=group.pk).history.first()
    assert "view_company" in {p.permission.codename for p in latest.permissions.all()}
    assert latest.history_user is None and latest.history_change_reason == ROLES_SYNC_REASON


def test_rotating_the_pii_key_writes_no_history_version(v1):  # noqa: F811
    # The rotation changes only the ciphertexts the history leaves out: a version would copy
    # personal data again for nothing (see loans.services.privacy.pii_rotate).
    people = [PersonFactory(phone="13812345678") for _ in range(3)]
    counts = [p.history.count() for p in people]
    rotate_to_v2(v1)
    assert pii_rotate(batch_size=2).done == 3
    assert [p.history.count() for p in people] == counts
