"""The approver's queue in Chromium, in English and in Chinese, after the night cleared a warning:
an officer's proposal for it still waits, flagged "warning cleared on <date>"; the system's own
proposal for it was withdrawn and is not in the queue."""

import datetime

import pytest
from django.contrib.auth.models import Group

from config.backoffice.roles import RISK_MANAGER, roles_sync
from monitoring.actions import post_loan_action_propose
from monitoring.models import ActionStatus, PostLoanAction
from monitoring.rules import rules_evaluate
from tests.monitoring.test_rules import DAY

from .conftest import PASSWORD, log_in, two_companies_below_minimum

D2 = DAY + datetime.timedelta(days=1)


@pytest.fixture
def cleared(db, django_user_model):
    roles_sync()  # the live server's database is flushed after each test, the roles' groups with it
    users = []
    for name in ("officer1", "risk1"):
        user = django_user_model.objects.create_user(name, password=PASSWORD, is_staff=True)
        user.groups.add(Group.objects.get(name=RISK_MANAGER))
        users.append(user)
    book, mine, systems, alert = two_companies_below_minimum()
    by_person = post_loan_action_propose(
        kind="reduce_limit",
        credit_line_id=mine.line.pk,
        params={"percent": "20"},
        alert_id=alert[mine.pk],
        actor=users[0],
        reason="score fell below 600",
        on=DAY,
    )
    by_system = post_loan_action_propose(
        kind="reduce_limit",
        credit_line_id=systems.line.pk,
        params={"percent": "20"},
        alert_id=alert[systems.pk],
        on=DAY,
    )
    for c in (mine, systems):
        book.score("company", c.pk, 660, 540, day=D2)
    rules_evaluate(as_of=D2, only=["below_minimum"])
    return by_person, by_system


@pytest.mark.parametrize(
    "locale,step,flag", [("en-US", "queue-cleared-en", "Warning cleared on"), ("zh-CN", "queue-cleared-zh", "预警已于")]
)
def test_the_queue_flags_a_persons_proposal_whose_warning_cleared(
    browser, live_server, cleared, shoot, locale, step, flag
):
    by_person, by_system = cleared
    assert PostLoanAction.objects.get(pk=by_system.pk).status == ActionStatus.WITHDRAWN
    page = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900}).new_page()
    log_in(page, live_server, "risk1")
    page.goto(f"{live_server.url}/admin/monitoring/postloanaction/approvals/")
    row = page.locator(f"#bo-action-{by_person.pk}")
    assert flag in row.inner_text()
    assert page.locator(f"#bo-action-{by_system.pk}").count() == 0
    shoot(page, step)
    page.goto(f"{live_server.url}/admin/monitoring/postloanaction/{by_system.pk}/change/")
    shoot(page, step.replace("queue", "withdrawn-action"))
