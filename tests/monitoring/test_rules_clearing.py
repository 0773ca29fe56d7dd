"""Alerts resolve themselves when the problem goes away, and the rules that lead to actions see
only companies with exposure.

A live alert of a rule that evaluates its subject on a day and no longer hits is resolved by the
system in the same evaluation, with "condition cleared on <date>"; a later hit opens a new alert
(the resolved one stays as history)."""

import datetime
from decimal import Decimal

import pytest

from monitoring.models import Alert, Severity
from monitoring.rules import RULES, rules_evaluate, rules_evaluate_detailed
from tests.monitoring.test_rules import DAY, Book, _operating

pytestmark = pytest.mark.django_db

D1, D2, D3 = DAY, DAY + datetime.timedelta(days=1), DAY + datetime.timedelta(days=2)


@pytest.fixture
def book():
    return Book()


def statuses(rule):
    return list(Alert.objects.filter(rule=rule).order_by("id").values_list("status", "first_seen_on", "close_reason"))


def test_hit_then_cleared_is_resolved_by_the_system_then_a_new_hit_opens_a_new_alert(book):
    c, still = book.company(), book.company()
    # day 1: both below the minimum (600)
    book.score("company", c.pk, 540, 620, day=D1)
    book.score("company", still.pk, 550, 620, day=D1)
    assert rules_evaluate(as_of=D1, only=["below_minimum"]) == {"below_minimum": 2}
    # day 2: one back above the minimum, the other still below
    book.score("company", c.pk, 640, 540, day=D2)
    book.score("company", still.pk, 560, 550, day=D2)
    result = rules_evaluate_detailed(as_of=D2, only=["below_minimum"])["below_minimum"]
    assert (result.new, result.seen, result.resolved) == (0, 1, 1)
    cleared = Alert.objects.get(rule="below_minimum", subject_id=c.pk)
    assert cleared.status == "resolved" and cleared.closed_by is None and cleared.closed_at is not None
    assert cleared.close_reason == f"condition cleared on {D2.isoformat()}" and cleared.last_seen_on == D1
    kept = Alert.objects.get(rule="below_minimum", subject_id=still.pk)
    assert kept.status == "open" and kept.last_seen_on == D2
    # day 3: below again -> a new alert; the resolved one stays as it was
    book.score("company", c.pk, 500, 640, day=D3)
    book.score("company", still.pk, 560, 560, day=D3)
    assert rules_evaluate(as_of=D3, only=["below_minimum"]) == {"below_minimum": 1}
    assert [s for s in Alert.objects.filter(subject_id=c.pk).order_by("id").values_list("status", "first_seen_on")] == [
        ("resolved", D1), ("open", D3)]
    # a rerun of day 2 neither reopens nor resolves anything
    rules_evaluate(as_of=D2, only=["below_minimum"])
    assert sorted(Alert.objects.values_list("subject_id", "status")) == sorted(
        [(c.pk, "resolved"), (c.pk, "open"), (still.pk, "open")])


def test_an_acknowledged_alert_is_cleared_too_and_a_subject_not_scored_is_not_evaluated(book, django_user_model):
    from monitoring.alerts import alert_acknowledge

    officer = django_user_model.objects.create_user("officer", is_staff=True)
    c, unscored = book.company(), book.company()
    book.score("company", c.pk, 540, 620, day=D1)
    book.score("company", unscored.pk, 540, 620, day=D1)
    rules_evaluate(as_of=D1, only=["below_minimum"])
    alert_acknowledge(alert_id=Alert.objects.get(subject_id=c.pk).pk, actor=officer)
    book.score("company", c.pk, 700, 540, day=D2)  # recovered; ``unscored`` has no score on day 2
    rules_evaluate(as_of=D2, only=["below_minimum"])
    assert Alert.objects.get(subject_id=c.pk).status == "resolved"
    assert Alert.objects.get(subject_id=unscored.pk).status == "open"


def test_a_score_drop_clears_only_when_the_score_has_recovered(book):
    c = book.company()
    book.score("company", c.pk, 600, 720, day=D1)  # dropped 120
    rules_evaluate(as_of=D1, only=["score_drop"])
    book.score("company", c.pk, 610, 600, day=D2)  # no new drop, but still 110 below 720
    rules_evaluate(as_of=D2, only=["score_drop"])
    assert Alert.objects.get(rule="score_drop").status == "open"
    book.score("company", c.pk, 690, 610, day=D3)  # within 50 of 720: recovered
    rules_evaluate(as_of=D3, only=["score_drop"])
    assert statuses("score_drop") == [("resolved", D1, f"condition cleared on {D3.isoformat()}")]


