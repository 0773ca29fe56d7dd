"""A refusal in the risk manager's queue, in Chromium, in English and in Chinese, names the action
by what it does and to whom (not "Action #N"), once: a second checker approves an action a
colleague approved while the queue was open."""

import pytest
from django.contrib.auth.models import Group

from config.backoffice.roles import RISK_MANAGER, roles_sync
from monitoring.actions import post_loan_action_approve, post_loan_action_propose
from tests.monitoring.test_rules import DAY, Book

from .conftest import PASSWORD, log_in


@pytest.fixture
def proposal(db, django_user_model):
    roles_sync()  # the live server's database is flushed after each test, the roles' groups with it
    users = {}
    for name in ("officer1", "risk1", "risk2"):
        users[name] = django_user_model.objects.create_user(name, password=PASSWORD, is_staff=True)
        users[name].groups.add(Group.objects.get(name=RISK_MANAGER))
    company = Book().company()
    action = post_loan_action_propose(
        kind="reduce_limit", credit_line_id=company.line.pk, params={"percent": "20"}, actor=users["officer1"],
        reason="revenue halved", on=DAY,
    )
    return action, company, users


@pytest.mark.parametrize(
    "locale,lang,said", [("en-US", "en", "is already Approved; it is decided once."), ("zh-CN", "zh", "只能决定一次")],
    ids=["en", "zh"],
)
def test_a_refusal_in_the_queue_names_the_action(browser, live_server, proposal, shoot, locale, lang, said):
    action, company, users = proposal
    page = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900}).new_page()
    log_in(page, live_server, "risk2")
    page.goto(f"{live_server.url}/admin/monitoring/postloanaction/approvals/")
    row = page.locator(f"#bo-action-{action.pk}")
    # meanwhile a colleague approves it
    post_loan_action_approve(action_id=action.pk, actor=users["risk1"], note="agreed")
    row.locator("textarea[name=comment]").fill("cut it")
    row.locator("button[name=do-approve]").click()
    message = page.locator(".messagelist, [role=alert], .errornote").first.inner_text()
    body = page.locator("body").inner_text()
    assert said in body and company.legal_name in body, message
    assert "Action #" not in body and "措施 #" not in body
    shoot(page, f"queue-refusal-{lang}")
