"""Issue 14 "readable everywhere", the gaps left: names with their money formatted, a policy's
terms in words, moments on a row's page in Shanghai time, queue messages naming the action."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from config.backoffice.roles import RISK_MANAGER
from loans.models import Guarantee, Loan, Repayment
from monitoring.actions import post_loan_action_propose
from monitoring.models import ActionPolicy, ActionPolicyChange, PostLoanAction
from monitoring.wording import action_name, policy_terms
from tests.factories import user_in
from tests.loans.conftest import TODAY, checker, company, make_line, officer, product  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def risk(django_user_model):
    return user_in(django_user_model, "risk1", RISK_MANAGER)


@pytest.mark.parametrize(("language", "name"), [("en", "Loan #7 — ¥60,000.00"), ("zh-hans", "贷款 #7 — ¥60,000.00")])
def test_a_loan_is_named_with_its_principal_formatted(language, name):
    with translation.override(language):
        assert str(Loan(pk=7, principal=Decimal("60000.00"))) == name


def test_an_application_is_named_in_the_reader_s_language():
    from loans.models import Company, LoanApplication

    app = LoanApplication(pk=3, company=Company(legal_name="Hengyuan", uscc="X"))
    with translation.override("zh-hans"):
        assert str(app) == "申请 #3 — Hengyuan"


def test_a_repayment_and_a_guarantee_name_their_amount_formatted():
    paid = Repayment(amount=Decimal("1234567.5"), received_on=datetime.date(2026, 12, 2), external_ref="BANK-1")
    assert str(paid) == "¥1,234,567.50 on 2026-12-02 (BANK-1)"
    from loans.models import Company

    guarantee = Guarantee(amount=Decimal("50000"), guarantor_company=Company(legal_name="Hengyuan", uscc="X"))
    assert "for ¥50,000.00" in str(guarantee) and "CNY" not in str(guarantee)


@pytest.mark.parametrize(
    ("language", "kind", "params", "words"),
    [
        ("en", "reduce_limit", {"percent": 30}, "Cut the limit by 30 %"),
        ("zh-hans", "reduce_limit", {"percent": 30}, "额度压降 30 %"),
        (
            "en",
            "require_collateral",
            {"percent_of_drawn": 20, "due_in_days": 30},
            "Collateral worth 20 % of the drawn balance, within 30 days",
        ),
        (
            "zh-hans",
            "require_collateral",
            {"percent_of_drawn": 20, "due_in_days": 30},
            "价值为已提款余额 20 % 的抵押物,30 天内",
        ),
        ("en", "add_guarantee", {"amount_needed": "80000", "due_in_days": 14}, "Worth ¥80,000.00, within 14 days"),
        ("en", "restructure", {"term_months": 24, "annual_rate": "0.06"}, "Over 24 months, at 6.00% a year"),
        ("en", "freeze_line", {}, ""),
    ],
)
def test_a_policy_s_terms_read_as_words(language, kind, params, words):
    with translation.override(language):
        assert policy_terms(kind, params) == words


def test_the_policy_lists_show_terms_in_words_not_json(admin_client):
    # the starting policy (migration 0006): a sharp drop cuts the limit by 30 %
    policy = ActionPolicy.objects.get(rule="score_drop", severity="high")
    ActionPolicyChange.objects.create(
        policy=policy,
        rule="score_drop",
        severity="medium",
        action_kind="require_collateral",
        params={"percent_of_drawn": 25, "due_in_days": 10},
        maker="user:1",
    )
    listing = admin_client.get(reverse("admin:monitoring_actionpolicy_changelist")).content.decode()
    assert "Cut the limit by 30 %" in listing and '{"percent"' not in listing and "&quot;percent&quot;" not in listing
    changes = admin_client.get(reverse("admin:monitoring_actionpolicychange_changelist")).content.decode()
    assert "Collateral worth 25 % of the drawn balance, within 10 days" in changes
    assert "percent_of_drawn" not in changes
    # the rule by its name, the row it changes by name (not "score_drop / high → reduce_limit")
    assert "Score drop" in listing and "Score drop / High → Reduce limit" in changes and "reduce_limit" not in changes
    # and the change's own page: the terms in words, not the JSON
    change = ActionPolicyChange.objects.get()
    detail = admin_client.get(reverse("admin:monitoring_actionpolicychange_change", args=[change.pk])).content.decode()
    assert "Collateral worth 25 % of the drawn balance, within 10 days" in detail and "percent_of_drawn" not in detail


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_a_read_only_moment_on_a_row_s_page_is_in_shanghai_time(admin_client, language):
    # given: a change proposed at 12:50 UTC = 20:50 in Shanghai
    change = ActionPolicyChange.objects.create(
        rule="score_drop",
        severity="low",
        action_kind="freeze_line",
        params={},
        maker="user:1",
    )
    moment = datetime.datetime(2026, 12, 2, 12, 50, tzinfo=datetime.UTC)
    ActionPolicyChange.objects.filter(pk=change.pk).update(proposed_at=moment)
    # when
    html = admin_client.get(
        reverse("admin:monitoring_actionpolicychange_change", args=[change.pk]), headers={"accept-language": language}
    ).content.decode()
    # then: as the lists show it, never Django's "Dec. 2, 2026, 8:50 p.m."
    assert "2026-12-02 20:50" in html
    assert "p.m." not in html and "Dec. 2" not in html and "12月2日" not in html
    assert ("proposed at" if language == "en" else "提议时间") in html.lower()
    # and the list's first column (the row's link) too
    listing = admin_client.get(
        reverse("admin:monitoring_actionpolicychange_changelist"), headers={"accept-language": language}
    ).content.decode()
    link = reverse("admin:monitoring_actionpolicychange_change", args=[change.pk])
    assert f'href="{link}' in listing and "2026-12-02 20:50" in listing and "p.m." not in listing


def test_an_editable_admin_keeps_its_form_and_shows_read_only_moments_readably(admin_client):
    policy = ActionPolicy.objects.get(rule="score_drop", severity="high")
    html = admin_client.get(reverse("admin:monitoring_actionpolicy_change", args=[policy.pk])).content.decode()
    assert 'name="params"' in html and 'name="rule"' in html  # still a form


def test_the_queue_s_messages_name_the_action(make_line, officer, risk, client):  # noqa: F811
    line = make_line(amount="200000")
    action = post_loan_action_propose(kind="freeze_line", credit_line_id=line.pk, params={}, actor=officer, on=TODAY)
    client.force_login(risk)
    response = client.post(
        reverse("admin:monitoring_postloanaction_decide", args=[action.pk]),
        {"comment": "no", "do-reject": "1"},
        follow=True,
    )
    texts = [str(m) for m in response.context["messages"]]
    action = PostLoanAction.objects.select_related("company").get(pk=action.pk)
    assert texts == [f"{action_name(action)}: rejected."], texts
    assert line.company.legal_name in texts[0] and f"Action #{action.pk}" not in texts[0]
    assert action.status == "rejected"


def test_a_loan_s_page_shows_its_read_only_money_rate_and_dates_readably(make_line, officer, admin_client):  # noqa: F811
    from loans.services.lines import credit_line_draw_down

    line = make_line(amount="200000")
    loan = credit_line_draw_down(
        credit_line_id=line.pk, amount="100000", term_months=3, disbursed_on=TODAY, actor=officer
    )
    html = admin_client.get(
        reverse("admin:loans_loan_change", args=[loan.pk]), headers={"accept-language": "zh-hans"}
    ).content.decode()
    assert "¥100,000.00" in html and ">100000.00<" not in html
    # the disbursal date (the installments' inline rows are not swapped yet: see the report)
    assert TODAY.isoformat() in html and f"{TODAY.year}年{TODAY.month}月{TODAY.day}日" not in html
