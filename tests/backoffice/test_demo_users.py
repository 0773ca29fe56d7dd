import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from config.backoffice.roles import COMMITTEE_MEMBER, RISK_MANAGER, ROLES

pytestmark = pytest.mark.django_db


def run(tmp_path) -> list[list[str]]:
    out = io.StringIO()
    call_command("demo_users", login_file=str(tmp_path / "logins"), stdout=out)
    return [line.split(" ", 2) for line in out.getvalue().splitlines()]


def test_one_user_per_role_and_three_committee_members_who_can_log_in(tmp_path):
    rows = run(tmp_path)
    assert {role for _u, _p, role in rows} == set(ROLES)
    assert sum(role == COMMITTEE_MEMBER for _u, _p, role in rows) == 3
    assert sum(role == RISK_MANAGER for _u, _p, role in rows) == 2  # a policy proposal needs a second person
    for username, password, role in rows:
        user = get_user_model().objects.get(username=username)
        assert user.check_password(password) and user.is_staff and user.is_active and not user.is_superuser
        assert list(user.groups.values_list("name", flat=True)) == [role]


def test_running_it_again_changes_nothing_and_prints_the_same_logins(tmp_path):
    first = run(tmp_path)
    users = get_user_model().objects.count()
    assert run(tmp_path) == first
    assert get_user_model().objects.count() == users


def test_a_demo_user_put_in_another_group_is_put_back(tmp_path):
    from django.contrib.auth.models import Group

    run(tmp_path)
    officer = get_user_model().objects.get(username="officer")
    officer.groups.add(Group.objects.get(name="Administrator"))
    run(tmp_path)
    assert list(officer.groups.values_list("name", flat=True)) == ["Loan officer"]
