"""An officer's morning in a real browser: log in, the dashboard, a company's page, a referred
application with its scores and reasons; and the Chinese interface."""

import pytest

from .conftest import TODAY, log_in

pytestmark = pytest.mark.django_db(transaction=True)


def test_officer_sees_dashboard_company_and_referred_application(world, officer_user, live_server, browser, shoot):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    errors = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)

    # when: the officer logs in
    log_in(page, live_server, "officer")
    # then: the home page is the portfolio dashboard, its charts drawn (Chart.js, served here)
    page.wait_for_selector("#bo-dashboard")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-tiers'))")
    assert page.locator("#chart-alerts").count() == 1
    shoot(page, "1-dashboard")

    # when: the company with the booked line
    company = world["line"].company
    page.goto(f"{live_server.url}/admin/parties/company/{company.pk}/overview/")
    # then: its story, with the line, the loan and the alert
    assert company.legal_name in page.title()
    assert page.locator("#bo-lines tbody tr").count() == 1
    assert page.locator("#bo-loans tbody tr").count() == 1
    assert "Score drop" in page.locator("#bo-alerts").inner_text()  # the rule by its name, not its code
    shoot(page, "2-company")

    # when: the referred application
    app = world["referred"]
    page.goto(f"{live_server.url}/admin/loans/loanapplication/{app.pk}/underwriting/")
    # then: scores, the rule that referred it in words, the derivation, and only the moves allowed
    assert str(app.score) in page.locator("#bo-scores").inner_text()
    assert "REF_GREY_BAND" in page.locator("#bo-rule-hits").inner_text()
    assert "grey band" in page.locator("#bo-rule-hits").inner_text()
    assert page.locator("#bo-reasons tr").count() >= 0
    assert page.locator("#bo-derivation").inner_text().count("¥") >= 4
    assert page.locator("#bo-moves button").all_inner_texts() == ["Withdraw"]
    shoot(page, "3-referred-application")
    assert not [e for e in errors if "Content Security Policy" in e], errors


def test_an_approved_application_is_accepted_and_booked_with_the_buttons(world, officer_user, live_server, browser, shoot):
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    log_in(page, live_server, "officer")
    app = world["approved"]
    page.goto(f"{live_server.url}/admin/loans/loanapplication/{app.pk}/underwriting/")
    page.click("button[name=do-accept]")
    page.wait_for_selector("#bo-status")
    assert page.locator("#bo-status").inner_text().strip() == "Accepted by borrower"
    page.click("button[name=do-book]")
    assert page.locator("#bo-status").inner_text().strip() == "Booked"
    shoot(page, "booked")
    app.refresh_from_db()
    assert app.status == "booked"


def test_the_chinese_interface_renders(world, officer_user, live_server, browser, shoot):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "officer")
    page.wait_for_selector("#bo-dashboard")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-tiers'))")
    assert "资产组合" in page.content() and "贷款余额" in page.locator("#bo-dashboard").inner_text()
    shoot(page, "dashboard-zh")
    company = world["line"].company
    page.goto(f"{live_server.url}/admin/parties/company/{company.pk}/overview/")
    assert "关联方" in page.locator("#bo-parties h2").inner_text()
    shoot(page, "company-zh")


def test_the_chinese_dashboard_draws_the_trends_and_lists_read_chinese(world, officer_user, live_server, browser, shoot):
    import datetime
    from decimal import Decimal

    from monitoring.models import PortfolioSnapshot

    five = {"normal": {"share": "0.95"}, "special_mention": {"share": "0.05"}}
    for k, outstanding in enumerate(("100000.00", "120000.00", "90000.00")):
        PortfolioSnapshot.objects.create(
            as_of=TODAY - datetime.timedelta(days=2 - k), loans_count=1, loans_outstanding_principal=Decimal(outstanding),
            lines_limit=Decimal("500000.00"), tables={"five_category": five, "dpd_buckets": {"current": {"share": "1"}}},
        )
    context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "officer")
    page.wait_for_selector("#bo-trends")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-five-category-trend'))")
    trends = page.locator("#bo-trends").inner_text()
    assert "授信敞口与贷款余额" in trends and "五级分类走势" in trends and "3 个夜间快照" in trends
    assert "待审议的贷审会议案" in page.locator("#bo-dashboard").inner_text()
    shoot(page, "dashboard-trends-zh")
    page.goto(f"{live_server.url}/admin/loans/loanapplication/")
    assert "已提交贷审会" in page.locator("#result_list").inner_text()  # the referred application's status
    shoot(page, "applications-zh")
