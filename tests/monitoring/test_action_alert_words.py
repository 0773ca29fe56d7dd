"""Post-loan actions and alerts read in words on every page that shows them: the action's
terms and result (never its JSON), the alert's rule by name and its subject by name, linked."""

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse

from config.backoffice.roles import RISK_MANAGER
from monitoring.actions import post_loan_action_approve, post_loan_action_execute, post_loan_action_propose
from monitoring.models import Alert
from monitoring.wording import action_terms
from tests.factories import user_in
from tests.loans.conftest import TODAY, checker, company, make_line, officer, product  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def risk(django_user_model):
    return user_in(django_user_model, "risk1", RISK_MANAGER)


@pytest.fixture
def line(make_line):  # noqa: F811
    return make_line(amount="200000")


def _alert(line, **kw):
    return Alert.objects.create(
        subject_kind="company",
        subject_id=line.company_id,
        company_id=line.company_id,
        rule="score_drop",
        severity="high",
        first_seen_on=TODAY,
        last_seen_on=TODAY,
        old_score=700,
        new_score=590,
        evidence={"score_before": 700, "score_after": 590, "drop": 110, "limit": "200000.00"},
        **kw,
    )


@pytest.mark.parametrize(
    ("language", "terms"),
    [
        ("en", "Reduce the limit by 30 % — from ¥200,000.00 to ¥140,000.00"),
        ("zh-hans", "额度压降 30 % — 由 ¥200,000.00 降至 ¥140,000.00"),
    ],
)
def test_the_action_page_shows_its_terms_in_words(line, officer, risk, client, language, terms):  # noqa: F811
    # given: a 30 % cut proposed on a ¥200,000 line in answer to a warning
    alert = _alert(line)
    action = post_loan_action_propose(
        kind="reduce_limit", credit_line_id=line.pk, params={"percent": 30}, actor=officer, on=TODAY, alert_id=alert.pk
    )
    client.force_login(risk)
    # when
    html = client.get(
        reverse("admin:monitoring_postloanaction_change", args=[action.pk]), headers={"accept-language": language}
    ).content.decode()
    # then: the terms in words, the warning by its rule's name and the company's, no JSON
    assert terms in html
    assert "new_limit" not in html and "limit_before" not in html
    assert ("Score drop" if language == "en" else "评分下降") in html and line.company.legal_name in html
    assert f"/admin/monitoring/alert/{alert.pk}/change/" in html
    # and the list and the risk manager's queue say the same (one helper)
    assert (
        terms
        in client.get(
            reverse("admin:monitoring_postloanaction_changelist"), headers={"accept-language": language}
        ).content.decode()
    )
    assert (
        terms
        in client.get(
            reverse("admin:monitoring_postloanaction_approvals"), headers={"accept-language": language}
        ).content.decode()
    )


def test_an_executed_action_says_what_it_changed(line, officer, risk, client):  # noqa: F811
    action = post_loan_action_propose(
        kind="reduce_limit", credit_line_id=line.pk, params={"percent": 30}, actor=officer, on=TODAY
    )
    post_loan_action_approve(action_id=action.pk, actor=risk, note="ok")
    post_loan_action_execute(action_id=action.pk, actor=risk, on=TODAY)
    client.force_login(risk)
    html = client.get(reverse("admin:monitoring_postloanaction_change", args=[action.pk])).content.decode()
    assert "limit ¥200,000.00 → ¥140,000.00" in html and "line_changed" not in html


def test_terms_of_every_kind_read_as_words():
    assert action_terms(
        "restructure",
        {
            "term_months": 24,
            "interest_only_months": 3,
            "annual_rate": "0.06",
            "watch_months": 6,
            "outstanding_principal": "180000.00",
        },
    ) == (
        "New schedule: 24 months at 6.00% a year, the first 3 months interest only, on ¥180,000.00 outstanding, "
        "watched for 6 months"
    )
    assert action_terms("require_collateral", {"amount_needed": "50000", "due_date": "2026-06-30"}) == (
        "Collateral worth ¥50,000.00, pledged by 2026-06-30"
    )
    assert action_terms("increase_limit", {"new_limit": "250000", "limit_before": "200000.00"}) == (
        "Raise the limit by 25 % — from ¥200,000.00 to ¥250,000.00"
    )
    assert (
        action_terms("recall", {"outstanding_principal": "1234.5"})
        == "Recall the loan: ¥1,234.50 outstanding due at once"
    )
    assert action_terms("freeze_line", {}) == "Freeze the line: no new drawdowns"


def test_an_alert_is_named_by_its_rule_and_subject_everywhere(line, risk, client, admin_client):
    alert = _alert(line)
    name = line.company.legal_name
    assert str(alert).startswith(f"Score drop — {name}") and "#" not in str(alert)
    # the list: the rule by name, the subject by name linked to the company's page
    listing = admin_client.get(reverse("admin:monitoring_alert_changelist")).content.decode()
    assert "Score drop" in listing and reverse("admin:parties_company_change", args=[line.company_id]) in listing
    # the detail: evidence in words, no JSON
    detail = admin_client.get(reverse("admin:monitoring_alert_change", args=[alert.pk])).content.decode()
    assert "Points lost" in detail and "¥200,000.00" in detail and '"score_before"' not in detail
    # the company page's alert panel: the rule's name linked to the alert
    page = admin_client.get(reverse("backoffice:company", args=[line.company_id])).content.decode()
    assert f'href="{reverse("admin:monitoring_alert_change", args=[alert.pk])}">Score drop</a>' in page
    # the admin's log names it too
    client.force_login(risk)
    client.post(reverse("admin:monitoring_alert_changelist"), {"action": "acknowledge", "_selected_action": [alert.pk]})
    logged = [e.object_repr for e in LogEntry.objects.all()] + [e.change_message for e in LogEntry.objects.all()]
    assert all("score_drop on" not in text for text in logged)


def test_a_person_alert_names_the_person(company):  # noqa: F811
    person = company.related_parties.get().person
    alert = Alert.objects.create(
        subject_kind="person",
        subject_id=person.pk,
        rule="tier_downgrade",
        severity="info",
        first_seen_on=TODAY,
        last_seen_on=TODAY,
    )
    assert str(alert).startswith(f"Tier downgrade — {person.name}")


@pytest.mark.parametrize(("language", "words"), [("en", "Declining revenue (−40.9)"), ("zh-hans", "营业收入下滑 (−40.9)")])
def test_an_alerts_reason_codes_read_as_words_with_the_points_lost(line, admin_client, language, words):
    # given: a score alert whose evidence holds the reason codes as the rules copy them from the score
    from scoring.reasons import texts_for

    alert = _alert(line)
    alert.evidence = {**alert.evidence, "reason_codes": [{"code": "C04", "points_lost": 40.9}, {"code": "R02", "points_lost": 15.9}]}
    alert.save()
    # when the alert is read
    detail = admin_client.get(reverse("admin:monitoring_alert_change", args=[alert.pk]), HTTP_ACCEPT_LANGUAGE=language).content.decode()
    admin_client.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")  # leave the thread in English
    # then: each code in words with its points, never the stored structure
    zh = language != "en"
    assert texts_for("C04")[1 if zh else 0] in detail and texts_for("R02")[1 if zh else 0] in detail
    assert "(−40.9)" in detail and "(−15.9)" in detail
    assert "{&#x27;code&#x27;" not in detail and "'code'" not in detail and "points_lost" not in detail
    assert words in detail
