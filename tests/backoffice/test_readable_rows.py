"""The rows shown inside a row's page read as the lists do, in English and in Chinese: a loan's
installments and repayments, an application's decisions and events, the ledger's kinds (on its
list, its entries' pages and the company page), a company's credit data; and no inline row
costs a query of its own."""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from config.backoffice import formatting
from config.backoffice.permissions import ReadableInlineMixin
from loans.choices import LEDGER_KIND_LABELS, ledger_kind_label
from loans.ledger_chain import LedgerKind
from loans.models import Decision, LedgerEntry

pytestmark = pytest.mark.django_db

EN, ZH = "en", "zh-hans"


def _get(client, url, language) -> str:
    response = client.get(url, headers={"accept-language": language})
    assert response.status_code == 200
    return response.content.decode()


def _bare(html: str, text: str) -> bool:
    """``text`` shown as a cell's whole content (Django's own formats leave such cells)."""
    return re.search(rf">\s*{re.escape(text)}\s*<", html) is not None


@pytest.mark.parametrize("language", [EN, ZH])
def test_a_loan_s_installments_and_repayments_read_like_the_lists(world, admin_client, language):
    loan = world["loan"]
    first = loan.installments.order_by("number").first()
    repayment = loan.repayments.get()
    # when
    html = _get(admin_client, reverse("admin:loans_loan_change", args=[loan.pk]), language)
    # then: dates as 2026-04-02, money as ¥33,084.58, never Django's "April 2, 2026" or "33084.58"
    due = first.due_date.isoformat()
    assert _bare(html, due)
    assert _bare(html, formatting.format_money(first.principal_due))
    assert _bare(html, formatting.format_money(repayment.interest_part))
    for raw in (str(first.principal_due), str(first.interest_due), str(repayment.amount)):
        assert not _bare(html, raw), raw
    assert f"{first.due_date.year}年{first.due_date.month}月{first.due_date.day}日" not in html
    assert first.due_date.strftime("%b. %-d, %Y") not in html and first.due_date.strftime("%B %-d, %Y") not in html
    # the installment's name in the reader's language
    title = f"#{first.number} due {due}" if language == EN else f"第 {first.number} 期，{due} 到期"
    assert title in html
    if language == ZH:
        assert " due " not in html


@pytest.mark.parametrize("language", [EN, ZH])
def test_an_application_s_decisions_and_events_read_like_the_lists(world, admin_client, language):
    application = world["referred"]
    decision = Decision.objects.get(application=application)
    html = _get(admin_client, reverse("admin:loans_loanapplication_change", args=[application.pk]), language)
    # the decision's rate and limit as the lists show them, its score with its tier
    assert _bare(html, formatting.format_rate(decision.annual_rate))
    assert _bare(html, formatting.format_money(decision.approved_limit))
    assert _bare(html, formatting.format_score(decision.score, decision.tier))
    assert not _bare(html, str(decision.annual_rate)) and not _bare(html, str(decision.approved_limit))
    # the application's own read-only fields too (they are set per request, not declared)
    assert _bare(html, formatting.format_money(application.requested_amount))
    assert _bare(html, formatting.format_datetime(application.submitted_at)) and "年12月" not in html
    # the statuses of its events and the names of its rows in words
    if language == EN:
        assert _bare(html, "Submitted") and f"Decision #{decision.pk}: Refer to committee" in html
        assert f"Application #{application.pk}: Draft → Submitted" in html
    else:
        assert _bare(html, "已提交") and f"决策 #{decision.pk}：" in html
        assert f"申请 #{application.pk}：草稿 → 已提交" in html
        assert "Decision #" not in html and "application #" not in html
    assert not _bare(html, "draft")  # (an event's note is free text: "submitted" may stay)


def test_a_line_s_page_shows_what_is_available_as_money(world, admin_client):
    line = world["line"]
    html = _get(admin_client, reverse("admin:loans_creditline_change", args=[line.pk]), ZH)
    assert _bare(html, formatting.format_money(line.available_amount)) and "可用额度" in html
    assert not _bare(html, str(line.available_amount))


