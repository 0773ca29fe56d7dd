"""The rows inside a row's page, the ledger and the credit data as an officer sees them in a real
browser, in English and in Chinese (the browser's language chooses): dates, money and rates as
the lists show them, kinds, names and characteristics in words."""

import pytest

from loans.models import LedgerEntry

from .conftest import log_in

pytestmark = pytest.mark.django_db(transaction=True)

WORDS = {
    "en-US": {"installment": "#1 due ", "drawdown": "Drawdown", "decision": "Automated decision",
              "revenue": "Revenue over the last 12 months (tax filings)", "source": "Credit bureau", "available": "Available"},
    "zh-CN": {"installment": "第 1 期，", "drawdown": "放款", "decision": "自动审批决策",
              "revenue": "近12个月营业收入（纳税申报）", "source": "征信机构", "available": "可用额度"},
}


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_row_pages_ledger_and_credit_data_read_in_the_browser_s_language(world, officer_user, live_server, browser, shoot,
                                                                          locale):
    words = WORDS[locale]
    context = browser.new_context(locale=locale, viewport={"width": 1366, "height": 900})
    page = context.new_page()
    log_in(page, live_server, "officer")
    loan, line, app = world["loan"], world["line"], world["referred"]

    # a loan's page: its installments dated and in money as the lists show them, each named
    page.goto(f"{live_server.url}/admin/loans/loan/{loan.pk}/change/")
    installments = page.locator("#installments-group").inner_text()
    first = loan.installments.order_by("number").first()
    assert words["installment"] in installments and first.due_date.isoformat() in installments
    assert "¥" in installments and str(first.principal_due) not in installments
    shoot(page, f"loan-{locale}")

    # an application's page: its decision and its events
    page.goto(f"{live_server.url}/admin/loans/loanapplication/{app.pk}/change/")
    decisions = page.locator("#decisions-group").inner_text()
    assert "%" in decisions and str(app.annual_rate) not in decisions
    shoot(page, f"application-{locale}")

    # a line's page: what is available, as money
    page.goto(f"{live_server.url}/admin/loans/creditline/{line.pk}/change/")
    assert words["available"] in page.content() and str(line.available_amount) not in page.content()
    shoot(page, f"line-{locale}")

    # the ledger: kinds in words, subjects by kind and number
    page.goto(f"{live_server.url}/admin/loans/ledgerentry/")
    rows = page.locator("#result_list").inner_text()
    assert words["drawdown"] in rows and words["decision"] in rows and "decision.automated" not in rows
    shoot(page, f"ledger-{locale}")
    entry = LedgerEntry.objects.get(kind="drawdown")
    page.goto(f"{live_server.url}/admin/loans/ledgerentry/{entry.pk}/change/")
    shoot(page, f"ledger-entry-{locale}")

    # the company's page: its ledger and its credit data in words
    page.goto(f"{live_server.url}/admin/parties/company/{line.company_id}/overview/")
    ledger = page.locator("#bo-ledger").inner_text()
    assert words["drawdown"] in ledger and "drawdown" not in ledger
    page_text = page.locator(".bo-page").inner_text()
    assert words["revenue"] in page_text and "¥50,000,000.00" in page_text
    assert words["source"].lower() in page_text.lower()  # a column head (upper case in the theme)
    shoot(page, f"company-{locale}")

    # the company credit data list
    page.goto(f"{live_server.url}/admin/scoring/companycreditsnapshot/")
    listing = page.locator("#result_list").inner_text()
    assert "¥50,000,000.00" in listing and words["source"] in listing
    shoot(page, f"company-credit-data-{locale}")

    # a person's page: the same credit data table
    person = line.company.related_parties.get().person
    page.goto(f"{live_server.url}/admin/parties/person/{person.pk}/overview/")
    shoot(page, f"person-{locale}")
    context.close()
