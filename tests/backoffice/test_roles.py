"""The roles: declared once (config/backoffice/roles.py), synced to groups, least privilege."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from config.backoffice import roles
from config.backoffice.roles import (
    ADMINISTRATOR,
    AUDITOR,
    COMMITTEE_MEMBER,
    LOAN_OFFICER,
    RISK_MANAGER,
    ROLES,
    roles_sync,
)

from .conftest import database_state

pytestmark = pytest.mark.django_db


def member(django_user_model, username, role):
    user = django_user_model.objects.create_user(username, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return django_user_model.objects.get(pk=user.pk)


def perms_of(role) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in Group.objects.get(name=role).permissions.select_related("content_type")}


def test_every_declared_permission_exists():
    # A typo or a permission of a model not merged yet must fail here, not pass silently.
    assert roles_sync() == []


def test_an_unknown_permission_is_reported_not_ignored():
    assert roles_sync(roles={"Scratch": ["parties.view_company", "monitoring.approve_nothing", "nope.x"]}) == [
        "monitoring.approve_nothing", "nope.x",
    ]
    assert perms_of("Scratch") == {"parties.view_company"}


def test_the_migration_made_every_role_a_group_matching_its_declaration():
    for role, names in ROLES.items():
        held = perms_of(role)
        if names == ["*.view_*"]:
            assert held == {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.filter(codename__startswith="view_")}
        else:
            assert held == set(names), role


def test_sync_puts_a_group_back_to_its_declaration():
    group = Group.objects.get(name=LOAN_OFFICER)
    group.permissions.add(Permission.objects.get(codename="publish_policy"))
    roles_sync()
    assert "loans.publish_policy" not in perms_of(LOAN_OFFICER)


def test_an_officer_cannot_publish_a_policy_or_decide_credit(django_user_model, client):
    officer = member(django_user_model, "officer1", LOAN_OFFICER)
    assert officer.has_perms(["loans.add_loanapplication", "loans.submit_application", "parties.add_company"])
    assert not officer.has_perm("loans.publish_policy")
    assert not officer.has_perm("loans.decide_referred_application")
    assert not officer.has_perm("monitoring.vote")
    assert not officer.has_perm("parties.reveal_personal_data")
    client.force_login(officer)
    assert client.get(reverse("admin:loans_creditpolicy_add")).status_code == 403


def test_a_risk_manager_publishes_policy_but_does_not_vote_or_manage_users(django_user_model):
    manager = member(django_user_model, "risk1", RISK_MANAGER)
    assert manager.has_perm("loans.publish_policy") and manager.has_perm("loans.reduce_line_limit")
    assert not manager.has_perm("monitoring.vote") and not manager.has_perm("auth.add_user")


def test_a_committee_member_acts_only_through_cases(django_user_model):
    voter = member(django_user_model, "voter1", COMMITTEE_MEMBER)
    assert voter.has_perm("monitoring.vote") and voter.has_perm("monitoring.view_committeecase")
    # no way around the case: no direct committee decision, no line or action moves
    for perm in ("loans.decide_referred_application", "loans.freeze_line", "loans.reduce_line_limit",
                 "monitoring.add_committeevote", "monitoring.change_committeecase", "loans.publish_policy"):
        assert not voter.has_perm(perm), perm


def test_an_auditor_reads_everything_and_changes_nothing(django_user_model, client):
    auditor = member(django_user_model, "audit1", AUDITOR)
    held = perms_of(AUDITOR)
    assert held and all(name.split(".")[1].startswith("view_") for name in held)
    assert "loans.view_ledgerentry" in held and "monitoring.view_committeevote" in held
    assert not auditor.has_perm("parties.reveal_personal_data")
    client.force_login(auditor)
    from tests.factories import CompanyFactory

    company = CompanyFactory()
    before = database_state()
    assert client.get(reverse("admin:parties_company_change", args=[company.pk])).status_code == 200
    response = client.post(reverse("admin:parties_company_change", args=[company.pk]), {"legal_name": "Renamed"})
    assert response.status_code == 403
    assert client.post(reverse("admin:parties_company_delete", args=[company.pk]), {"post": "yes"}).status_code == 403
    assert database_state() == before


def test_an_administrator_manages_users_products_partners_not_credit(django_user_model):
    admin_user = member(django_user_model, "admin1", ADMINISTRATOR)
    assert admin_user.has_perms(["auth.add_user", "auth.change_group", "loans.add_loanproduct", "parties.add_partner"])
    for perm in ("loans.submit_application", "loans.publish_policy", "monitoring.vote", "loans.view_loanapplication"):
        assert not admin_user.has_perm(perm), perm


def test_the_labels_of_the_roles_are_translatable():
    assert set(roles.ROLE_LABELS) == set(ROLES)


def test_migrate_puts_a_role_back_to_its_declaration():
    # Django sends post_migrate only for apps with models: the roles' receiver must still run
    from django.core.management import call_command

    group = Group.objects.get(name=LOAN_OFFICER)
    group.permissions.remove(Permission.objects.get(codename="view_monthlyscoresummary"))
    call_command("migrate", verbosity=0, interactive=False)
    assert "scoring.view_monthlyscoresummary" in perms_of(LOAN_OFFICER)