@pytest.mark.parametrize("language", [EN, ZH])
def test_the_drawdown_and_repayment_forms_show_money_formatted(world, admin_client, language):
    line, loan = world["line"], world["loan"]
    loan.refresh_from_db()  # a repayment was recorded after the drawdown
    drawdown = _get(admin_client, reverse("admin:loans_creditline_drawdown", args=[line.pk]), language)
    repayment = _get(admin_client, reverse("admin:loans_loan_repayment", args=[loan.pk]), language)
    available, outstanding = formatting.format_money(line.available_amount), formatting.format_money(loan.outstanding_principal)
    if language == EN:
        assert f"Draw down on credit line #{line.pk} (available {available})" in drawdown
        assert f"Record a repayment on loan #{loan.pk} (outstanding principal {outstanding})" in repayment
    else:
        assert f"在授信额度 #{line.pk} 上提款（可用 {available}）" in drawdown
        assert f"登记贷款 #{loan.pk} 的还款（剩余本金 {outstanding}）" in repayment
    assert str(line.available_amount) not in drawdown and str(loan.outstanding_principal) not in repayment


def test_a_share_in_percent_is_not_money(world, admin_client):
    from loans.models import Collateral

    collateral = Collateral.objects.get()
    html = _get(admin_client, reverse("admin:loans_collateral_changelist"), ZH)
    # a haircut of 30 % (was "¥30.00"), the lending value as money (was "56000.00")
    assert _bare(html, "30.00%") and not _bare(html, "¥30.00")
    assert _bare(html, formatting.format_money(collateral.lending_value)) and "可贷价值" in html


def test_a_related_party_is_named_in_the_reader_s_language(world, admin_client):
    company = world["line"].company
    html = _get(admin_client, reverse("admin:parties_company_change", args=[company.pk]), ZH)
    assert f"{company.legal_name} 的法定代表人" in html and " of " + company.legal_name not in html


def test_every_read_only_inline_reads_like_the_lists():
    inlines = {inline for model_admin in admin.site._registry.values() for inline in model_admin.inlines
               if inline.__module__.split(".")[0] in ("loans", "monitoring", "scoring", "config")}  # the project's own
    read_only = [i for i in inlines if i.fields and set(i.fields) <= set(i.readonly_fields)]
    assert read_only, "the loan's installments, the application's decisions, ..."
    assert [i.__name__ for i in read_only if not issubclass(i, ReadableInlineMixin)] == []


def test_an_inline_row_costs_no_query_of_its_own(world, admin_client):
    from loans.services.lines import credit_line_draw_down
    from monitoring.models import Alert

    from .conftest import TODAY

    # given: a loan of 3 installments and one of 12 on the same line (its blocking alert gone)
    Alert.objects.all().delete()
    short = world["loan"]
    long = credit_line_draw_down(credit_line_id=world["line"].pk, amount="60000", term_months=12, disbursed_on=TODAY,
                                 actor=world["maker"])
    assert (short.installments.count(), long.installments.count()) == (3, 12)

    def queries(loan) -> int:
        url = reverse("admin:loans_loan_change", args=[loan.pk])
        admin_client.get(url)  # warm the caches (content types)
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(url).status_code == 200
        return len(captured.captured_queries)

    # then: the same queries whatever the number of rows (one fewer: the short loan's repayment)
    assert queries(long) <= queries(short)


@pytest.mark.parametrize(("language", "drawdown", "decision"), [(EN, "Drawdown", "Automated decision"), (ZH, "放款", "自动审批决策")])
def test_the_ledger_list_names_kinds_and_subjects_in_words(world, admin_client, language, drawdown, decision):
    loan = world["loan"]
    html = _get(admin_client, reverse("admin:loans_ledgerentry_changelist"), language)
    assert _bare(html, drawdown) and _bare(html, decision)
    assert not _bare(html, "drawdown") and not _bare(html, "decision.automated") and not _bare(html, "loans.loan")
    # the subject by kind and number, linked to its page
    noun = "Loan" if language == EN else "贷款"
    assert f'<a href="{reverse("admin:loans_loan_change", args=[loan.pk])}">{noun} #{loan.pk}</a>' in html
    # the filter offers the kinds in words; filtering by one still works
    assert _bare(html, "Loan status changed" if language == EN else "贷款状态变更")  # no such entry: the filter's
    filtered = _get(admin_client, reverse("admin:loans_ledgerentry_changelist") + "?kind=drawdown", language)
    rows = filtered.split('id="result_list"', 1)[1].split("</table>", 1)[0]
    assert _bare(rows, drawdown) and not _bare(rows, decision)
    # an entry's own page
    entry = LedgerEntry.objects.get(kind="drawdown")
    page = _get(admin_client, reverse("admin:loans_ledgerentry_change", args=[entry.pk]), language)
    assert _bare(page, drawdown) and f"#{entry.seq} {drawdown} — {noun} #{loan.pk}" in page
    assert "drawdown loans.loan" not in page