def test_a_tier_downgrade_clears_when_the_tier_is_back(book):
    c = book.company()
    book.score("company", c.pk, 690, 710, day=D1)  # B -> C
    rules_evaluate(as_of=D1, only=["tier_downgrade"])
    book.score("company", c.pk, 695, 690, day=D2)  # still C
    rules_evaluate(as_of=D2, only=["tier_downgrade"])
    assert Alert.objects.get(rule="tier_downgrade").status == "open"
    book.score("company", c.pk, 705, 695, day=D3)  # B again
    rules_evaluate(as_of=D3, only=["tier_downgrade"])
    assert Alert.objects.get(rule="tier_downgrade").status == "resolved"


def test_days_past_due_clears_when_the_loan_is_brought_current(book):
    a, b = book.company(), book.company()
    cured, late = book.loan(a, dpd=45, bucket="m2"), book.loan(b, dpd=45, bucket="m2")
    rules_evaluate(as_of=D1, only=["dpd_over"])
    cured.days_past_due, cured.bucket = 0, "current"
    cured.save(update_fields=["days_past_due", "bucket"])
    rules_evaluate(as_of=D2, only=["dpd_over"])
    assert dict(Alert.objects.values_list("subject_id", "status")) == {cured.pk: "resolved", late.pk: "open"}


def test_related_party_default_clears_when_the_party_is_cured(book):
    c = book.company()
    rep = book.person_behind(c)
    book.score("person", rep.pk, 400, 690, day=D1, in_default=True)
    rules_evaluate(as_of=D1, only=["related_party_deterioration"])
    book.score("person", rep.pk, 420, 400, day=D2, in_default=True)  # still in default
    rules_evaluate(as_of=D2, only=["related_party_deterioration"])
    assert Alert.objects.get().status == "open"
    book.score("person", rep.pk, 660, 420, day=D3)  # cured and 260 above the lowest score seen
    rules_evaluate(as_of=D3, only=["related_party_deterioration"])
    assert Alert.objects.get().status == "resolved"


def test_company_red_flags_clear_with_better_data(book):
    c = book.company()
    _operating(c, D1 - datetime.timedelta(days=30))
    _operating(c, D1, revenue_trend=-0.4)
    rules_evaluate(as_of=D1, only=["company_red_flags"])
    _operating(c, D2, revenue_trend=0.02)
    rules_evaluate(as_of=D2, only=["company_red_flags"])
    assert Alert.objects.get().status == "resolved"


def test_every_rule_says_when_its_problem_is_gone():
    assert {code for code, spec in RULES.items() if spec.clear is None} == set()


# --- exposure ----------------------------------------------------------------------------------

ACTION_LEADING = ("tier_downgrade", "below_minimum", "related_party_deterioration", "company_red_flags",
                  "guarantor_deterioration", "collateral_coverage", "dpd_over", "line_expiry")


def test_a_company_without_exposure_gets_no_action_leading_alert(book):
    # given: a company with every problem and no open line or loan (its line closed, its loan
    # repaid), and the same problems on an exposed company
    from loans.models import Collateral, Guarantee
    from tests.factories import PersonFactory

    idle, exposed = book.company(), book.company()
    for c in (idle, exposed):
        book.loan(c, dpd=120, bucket="m3_plus")
        rep = book.person_behind(c)
        book.score("person", rep.pk, 300, 700, day=D1, in_default=True)
        book.score("company", c.pk, 500, 720, day=D1)  # a drop, a downgrade, below the minimum
        guarantor = PersonFactory()
        Guarantee.objects.create(guarantor_person=guarantor, amount=Decimal("50000.00"), credit_line=c.line)
        book.score("person", guarantor.pk, 300, 700, day=D1, in_default=True)
        Collateral.objects.create(owner=c, kind="equipment", description="press", appraised_value=Decimal("1000.00"),
                                  haircut_pct=Decimal("30"), valued_on=D1, credit_line=c.line, status="pledged")
        c.line.drawn_principal = Decimal("100000.00")
        c.line.expires_on = D1 + datetime.timedelta(days=10)
        c.line.save(update_fields=["drawn_principal", "expires_on"])
        _operating(c, D1 - datetime.timedelta(days=30))
        _operating(c, D1, revenue_trend=-0.5, lawsuits_24m=3)
    idle.line.status = "closed"
    idle.line.save(update_fields=["status"])
    idle.line.loans.update(status="repaid")
    # when
    rules_evaluate(as_of=D1)
    # then: the exposed company is hit by every action-leading rule, the idle one by none; it is
    # at most on the watch list (severity info)
    on_exposed = set(Alert.objects.filter(company_id=exposed.pk).values_list("rule", flat=True))
    assert set(ACTION_LEADING) <= on_exposed
    idle_alerts = Alert.objects.filter(company_id=idle.pk)
    assert not idle_alerts.filter(rule__in=ACTION_LEADING).exists()
    assert set(idle_alerts.values_list("severity", flat=True)) <= {Severity.INFO.value}
    assert idle_alerts.filter(rule="score_drop").exists()  # the watch list
