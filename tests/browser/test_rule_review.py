"""Maker-checker on the warning rules in Chromium, in English and in Chinese: one risk manager
proposes a tighter rule from the change form and lands on its review page (no approve button
for the maker); a second risk manager approves it there and it becomes the active version."""

import datetime

import pytest
from django.contrib.auth.models import Group

from config.backoffice.roles import RISK_MANAGER, roles_sync
from monitoring.models import WarningRule

from .conftest import PASSWORD, log_in


def _risk(django_user_model, username):
    user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=RISK_MANAGER))
    return user


@pytest.fixture
def risk_managers(db, django_user_model):
    roles_sync()  # the live server's database is flushed after each test, the roles' groups with it
    return _risk(django_user_model, "risk1"), _risk(django_user_model, "risk2")


def test_one_risk_manager_proposes_a_rule_and_another_approves_it(browser, live_server, risk_managers, shoot):
    from monitoring.rules import warning_rule_publish

    v1 = WarningRule.objects.filter(code="dpd_over", is_active=True).first() or warning_rule_publish(  # (flushed by an earlier test)
        code="dpd_over", severity="medium", params={"days": 30, "high_days": 90}, effective_from=datetime.date(2000, 1, 1))
    page = browser.new_context(locale="en-US", viewport={"width": 1366, "height": 900}).new_page()
    log_in(page, live_server, "risk1")
    page.goto(f"{live_server.url}/admin/monitoring/warningrule/{v1.pk}/change/")
    page.fill("#id_params", '{"days": 15, "high_days": 60}')
    page.fill("#id_note", "catch arrears earlier")
    page.click("input[name=_save], button[name=_save]")
    page.wait_for_selector("#bo-rule-review")
    shoot(page, "rule-review-maker-en")
    assert page.locator("button[name=do-approve]").count() == 0
    proposed = WarningRule.objects.get(code="dpd_over", status="proposed")
    assert WarningRule.objects.get(code="dpd_over", is_active=True).pk == v1.pk

    zh = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}).new_page()
    log_in(zh, live_server, "risk2")
    zh.goto(f"{live_server.url}/admin/monitoring/warningrule/{proposed.pk}/review/")
    assert "批准并发布" in zh.content()
    shoot(zh, "rule-review-checker-zh")
    zh.fill("textarea[name=note]", "同意")
    zh.click("button[name=do-approve]")
    zh.wait_for_selector("#bo-rule-review")
    shoot(zh, "rule-review-approved-zh")
    proposed.refresh_from_db()
    assert (proposed.status, proposed.is_active, proposed.approved_by.username) == ("published", True, "risk2")
    zh.goto(f"{live_server.url}/admin/monitoring/warningrule/")
    shoot(zh, "rule-list-zh")


def test_another_risk_manager_applies_an_action_policy_change_from_the_list(browser, live_server, risk_managers, shoot):
    from monitoring.models import ActionPolicy
    from monitoring.policy_changes import action_policy_change_propose

    maker, _checker = risk_managers
    row = ActionPolicy.objects.update_or_create(rule="score_drop", severity="high", defaults={
        "action_kind": "reduce_limit", "params": {"percent": 30}, "is_active": True})[0]
    change = action_policy_change_propose(actor=maker, policy_id=row.pk, is_active=False, note="pause this one")
    page = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900}).new_page()
    log_in(page, live_server, "risk2")
    page.goto(f"{live_server.url}/admin/monitoring/actionpolicychange/")
    page.check(f"input[name=_selected_action][value='{change.pk}']")
    page.select_option("select[name=action]", "approve")
    page.fill("input[name=note]", "同意暂停")
    with page.expect_navigation():  # (unfold shows the button once Alpine sees the choice)
        page.evaluate("document.querySelector('button[name=index]').click()")
    shoot(page, "action-policy-changes-zh")
    change.refresh_from_db()
    row.refresh_from_db()
    assert (change.status, change.decided_by.username, row.is_active) == ("applied", "risk2", False)