def test_every_kind_the_product_writes_has_words():
    named = {v for k, v in vars(LedgerKind).items() if k.isupper() and k != "DECISION_PREFIX"}
    named |= {f"{LedgerKind.DECISION_PREFIX}{kind}" for kind in Decision.Kind.values}
    named.add("committee.case_closed")  # monitoring.committee, monitoring.proposals
    assert named <= set(LEDGER_KIND_LABELS)
    assert ledger_kind_label("some.future_kind") == "some.future_kind"


@pytest.fixture
def as_reader(client, django_user_model):
    from django.contrib.auth.models import Permission

    from .conftest import staff

    client.force_login(staff(django_user_model, "reader", perms=Permission.objects.filter(codename__startswith="view_")))
    return client


@pytest.mark.parametrize(("language", "drawdown", "decision"), [(EN, "Drawdown", "Automated decision"), (ZH, "放款", "自动审批决策")])
def test_the_company_page_names_its_ledger_s_kinds_in_words(world, as_reader, language, drawdown, decision):
    html = _get(as_reader, reverse("backoffice:company", args=[world["line"].company.pk]), language)
    ledger = html.split('id="bo-ledger"', 1)[1]
    assert _bare(ledger, drawdown) and _bare(ledger, decision)
    assert not _bare(ledger, "drawdown") and not _bare(ledger, "decision.automated")


@pytest.mark.parametrize("language", [EN, ZH])
def test_the_company_page_reads_its_credit_data_in_words(world, as_reader, language):
    html = _get(as_reader, reverse("backoffice:company", args=[world["line"].company.pk]), language)
    if language == EN:
        assert "Revenue over the last 12 months (tax filings)" in html and _bare(html, "Credit bureau")
        assert "Lawsuits as defendant over the last 24 months" in html and "(count)" in html
    else:
        assert "近12个月营业收入（纳税申报）" in html and _bare(html, "征信机构")
        assert "近24个月作为被告的诉讼数" in html and "（次数）" in html
        assert "Revenue over the last" not in html and "(count)" not in html and "(ratio)" not in html
    # revenue of 50 million with its separators and currency (was "50000000")
    assert _bare(html, "¥50,000,000.00") and "50000000" not in html
    assert not _bare(html, "bureau")


@pytest.mark.parametrize("language", [EN, ZH])
def test_the_credit_snapshot_list_shows_figures_and_sources_in_words(world, admin_client, language):
    html = _get(admin_client, reverse("admin:scoring_companycreditsnapshot_changelist"), language)
    assert _bare(html, "¥50,000,000.00") and "50000000.0" not in html
    assert _bare(html, "Credit bureau" if language == EN else "征信机构") and not _bare(html, "bureau")


def test_every_feature_unit_and_source_reads_in_chinese():
    from django.utils import translation

    from scoring.features import FEATURES_BY_KIND
    from scoring.words import SOURCE_LABELS, feature_meaning, source_label, unit_label

    features = [f for fs in FEATURES_BY_KIND.values() for f in fs]
    with translation.override(ZH):
        words = {f.name: feature_meaning(f) for f in features}
        words |= {f"unit {f.unit}": unit_label(f.unit) for f in features}
        words |= {f"source {s}": source_label(s) for s in SOURCE_LABELS}
    assert [name for name, text in words.items() if not re.search(r"[\u4e00-\u9fff]", text)] == []
    assert source_label("bench") == "bench"  # a source not named: as it is


# What a page shows where a value escaped the readable formats: Django's own dates ("2026年12月3日",
# "Dec. 3, 2026", "8:50 p.m."), an amount without separators, a rate as a fraction.
ESCAPED = {
    "a date in Django's Chinese format": re.compile(r"\d{4}年\d{1,2}月\d{1,2}日"),
    "a date in Django's English format": re.compile(r"\b(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Oct|Nov|Dec)\. \d{1,2}, \d{4}"),
    "a time in Django's English format": re.compile(r"\d (?:a|p)\.m\."),
    "an amount without separators": re.compile(r">\s*-?\d{4,}\.\d{2}\s*<"),
    "a rate as a fraction": re.compile(r">\s*0\.\d{6}\s*<"),
}


@pytest.mark.parametrize("language", [EN, ZH])
def test_no_admin_page_shows_django_s_own_formats(world, admin_client, language):
    # every list, and the page of its latest row, of every admin (the libraries' too)
    found = []
    for model in admin.site._registry:
        opts = model._meta
        urls = [reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")]
        latest = model._default_manager.order_by("-pk").first()
        if latest is not None:
            urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[latest.pk]))
        for url in urls:
            html = _get(admin_client, url, language)
            found += [(url, what, m) for what, pattern in ESCAPED.items() for m in pattern.findall(html)[:1]]
    assert found == []
