"""Warning rules: each fires on a hand-built case and not on its control; reruns and persisting
problems keep one open alert; bad parameters are refused by name."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from loans.choices import Role
from loans.models import Collateral, CreditLine, Guarantee, Loan
from monitoring.models import Alert, WarningRule
from monitoring.rules import DEFAULT_RULES, RULES, rule_params_validate, rules_evaluate, warning_rule_publish
from scoring.models import CompanyCreditSnapshot, Score, ScoreModel
from tests.factories import CompanyFactory, LoanProductFactory, PersonFactory, RelatedPartyFactory

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 11, 2)
BEFORE = DAY - datetime.timedelta(days=1)


class Book:
    """Companies with or without exposure, their scores and their people."""

    def __init__(self):
        self.product = LoanProductFactory(code="rules-revolving")
        self.models = {
            kind: ScoreModel.objects.create(subject_kind=kind, version=1, status="draft", scorecard={})
            for kind in ("person", "company")
        }

    def company(self, *, exposed=True, limit="500000.00", drawn="0.00", expires_on=None):
        company = CompanyFactory()
        company.line = None
        if exposed:
            company.line = CreditLine.objects.create(
                company=company, product=self.product, limit_amount=Decimal(limit), drawn_principal=Decimal(drawn),
                annual_rate=Decimal("0.08"), tier="B", opened_on=DAY - datetime.timedelta(days=200),
                expires_on=expires_on or DAY + datetime.timedelta(days=300),
            )
        return company

    def loan(self, company, *, dpd=0, bucket="current", status="active", amount="100000.00"):
        line = company.line
        return Loan.objects.create(
            credit_line=line, company=company, principal=Decimal(amount), outstanding_principal=Decimal(amount),
            annual_rate=Decimal("0.08"), term_months=12, repayment_method="equal_installment",
            disbursed_on=DAY - datetime.timedelta(days=150), first_due_date=DAY - datetime.timedelta(days=120),
            maturity_date=DAY + datetime.timedelta(days=200), status=status, days_past_due=dpd, bucket=bucket,
        )

    def person_behind(self, company, *, role=Role.LEGAL_REPRESENTATIVE, pct=None, person=None):
        return RelatedPartyFactory(company=company, person=person or PersonFactory(), role=role, ownership_pct=pct).person

    def score(self, kind, subject_id, score, previous=None, *, day=DAY, in_default=False, reasons=None):
        tier = "A" if score >= 750 else "B" if score >= 700 else "C" if score >= 650 else "D" if score >= 600 else "E"
        return Score.objects.create(
            subject_kind=kind, subject_id=subject_id, as_of=day, model=self.models[kind], model_version=1,
            score=score, pd=0.05, tier=tier, in_default=in_default, previous_score=previous,
            reason_codes=reasons or [{"code": "revenue_trend", "points_lost": 20.0}],
        )


@pytest.fixture
def book():
    return Book()


def alerts(rule):
    return {(a.subject_kind, a.subject_id): a for a in Alert.objects.filter(rule=rule)}


def publish(code, **params):
    severity, defaults = DEFAULT_RULES[code]
    return warning_rule_publish(code=code, severity=severity, params={**defaults, **params}, effective_from=DAY - datetime.timedelta(days=30))


# --- the rules, each with a control ----------------------------------------------------------


def test_score_drop_fires_on_a_drop_of_points_and_feeds_the_watch_list_without_exposure(book):
    # given: an exposed company that dropped 120, one that dropped 60, a control that dropped 40,
    # and a company without exposure that dropped 80
    big, mid, small, idle = book.company(), book.company(), book.company(), book.company(exposed=False)
    book.score("company", big.pk, 600, 720)
    book.score("company", mid.pk, 640, 700)
    book.score("company", small.pk, 660, 700)
    book.score("company", idle.pk, 600, 680)
    # when
    assert rules_evaluate(as_of=DAY, only=["score_drop"]) == {"score_drop": 3}
    # then
    hits = alerts("score_drop")
    assert set(hits) == {("company", big.pk), ("company", mid.pk), ("company", idle.pk)}
    assert hits[("company", big.pk)].severity == "high" and hits[("company", mid.pk)].severity == "medium"
    assert hits[("company", idle.pk)].severity == "info"  # the watch list
    ev = hits[("company", big.pk)].evidence
    assert (ev["score_before"], ev["score_after"], ev["drop"]) == (720, 600, 120)
    assert ev["reason_codes"][0]["code"] == "revenue_trend" and ev["limit"] == "500000.00"
    assert hits[("company", big.pk)].company_id == big.pk and hits[("company", big.pk)].rule_version == 1


def test_score_drop_threshold_is_a_parameter_below_the_index_floor_too(book):
    # given: the threshold lowered to 30 points (below the partial index's 50)
    publish("score_drop", points=30)
    c, control = book.company(), book.company()
    book.score("company", c.pk, 660, 700)
    book.score("company", control.pk, 680, 700)
    # when / then
    rules_evaluate(as_of=DAY, only=["score_drop"])
    assert set(alerts("score_drop")) == {("company", c.pk)}
    assert Alert.objects.get(rule="score_drop").rule_version == 2


def test_score_drop_within_days_compares_exposed_companies_with_their_best_score_of_the_window(book):
    # given: two 30-point steps in a 7-day window (each below the 50 threshold), and a control
    # whose higher score is older than the window
    publish("score_drop", days=7)
    slow, control = book.company(), book.company()
    book.score("company", slow.pk, 720, None, day=DAY - datetime.timedelta(days=5))
    book.score("company", slow.pk, 690, 720, day=DAY - datetime.timedelta(days=2))
    book.score("company", slow.pk, 660, 690)
    book.score("company", control.pk, 720, None, day=DAY - datetime.timedelta(days=20))
    book.score("company", control.pk, 690, 720, day=DAY - datetime.timedelta(days=2))
    book.score("company", control.pk, 670, 690)
    # when
    rules_evaluate(as_of=DAY, only=["score_drop"])
    # then
    hits = alerts("score_drop")
    assert set(hits) == {("company", slow.pk)}
    assert hits[("company", slow.pk)].old_score == 720 and hits[("company", slow.pk)].evidence["days"] == 7


def test_tier_downgrade(book):
    down, same, idle = book.company(), book.company(), book.company(exposed=False)
    book.score("company", down.pk, 690, 710)  # B -> C
    book.score("company", same.pk, 705, 745)  # B -> B
    book.score("company", idle.pk, 610, 760)  # no exposure: not this rule's business
    rules_evaluate(as_of=DAY, only=["tier_downgrade"])
    hits = alerts("tier_downgrade")
    assert set(hits) == {("company", down.pk)}
    assert (hits[("company", down.pk)].evidence["tier_before"], hits[("company", down.pk)].evidence["tier_after"]) == ("B", "C")


def test_below_minimum_uses_the_policy_minimum(book):
    low, ok, idle = book.company(), book.company(), book.company(exposed=False)
    book.score("company", low.pk, 533, 740)
    book.score("company", ok.pk, 600, 610)
    book.score("company", idle.pk, 500, 510)
    rules_evaluate(as_of=DAY, only=["below_minimum"])
    hits = alerts("below_minimum")
    assert set(hits) == {("company", low.pk)}
    a = hits[("company", low.pk)]
    assert (a.severity, a.old_score, a.new_score, a.evidence["min_score"]) == ("high", 740, 533, 600)


def test_related_party_deterioration_is_raised_on_every_exposed_company_the_person_stands_behind(book):
    # given: a person, legal representative of one company and 40 % shareholder of another,
    # whose score fell 80; a 10 % shareholder who defaulted (below the 25 % bar); a director who defaulted
    a, b, c, d = book.company(), book.company(), book.company(), book.company()
    boss = book.person_behind(a)
    book.person_behind(b, role=Role.SHAREHOLDER, pct=Decimal("40.00"), person=boss)
    minor = book.person_behind(c, role=Role.SHAREHOLDER, pct=Decimal("10.00"))
    director = book.person_behind(d, role=Role.DIRECTOR)
    book.score("person", boss.pk, 560, 640)
    book.score("person", minor.pk, 300, 700, in_default=True)
    book.score("person", director.pk, 300, 700, in_default=True)
    # when
    rules_evaluate(as_of=DAY, only=["related_party_deterioration"])
    # then
    hits = alerts("related_party_deterioration")
    assert set(hits) == {("company", a.pk), ("company", b.pk)}
    ev = hits[("company", b.pk)].evidence
    assert ev["persons"] == [boss.pk] and ev["worst_drop"] == 80 and ev["reason"] == "related_party_score_drop"


def test_related_party_default_is_named_in_the_evidence(book):
    a = book.company()
    controller = book.person_behind(a, role=Role.ACTUAL_CONTROLLER)
    book.score("person", controller.pk, 690, 700, in_default=True)
    rules_evaluate(as_of=DAY, only=["related_party_deterioration"])
    ev = Alert.objects.get(rule="related_party_deterioration").evidence
    assert ev["reason"] == "related_party_default" and ev["person_default"] in (True, 1)


def test_dpd_over(book):
    a, b, c = book.company(), book.company(), book.company()
    late = book.loan(a, dpd=45, bucket="m2")
    very = book.loan(b, dpd=120, bucket="m3_plus")
    book.loan(c, dpd=30, bucket="m1")  # at the threshold, not over it
    rules_evaluate(as_of=DAY, only=["dpd_over"])
    hits = alerts("dpd_over")
    assert set(hits) == {("loan", late.pk), ("loan", very.pk)}
    assert hits[("loan", late.pk)].severity == "medium" and hits[("loan", very.pk)].severity == "high"
    assert hits[("loan", late.pk)].evidence["dpd"] == 45 and hits[("loan", late.pk)].company_id == a.pk
    assert hits[("loan", late.pk)].evidence["outstanding"] == "100000.00"


def test_default_contagion_puts_every_company_sharing_the_key_people_on_watch(book):
    # given: a loan at M3+ of a company whose legal representative also runs two other companies
    # (one with a line, one without), and a company with an unrelated legal representative
    bad, sister, dormant, stranger = book.company(), book.company(), book.company(exposed=False), book.company()
    rep = book.person_behind(bad)
    book.person_behind(sister, person=rep)
    book.person_behind(dormant, role=Role.ACTUAL_CONTROLLER, person=rep)
    book.person_behind(stranger)
    loan = book.loan(bad, dpd=95, bucket="m3_plus")
    # when
    rules_evaluate(as_of=DAY, only=["default_contagion"])
    # then
    hits = alerts("default_contagion")
    assert set(hits) == {("company", sister.pk), ("company", dormant.pk)}
    assert hits[("company", sister.pk)].severity == "high" and hits[("company", dormant.pk)].severity == "info"
    assert hits[("company", sister.pk)].evidence["source_loans"] == [loan.pk]


def test_default_contagion_from_a_written_off_loan(book):
    bad, sister = book.company(), book.company()
    rep = book.person_behind(bad)
    book.person_behind(sister, person=rep)
    book.loan(bad, status="written_off")
    rules_evaluate(as_of=DAY, only=["default_contagion"])
    assert set(alerts("default_contagion")) == {("company", sister.pk)}


def test_line_expiry(book):
    soon = book.company(expires_on=DAY + datetime.timedelta(days=20))
    later = book.company(expires_on=DAY + datetime.timedelta(days=40))
    rules_evaluate(as_of=DAY, only=["line_expiry"])
    hits = alerts("line_expiry")
    assert set(hits) == {("line", soon.line.pk)}
    assert hits[("line", soon.line.pk)].evidence["days_left"] == 20
    assert later.line.pk not in {sid for _, sid in hits}


def _operating(company, day, **features):
    base = dict(revenue_12m=8e6, revenue_trend=0.05, overdue_payables_ratio=0.1, lawsuits_24m=0, admin_penalties_24m=0)
    return CompanyCreditSnapshot.objects.create(company=company, as_of=day, **{**base, **features})


def test_company_red_flags(book):
    sued, shrinking, fine, idle = book.company(), book.company(), book.company(), book.company(exposed=False)
    for c in (sued, shrinking, fine, idle):
        _operating(c, DAY - datetime.timedelta(days=30))
    _operating(sued, DAY, lawsuits_24m=2)
    _operating(shrinking, DAY, revenue_trend=-0.4)
    _operating(fine, DAY, revenue_trend=-0.1, overdue_payables_ratio=0.2)
    _operating(idle, DAY, lawsuits_24m=3)
    rules_evaluate(as_of=DAY, only=["company_red_flags"])
    hits = alerts("company_red_flags")
    assert set(hits) == {("company", sued.pk), ("company", shrinking.pk)}
    assert hits[("company", sued.pk)].evidence["new_lawsuits"] == 2
    assert hits[("company", shrinking.pk)].evidence["flags"]["revenue_down"] == 1


def test_guarantor_deterioration(book):
    a, b = book.company(), book.company()
    weak, strong = PersonFactory(), PersonFactory()
    Guarantee.objects.create(guarantor_person=weak, amount=Decimal("50000.00"), credit_line=a.line)
    Guarantee.objects.create(guarantor_person=strong, amount=Decimal("50000.00"), credit_line=b.line)
    book.score("person", weak.pk, 520, 610)
    book.score("person", strong.pk, 700, 710)
    rules_evaluate(as_of=DAY, only=["guarantor_deterioration"])
    hits = alerts("guarantor_deterioration")
    assert set(hits) == {("company", a.pk)}
    assert hits[("company", a.pk)].evidence["worst_drop"] == 90


def test_collateral_coverage(book):
    thin = book.company(drawn="200000.00")
    thick = book.company(drawn="100000.00")
    # lending value 150,000 × (1 − 30 %) = 105,000 against 200,000 drawn; 200,000 × 0.7 = 140,000 against 100,000
    Collateral.objects.create(owner=thin, kind="equipment", description="lathe", appraised_value=Decimal("150000.00"), valued_on=DAY, credit_line=thin.line)
    Collateral.objects.create(owner=thick, kind="equipment", description="press", appraised_value=Decimal("200000.00"), valued_on=DAY, credit_line=thick.line)
    rules_evaluate(as_of=DAY, only=["collateral_coverage"])
    hits = alerts("collateral_coverage")
    assert set(hits) == {("line", thin.line.pk)}
    ev = hits[("line", thin.line.pk)].evidence
    assert (ev["lending_value"], ev["drawn"]) == ("105000.00", "200000.00")


def test_every_rule_has_a_test_and_a_default_version_in_the_database():
    assert set(DEFAULT_RULES) == set(RULES)
    assert set(WarningRule.objects.filter(is_active=True).values_list("code", flat=True)) == set(RULES)


# --- one open alert per subject and rule -----------------------------------------------------


def test_a_rerun_raises_no_duplicates_and_a_persisting_problem_keeps_one_alert(book):
    # given: a company below the minimum, evaluated on its day
    c = book.company()
    book.score("company", c.pk, 540, 620, day=BEFORE)
    assert rules_evaluate(as_of=BEFORE, only=["below_minimum"]) == {"below_minimum": 1}
    # when: the same day again, then the next day (still below, a little lower)
    assert rules_evaluate(as_of=BEFORE, only=["below_minimum"]) == {"below_minimum": 0}
    book.score("company", c.pk, 520, 540)
    assert rules_evaluate(as_of=DAY, only=["below_minimum"]) == {"below_minimum": 0}
    # then: one alert, first seen the first day, last seen today, with today's evidence
    alert = Alert.objects.get(rule="below_minimum")
    assert (alert.first_seen_on, alert.last_seen_on, alert.new_score, alert.evidence["score_after"]) == (BEFORE, DAY, 520, 520)
    # and re-evaluating the older day does not move it back
    rules_evaluate(as_of=BEFORE, only=["below_minimum"])
    alert.refresh_from_db()
    assert (alert.last_seen_on, alert.new_score) == (DAY, 520)


def test_after_a_resolved_alert_a_new_hit_opens_a_new_one(book, django_user_model):
    from monitoring.alerts import alert_resolve

    officer = django_user_model.objects.create_user("officer", is_staff=True)
    c = book.company()
    book.score("company", c.pk, 540, 620, day=BEFORE)
    rules_evaluate(as_of=BEFORE, only=["below_minimum"])
    alert_resolve(alert_id=Alert.objects.get().pk, actor=officer, reason="limit cut")
    book.score("company", c.pk, 530, 540)
    assert rules_evaluate(as_of=DAY, only=["below_minimum"]) == {"below_minimum": 1}
    assert sorted(Alert.objects.values_list("status", flat=True)) == ["open", "resolved"]


def test_a_disabled_rule_is_not_evaluated(book):
    c = book.company()
    book.score("company", c.pk, 540, 620)
    severity, params = DEFAULT_RULES["below_minimum"]
    warning_rule_publish(code="below_minimum", severity=severity, params=params, enabled=False, effective_from=DAY)
    assert "below_minimum" not in rules_evaluate(as_of=DAY)
    assert not Alert.objects.filter(rule="below_minimum").exists()


def test_the_version_in_effect_on_the_date_applies(book):
    c = book.company()
    book.score("company", c.pk, 630, 640)
    warning_rule_publish(code="below_minimum", severity="high", params={"min_score": 650}, effective_from=DAY + datetime.timedelta(days=1))
    assert rules_evaluate(as_of=DAY, only=["below_minimum"]) == {"below_minimum": 0}  # v1 (policy 600) applies
    book.score("company", c.pk, 630, 630, day=DAY + datetime.timedelta(days=1))
    assert rules_evaluate(as_of=DAY + datetime.timedelta(days=1), only=["below_minimum"]) == {"below_minimum": 1}
    assert Alert.objects.get().rule_version == 2


# --- parameters and versions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "params", "named"),
    [
        ("score_drop", {"points": 0}, "points"),
        ("score_drop", {"points": 2000}, "points"),
        ("score_drop", {"days": "7"}, "days"),
        ("score_drop", {"days": 2.5}, "days"),
        ("dpd_over", {"days": -1}, "days"),
        ("collateral_coverage", {"min_ratio": 11}, "min_ratio"),
        ("related_party_deterioration", {"min_ownership_pct": 101}, "min_ownership_pct"),
        ("line_expiry", {"weeks": 2}, "weeks"),
        ("score_drop", {"points": 120, "high_points": 100}, "high_points"),
    ],
)
def test_a_bad_parameter_is_refused_naming_it_and_nothing_is_saved(code, params, named):
    before = list(WarningRule.objects.values_list("pk", "is_active"))
    with pytest.raises(ValidationError) as exc:
        warning_rule_publish(code=code, severity="high", params=params, effective_from=DAY)
    messages = " ".join(exc.value.message_dict["params"])
    assert named in messages
    assert list(WarningRule.objects.values_list("pk", "is_active")) == before


def test_range_is_stated_in_the_error():
    with pytest.raises(ValidationError) as exc:
        rule_params_validate("score_drop", {"points": 0})
    assert "points must be an integer between 1 and 950 (got 0)" in exc.value.message_dict["params"][0]


def test_publishing_keeps_one_active_version_and_never_edits_the_old_one():
    v1 = WarningRule.objects.get(code="dpd_over", is_active=True)
    v2 = warning_rule_publish(code="dpd_over", severity="high", params={"days": 60}, effective_from=DAY, maker="system:test")
    v1.refresh_from_db()
    assert (v1.is_active, v1.params, v1.severity) == (False, {"days": 30, "high_days": 90}, "medium")
    assert (v2.version, v2.is_active, v2.params, v2.maker, v2.status) == (2, True, {"days": 60, "high_days": 90}, "system:test", "published")
    assert WarningRule.objects.filter(code="dpd_over", is_active=True).count() == 1


def test_a_new_version_cannot_take_effect_before_the_active_one():
    warning_rule_publish(code="line_expiry", severity="low", params={"days": 10}, effective_from=DAY)
    with pytest.raises(ValidationError) as exc:
        warning_rule_publish(code="line_expiry", severity="low", params={"days": 20}, effective_from=BEFORE)
    assert "effective_from" in exc.value.message_dict


def test_the_database_refuses_two_active_versions_of_a_rule():
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        WarningRule.objects.create(code="dpd_over", version=9, is_active=True, severity="low", params={}, effective_from=DAY)


def test_the_database_refuses_a_second_open_alert_for_a_subject_and_rule():
    from django.db import IntegrityError, transaction

    fields = dict(subject_kind="company", subject_id=1, rule="score_drop", severity="high", first_seen_on=DAY, last_seen_on=DAY)
    Alert.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(**fields, status="acknowledged")
