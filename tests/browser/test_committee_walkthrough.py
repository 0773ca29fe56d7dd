"""The committee and the risk manager in a real browser: three members, each as their own user,
take a referred application and an escalated recall from their queue to a decision that lands on
the application and the loan; a risk manager approves a proposed limit cut from the queue of
actions waiting for them, and the line shows the new limit."""

from decimal import Decimal

import pytest

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def _person(django_user_model, username, role):
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username, password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def book(db, django_user_model):
    """A referred application, a booked line with a loan; a recall of the loan (escalated to
    the committee) and a 30 % limit cut, both proposed by the officer; the people of each role."""
    from config.backoffice.roles import COMMITTEE_MEMBER, LOAN_OFFICER, RISK_MANAGER, roles_sync
    from loans.choices import ApplicationStatus
    from loans.services.lines import credit_line_draw_down
    from monitoring.actions import post_loan_action_propose
    from tests.backoffice.conftest import TODAY, _application
    from tests.factories import LoanProductFactory

    roles_sync()  # a live-server test's database is flushed: the roles come back here
    officer = _person(django_user_model, "officer", LOAN_OFFICER)
    product = LoanProductFactory(code="sme-revolving", rate_spread=Decimal("0.010000"))
    referred = _application(officer, product, score=610)
    booked = _application(officer, product, score=700, amount="500000", to=ApplicationStatus.BOOKED)
    other = _application(officer, product, score=700, amount="400000", to=ApplicationStatus.BOOKED)
    # 36 months: the committee executes the recall on the real date, so the loan must still have
    # installments to fall due then (a recall of a loan already due in full is refused)
    loan = credit_line_draw_down(credit_line_id=booked.credit_line.pk, amount="100000", term_months=36, disbursed_on=TODAY, actor=officer)
    recall = post_loan_action_propose(kind="recall", loan_id=loan.pk, actor=officer, on=TODAY, reason="fraud suspected")
    cut = post_loan_action_propose(kind="reduce_limit", credit_line_id=other.credit_line.pk, params={"percent": "30"}, actor=officer,
                                   on=TODAY, reason="revenue halved")
    members = [_person(django_user_model, f"member{i}", COMMITTEE_MEMBER) for i in (1, 2, 3)]
    risk = _person(django_user_model, "risk", RISK_MANAGER)
    return {"referred": referred, "loan": loan, "recall": recall, "cut": cut, "members": members, "risk": risk}


def _log_in(browser, live_server, username, locale="en-US"):
    page = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900}).new_page()
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit], button[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def _vote(page, choice, comment, limit=None):
    page.select_option("select[name=choice]", choice)
    page.fill("textarea[name=comment]", comment)
    if limit:
        page.fill("input[name=limit]", limit)
    page.click("button[name=do-vote]")
    page.wait_for_selector("#bo-case-status")


def test_three_members_take_an_application_and_a_recall_to_a_decision(book, live_server, browser, shoot):
    from loans.models import LoanApplication
    from monitoring.models import ActionStatus, CommitteeCase, PostLoanAction

    app_case = CommitteeCase.objects.get(kind="application", subject_id=book["referred"].pk)
    recall_case = CommitteeCase.objects.get(kind="post_loan_action", subject_id=book["recall"].pk)
    votes = [("approve", None, "Cash flow covers the instalments twice."),
             ("approve", None, "Grey band by a few points; the legal representative is clean."),
             ("approve_conditions", "250000", "Start lower until a year of repayments.")]
    for i, (member, (choice, limit, comment)) in enumerate(zip(book["members"], votes, strict=True), 1):
        # when: the member opens their queue (from the sidebar) and the referred application's case
        page = _log_in(browser, live_server, member.username, locale="zh-CN" if i == 2 else "en-US")
        page.locator("a[href='/admin/monitoring/committeecase/queue/']").first.click()
        queue = page.locator("#bo-waiting").inner_text()
        assert book["referred"].company.legal_name in queue and book["loan"].credit_line.company.legal_name in queue
        shoot(page, f"{i}-queue")
        page.click(f"#bo-waiting a[href='/admin/monitoring/committeecase/{app_case.pk}/case/']")
        # then: the memo is there to read (scores, rule hits), and the vote is cast with a comment
        memo = page.locator("#credit-memo").inner_text()
        assert "REF_GREY_BAND" in memo and "610" in memo
        _vote(page, choice, comment, limit)
        assert page.locator("#bo-votes tbody tr").count() == i
        shoot(page, f"{i}-application-voted")
        # and the escalated recall
        page.goto(f"{live_server.url}/admin/monitoring/committeecase/{recall_case.pk}/case/")
        assert "fraud suspected" in page.locator("#credit-memo").inner_text()
        _vote(page, "approve", "Recall: the loan's purpose was misrepresented.")
        shoot(page, f"{i}-recall-voted")
        page.context.close()
    # then: the application is approved with the decided (lower) limit, and the recall is carried out
    app = LoanApplication.objects.get(pk=book["referred"].pk)
    assert (app.status, app.approved_limit) == ("committee_approved", Decimal("250000.00"))
    recall = PostLoanAction.objects.get(pk=book["recall"].pk)
    assert recall.status == ActionStatus.EXECUTED and recall.executed_by_id == book["members"][2].pk
    book["loan"].refresh_from_db()
    assert book["loan"].schedule_version == 2
    page = _log_in(browser, live_server, "member1")
    page.goto(f"{live_server.url}/admin/monitoring/committeecase/{app_case.pk}/case/")
    assert "¥250,000.00" in page.locator("#bo-outcome").inner_text()
    shoot(page, "4-application-decided")


def test_a_risk_manager_approves_a_limit_cut_from_the_queue(book, live_server, browser, shoot):
    page = _log_in(browser, live_server, "risk")
    # the sidebar counts what waits, and the queue lists the officer's proposal with its terms
    link = page.locator("a[href='/admin/monitoring/postloanaction/approvals/']").first
    assert "1" in link.inner_text()
    link.click()
    row = page.locator(f"#bo-action-{book['cut'].pk}")
    assert "¥280,000.00" in row.inner_text() and "officer" in row.inner_text()
    shoot(page, "1-queue")
    row.locator("textarea[name=comment]").fill("Revenue halved: cut as proposed.")
    row.locator("button[name=do-approve]").click()
    page.get_by_text("approved and executed").wait_for()
    assert "¥400,000.00 → ¥280,000.00" in page.locator("body").inner_text()
    assert page.locator(f"#bo-action-{book['cut'].pk}").count() == 0  # decided: off the queue
    shoot(page, "2-approved")
    line = book["cut"].credit_line
    page.goto(f"{live_server.url}/admin/loans/creditline/{line.pk}/change/")
    assert "280" in page.locator("body").inner_text()
    line.refresh_from_db()
    assert line.limit_amount == Decimal("280000.00")
    shoot(page, "3-line")
