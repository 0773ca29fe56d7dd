"""Portfolio analytics and model monitoring against hand-computed values (SQLite and PostgreSQL)."""

import datetime
import json
import sys
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum

from loans.models import CreditLine, Installment, Loan
from monitoring.analytics import stats
from monitoring.analytics.portfolio import AnalyticsError, portfolio_snapshot_compute
from monitoring.analytics.scorecards import DRIFT_RULE, model_monitoring_run
from monitoring.models import (
    Alert,
    LoanPosition,
    ModelMonitoring,
    PortfolioSegment,
    PortfolioSnapshot,
    ScoringRun,
)
from scoring.models import CreditOutcome, Score
from tests.factories import CompanyFactory, LoanProductFactory

D1 = datetime.date(2026, 9, 30)
D2 = datetime.date(2026, 10, 31)  # a month later: roll rates compare with D1

pytestmark = pytest.mark.django_db


# --- pure calculation ---------------------------------------------------------------------------


def test_psi_of_a_small_known_pair():
    # (0.25 - 0.5) ln(0.25 / 0.5) + (0.75 - 0.5) ln(0.75 / 0.5) = 0.173287 + 0.101366
    assert stats.psi([50, 50], [25, 75]) == pytest.approx(0.274653, abs=1e-6)
    assert stats.psi([1, 2, 3], [2, 4, 6]) == pytest.approx(0.0)
    assert stats.psi_status(0.09) == "ok" and stats.psi_status(0.10) == "warn" and stats.psi_status(0.25) == "alert"


def test_psi_of_distributions_without_observations_is_refused():
    with pytest.raises(ValueError, match="no observations"):
        stats.psi([0, 0], [1, 2])


def test_auc_ks_gini_equal_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score, roc_curve

    rng = np.random.default_rng(7)
    bad = rng.random(500) < 0.2
    score = np.rint(600 - 80 * bad + rng.normal(0, 60, 500)).astype(int) // 10 * 10  # many ties
    got = stats.discrimination(bad.astype(int), -score)
    fpr, tpr, _ = roc_curve(bad, -score)
    assert got["auc"] == pytest.approx(roc_auc_score(bad, -score), abs=1e-12)
    assert got["ks"] == pytest.approx(float(np.max(tpr - fpr)), abs=1e-12)
    assert got["gini"] == pytest.approx(2 * got["auc"] - 1)
    assert stats.discrimination([0, 0, 0], [1, 2, 3])["auc"] is None  # one class: no AUC


def test_month_arithmetic():
    assert stats.add_months(datetime.date(2026, 3, 31), -1) == datetime.date(2026, 2, 28)
    assert stats.add_months(datetime.date(2026, 12, 15), 1) == datetime.date(2027, 1, 15)
    assert stats.months_between(datetime.date(2026, 1, 15), datetime.date(2026, 3, 14)) == 1
    assert stats.months_between(datetime.date(2026, 1, 15), datetime.date(2026, 3, 15)) == 2


# --- a hand-built book ---------------------------------------------------------------------------


def _model():
    from tests.scoring.helpers import champion

    return champion("company")


def _score(company, day, model, *, score, tier, pd):
    Score.objects.create(subject_kind="company", subject_id=company.pk, as_of=day, model=model,
                         model_version=model.version, score=score, pd=pd, tier=tier)


def _line(company, product, *, limit, drawn, status="active"):
    return CreditLine.objects.create(
        company=company, product=product, limit_amount=Decimal(limit), drawn_principal=Decimal(drawn),
        annual_rate=Decimal("0.08"), opened_on=datetime.date(2026, 1, 1), expires_on=datetime.date(2027, 1, 1), status=status,
    )


def _loan(line, *, principal, outstanding, bucket="current", classification="normal", dpd=0, penalty="0", disbursed=datetime.date(2026, 2, 10)):
    return Loan.objects.create(
        credit_line=line, company=line.company, principal=Decimal(principal), annual_rate=Decimal("0.08"), term_months=12,
        repayment_method="equal_installment", disbursed_on=disbursed, first_due_date=disbursed + datetime.timedelta(days=30),
        maturity_date=disbursed + datetime.timedelta(days=365), outstanding_principal=Decimal(outstanding),
        penalty_accrued=Decimal(penalty), days_past_due=dpd, bucket=bucket, classification=classification,
        serviced_on=D1, m3_plus_since=D1 - datetime.timedelta(days=dpd - 91) if dpd > 90 else None,  # as servicing sets it
    )


def _run(day):
    return ScoringRun.objects.create(as_of=day, status="succeeded", phase="done")


@pytest.fixture
def book():
    model = _model()
    product = LoanProductFactory(code="sme-term")
    a = CompanyFactory(industry="C", province="32")
    b = CompanyFactory(industry="C", province="44")
    c = CompanyFactory(industry="F", province="44")
    for company, (score, tier, pd) in ((a, (760, "A", 0.01)), (b, (680, "C", 0.05)), (c, (610, "D", 0.20))):
        _score(company, D1, model, score=score, tier=tier, pd=pd)
    la = _line(a, product, limit="500000", drawn="300000")
    lb = _line(b, product, limit="200000", drawn="150000")
    lc = _line(c, product, limit="100000", drawn="100000", status="frozen")
    loans = {
        "a1": _loan(la, principal="200000", outstanding="200000"),
        "a2": _loan(la, principal="100000", outstanding="100000", bucket="m1", classification="special_mention", dpd=12),
        "b1": _loan(lb, principal="150000", outstanding="150000", bucket="m2", classification="special_mention", dpd=40, penalty="300"),
        "c1": _loan(lc, principal="100000", outstanding="100000", bucket="m3_plus", classification="substandard", dpd=120,
                    penalty="1500", disbursed=datetime.date(2026, 3, 5)),
    }
    Installment.objects.create(loan=loans["a1"], number=1, due_date=D1 - datetime.timedelta(days=3), principal_due=Decimal("0"),
                               interest_due=Decimal("1000"), interest_paid=Decimal("400"))
    Installment.objects.create(loan=loans["a1"], number=2, due_date=D1 + datetime.timedelta(days=27), principal_due=Decimal("0"),
                               interest_due=Decimal("1000"))  # not yet due: not owed
    _run(D1)
    return {"model": model, "product": product, "companies": (a, b, c), "lines": (la, lb, lc), "loans": loans}


def test_snapshot_totals_and_five_categories_equal_direct_sums_over_loans(book):
    snap = portfolio_snapshot_compute(as_of=D1)
    active = Loan.objects.filter(status="active")
    total = active.aggregate(s=Sum("outstanding_principal"))["s"]
    assert snap.loans_count == 4 and snap.loans_outstanding_principal == total == Decimal("550000.00")
    assert snap.loans_accrued_interest == Decimal("600.00")
    assert snap.loans_penalties == Decimal("1800.00")
    for category, row in snap.tables["five_category"].items():
        direct = active.filter(classification=category).aggregate(s=Sum("outstanding_principal"))["s"] or Decimal("0")
        assert Decimal(row["principal"]) == direct, category
    npl = active.filter(classification__in=["substandard", "doubtful", "loss"]).aggregate(s=Sum("outstanding_principal"))["s"]
    assert snap.npl_principal == npl == Decimal("100000.00")
    assert snap.npl_ratio == Decimal("0.181818")  # 100000 / 550000
    assert snap.tables["dpd_buckets"]["m3_plus"]["loans"] == 1
    # lines: frozen lines count in limit and drawn, lend nothing more
    assert (snap.lines_count, snap.lines_limit, snap.lines_drawn, snap.lines_available) == (
        3, Decimal("800000.00"), Decimal("550000.00"), Decimal("250000.00"))


def test_expected_loss_by_tier_is_pd_times_exposure_times_lgd(book):
    snap = portfolio_snapshot_compute(as_of=D1)
    tiers = snap.tables["tier_mix"]
    assert Decimal(tiers["A"]["expected_loss"]) == Decimal("1350.00")  # 0.01 x 300000 x 0.45
    assert Decimal(tiers["C"]["expected_loss"]) == Decimal("3375.00")  # 0.05 x 150000 x 0.45
    assert Decimal(tiers["D"]["expected_loss"]) == Decimal("9000.00")  # 0.20 x 100000 x 0.45
    assert snap.expected_loss == Decimal("13725.00") and snap.lgd == Decimal("0.4500")
    assert Decimal(tiers["D"]["pd"]) == Decimal("0.200000")


def test_tiers_read_through_the_latest_score_pointer_with_a_fallback_to_the_date(book):
    from scoring.models import LatestScore

    # given: a rescored a second time on D1 (revision 2, tier B), its pointer on that score;
    # b's pointer on its D1 score; c scored since (its pointer on a later day, tier E)
    a, b, c = book["companies"]
    model = book["model"]
    rescore = Score.objects.create(subject_kind="company", subject_id=a.pk, as_of=D1, model=model, model_version=model.version,
                                   revision=2, score=720, pd=0.03, tier="B")
    later = Score.objects.create(subject_kind="company", subject_id=c.pk, as_of=D2, model=model, model_version=model.version,
                                 score=560, pd=0.4, tier="E")
    b_score = Score.objects.get(subject_id=b.pk, as_of=D1)
    for company, score in ((a, rescore), (b, b_score), (c, later)):
        LatestScore.objects.create(subject_kind="company", subject_id=company.pk, score_id=score.pk, as_of=score.as_of,
                                   data_as_of=score.as_of, scored_through=score.as_of, score=score.score, tier=score.tier)
    # when
    snap = portfolio_snapshot_compute(as_of=D1)
    # then: one position per loan, a at its latest revision, c at its score of D1 (not E)
    assert LoanPosition.objects.filter(snapshot=snap).count() == 4
    tiers = snap.tables["tier_mix"]
    assert set(tiers) == {"B", "C", "D"}
    assert tiers["B"]["loans"] == 2 and Decimal(tiers["B"]["expected_loss"]) == Decimal("4050.00")  # 0.03 x 300000 x 0.45
    assert Decimal(tiers["D"]["expected_loss"]) == Decimal("9000.00")
    lines = {s.key: s.lines_count for s in PortfolioSegment.objects.filter(snapshot=snap, dimension="tier")}
    assert lines == {"B": 1, "C": 1, "D": 1}


def test_segments_and_concentration(book):
    snap = portfolio_snapshot_compute(as_of=D1)
    industry = {s.key: s for s in PortfolioSegment.objects.filter(snapshot=snap, dimension="industry")}
    assert industry["C"].outstanding_principal == Decimal("450000.00") and industry["C"].lines_limit == Decimal("700000.00")
    assert industry["F"].outstanding_principal == Decimal("100000.00") and industry["F"].lines_available == Decimal("0.00")
    # HHI: (450/550)^2 + (100/550)^2
    assert snap.industry_hhi == Decimal(str(round((450 / 550) ** 2 + (100 / 550) ** 2, 6)))
    assert snap.top10_group_share == Decimal("1.000000")  # three borrowers, all in the top ten
    province = {s.key: s.loans_count for s in PortfolioSegment.objects.filter(snapshot=snap, dimension="province")}
    assert province == {"32": 2, "44": 2}


def test_rerunning_a_date_replaces_the_snapshot_and_duplicates_nothing(book):
    first = portfolio_snapshot_compute(as_of=D1)
    counts = (PortfolioSegment.objects.count(), LoanPosition.objects.count())
    Loan.objects.filter(pk=book["loans"]["a1"].pk).update(outstanding_principal=Decimal("150000"))
    again = portfolio_snapshot_compute(as_of=D1)
    assert PortfolioSnapshot.objects.filter(as_of=D1).count() == 1
    assert (PortfolioSegment.objects.count(), LoanPosition.objects.count()) == counts
    assert again.loans_outstanding_principal == first.loans_outstanding_principal - 50000


def test_migration_matrix_and_roll_rates_from_loans_moved_by_hand(book):
    # given: the snapshot of D1, then a month of life moved by hand
    portfolio_snapshot_compute(as_of=D1)
    a, b, c = book["companies"]
    model, loans = book["model"], book["loans"]
    _score(a, D2, model, score=705, tier="B", pd=0.02)  # A -> B
    _score(b, D2, model, score=690, tier="C", pd=0.05)  # C stays
    _score(c, D2, model, score=610, tier="D", pd=0.20)
    Loan.objects.filter(pk=loans["a1"].pk).update(bucket="m1", days_past_due=5)  # current -> m1
    Loan.objects.filter(pk=loans["a2"].pk).update(status="repaid", outstanding_principal=0, bucket="current")  # m1 -> repaid
    Loan.objects.filter(pk=loans["b1"].pk).update(bucket="m3", days_past_due=70)  # m2 -> m3
    Loan.objects.filter(pk=loans["c1"].pk).update(status="written_off")  # m3+ -> written off
    new = _loan(book["lines"][1], principal="50000", outstanding="50000", disbursed=datetime.date(2026, 10, 20))
    _run(D2)
    # when
    snap = portfolio_snapshot_compute(as_of=D2)
    # then
    assert snap.previous_as_of == D1 and snap.roll_from_as_of == D1
    assert snap.tables["migration_matrix"] == {
        "A": {"B": 1, "closed": 1}, "C": {"C": 1}, "D": {"closed": 1}, "new": {"C": 1},
    }
    rolls = snap.tables["roll_rates"]
    assert rolls["matrix"] == {
        "current": {"m1": "1.000000"}, "m1": {"repaid": "1.000000"}, "m2": {"m3": "1.000000"},
        "m3_plus": {"written_off": "1.000000"},
    }
    assert rolls["forward"] == {"current->m1": "1.000000", "m1->m2": "0.000000", "m2->m3": "1.000000"}
    assert LoanPosition.objects.filter(snapshot=snap, loan_id=new.pk).exists()


def test_vintage_curve_counts_loans_from_the_month_they_crossed_90_days(book):
    snap = portfolio_snapshot_compute(as_of=D1)
    curves = {v["cohort"]: v for v in snap.tables["vintage_curves"]}
    # the March loan is 120 DPD on D1 (2026-09-30): it passed 90 days on 2026-09-01, at 5 months on book
    march = curves["2026-03"]["m3_plus_share"]
    assert march[:5] == ["0.000000"] * 5 and march[5:] == ["1.000000"] * (len(march) - 5)
    assert set(curves["2026-02"]["m3_plus_share"]) == {"0.000000"}


def test_vintage_curve_counts_a_loan_that_went_m3_plus_and_cured(book):
    from loans.services.servicing import loans_service_daily

    # given: a February loan whose first installment (due 2026-03-12) went unpaid ...
    loan = _loan(book["lines"][0], principal="100000", outstanding="100000", disbursed=datetime.date(2026, 2, 10))
    Loan.objects.filter(pk=loan.pk).update(serviced_on=None)
    inst = Installment.objects.create(loan=loan, number=1, due_date=datetime.date(2026, 3, 12), principal_due=Decimal("0"),
                                      interest_due=Decimal("700"))
    loans_service_daily(as_of=datetime.date(2026, 6, 20))  # 100 DPD: past 90 days since 2026-06-11, at 4 months on book
    loan.refresh_from_db()
    assert loan.bucket == "m3_plus" and loan.m3_plus_since == datetime.date(2026, 6, 11)
    # ... then paid: the loan is current again on D1
    Installment.objects.filter(pk=inst.pk).update(interest_paid=Decimal("700"), paid_on=datetime.date(2026, 7, 1))
    loans_service_daily(as_of=D1)
    loan.refresh_from_db()
    assert (loan.bucket, loan.days_past_due, loan.m3_plus_since) == ("current", 0, datetime.date(2026, 6, 11))
    # when
    snap = portfolio_snapshot_compute(as_of=D1)
    # then: the February cohort (200000 + 100000 + 150000 + 100000 booked) shows the cured loan from month 4 on
    february = {v["cohort"]: v for v in snap.tables["vintage_curves"]}["2026-02"]
    assert february["principal"] == "550000.00"
    assert february["m3_plus_share"][:4] == ["0.000000"] * 4
    assert set(february["m3_plus_share"][4:]) == {"0.181818"}  # 100000 / 550000
    assert snap.tables["dpd_buckets"]["m3_plus"]["loans"] == 1  # only c1 is M3+ today


def test_snapshot_counts_alerts_and_actions_by_rule_and_status(book, capsys):
    import zoneinfo

    from monitoring.models import PostLoanAction

    # given: a DPD alert answered by a system freeze (executed) and a proposed cut, a manual
    # recall, and an action proposed after the date (not counted)
    a, b, _c = book["companies"]
    _la, lb, _lc = book["lines"]
    at = datetime.datetime(2026, 9, 30, 12, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    alert = Alert.objects.create(subject_kind="company", subject_id=b.pk, company=b, rule="dpd", severity="high",
                                 first_seen_on=D1, last_seen_on=D1)
    Alert.objects.create(subject_kind="company", subject_id=a.pk, company=a, rule="score_drop", severity="medium",
                         first_seen_on=D1, last_seen_on=D1, status="resolved", closed_at=at, close_reason="paid")
    made = [
        PostLoanAction.objects.create(kind="freeze_line", status="executed", company=b, credit_line=lb, alert=alert, executed_at=at),
        PostLoanAction.objects.create(kind="reduce_limit", status="proposed", company=b, credit_line=lb, alert=alert,
                                      proposed_by=_staff_user("officer")),
        PostLoanAction.objects.create(kind="recall", status="proposed", company=a, loan=book["loans"]["a1"],
                                      proposed_by=_staff_user("officer2")),
    ]
    PostLoanAction.objects.filter(pk__in=[m.pk for m in made]).update(proposed_at=at)
    PostLoanAction.objects.create(kind="recall", status="proposed", company=a, loan=book["loans"]["a2"])  # proposed now
    # when
    snap = portfolio_snapshot_compute(as_of=D1)
    # then
    assert snap.tables["alerts"]["by_rule_and_status"] == {"dpd": {"open": 1}, "score_drop": {"resolved": 1}}
    assert snap.tables["actions"]["by_rule_and_status"] == {"dpd": {"executed": 1, "proposed": 1}, "manual": {"proposed": 1}}
    assert snap.tables["actions"]["by_kind_and_status"] == {
        "freeze_line": {"executed": 1}, "recall": {"proposed": 1}, "reduce_limit": {"proposed": 1}}
    call_command("portfolio_report", as_of=D1.isoformat())
    out = capsys.readouterr().out
    assert "Post-loan actions by rule and status:" in out and "executed:1  proposed:1" in out
    call_command("portfolio_report", as_of=D1.isoformat(), json=True)
    assert json.loads(capsys.readouterr().out)["actions"]["by_rule_and_status"]["manual"] == {"proposed": 1}


def _staff_user(name):
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user(name, password="x", is_staff=True)


def test_a_date_without_a_nightly_run_is_refused_and_writes_nothing(book, capsys):
    with pytest.raises(AnalyticsError, match="no nightly run for 2026-10-31"):
        portfolio_snapshot_compute(as_of=D2)
    with pytest.raises(CommandError, match="no nightly run for 2026-10-31"):
        call_command("portfolio_report", as_of="2026-10-31")
    with pytest.raises(CommandError, match="not a date"):
        call_command("portfolio_report", as_of="31/10/2026")
    assert not PortfolioSnapshot.objects.exists() and not LoanPosition.objects.exists()


def test_portfolio_report_computes_a_missing_snapshot_and_prints_json(book, capsys):
    call_command("portfolio_report", as_of=D1.isoformat(), json=True)
    data = json.loads(capsys.readouterr().out)
    assert {"loans_outstanding_principal", "npl_ratio", "five_category", "tier_mix", "migration_matrix", "roll_rates", "psi"} <= set(data)
    assert data["loans_outstanding_principal"] == "550000.00" and data["npl_ratio"] == "0.181818"
    assert PortfolioSnapshot.objects.count() == 1
    call_command("portfolio_report", as_of=D1.isoformat())
    out = capsys.readouterr().out
    assert "NPL ratio: 0.181818" in out and "computed now" not in out
    assert PortfolioSnapshot.objects.count() == 1


# --- model monitoring ------------------------------------------------------------------------------


def test_a_model_without_reference_is_reported_not_crashed(book):
    model_monitoring_run(as_of=D1)
    row = ModelMonitoring.objects.get(model=book["model"], as_of=D1)
    assert row.psi is None and row.psi_status == "no_reference"
    assert any("no reference score distribution" in m for m in row.messages)
    assert any("no realised outcomes" in m for m in row.messages)
    assert not Alert.objects.filter(rule=DRIFT_RULE).exists()


def test_score_psi_against_the_reference_and_a_drift_alert(book):
    model = book["model"]
    edges = list(range(0, 960, 20))
    reference = [0] * len(edges)
    reference[38] = 2  # 760..779
    reference[34] = 1  # 680..699
    reference[30] = 1  # 600..619
    model.reference_distribution = {"bin_width": 20, "edges": edges, "counts": reference, "n": 4}
    model.save(update_fields=["reference_distribution"])
    model_monitoring_run(as_of=D1)
    row = ModelMonitoring.objects.get(model=model, as_of=D1)
    # the date: one score each in bins 38, 34, 30 -> shares 1/3 against 1/2, 1/4, 1/4
    expected = (1 / 3 - 1 / 2) * np.log((1 / 3) / (1 / 2)) + 2 * (1 / 3 - 1 / 4) * np.log((1 / 3) / (1 / 4))
    assert row.psi == pytest.approx(expected, abs=1e-6) == pytest.approx(0.115525, abs=1e-6)
    assert row.psi_status == "warn"  # 0.10 <= PSI < 0.25
    assert row.score_distribution["counts"][38] == 1 and row.n_scored == 3
    assert Alert.objects.get(rule=DRIFT_RULE, subject_id=model.pk).severity == "medium"
    # a population that moved: every score now falls in the lowest bin
    Score.objects.filter(as_of=D1).update(score=5)
    model_monitoring_run(as_of=D1)
    row = ModelMonitoring.objects.get(model=model, as_of=D1)
    assert row.psi_status == "alert"
    alert = Alert.objects.get(rule=DRIFT_RULE, subject_kind="system", subject_id=model.pk, first_seen_on=D1)
    assert alert.severity == "high" and "PSI" in alert.detail
    assert ModelMonitoring.objects.filter(model=model).count() == 1  # a rerun replaces its row


def test_backtest_auc_equals_scikit_learn_on_the_same_pairs(db, monkeypatch):
    from sklearn.metrics import roc_auc_score

    from scoring import scorer
    from tests.factories import PersonFactory
    from tests.scoring.helpers import champion, snapshot

    model = champion("person")
    rng = np.random.default_rng(3)
    observed = datetime.date(2026, 1, 31)
    pairs = []
    for i in range(60):
        person = PersonFactory()
        features = {
            "ontime_ratio_24m": float(rng.uniform(0.4, 1.0)), "debt_to_income": float(rng.uniform(0, 1.2)),
            "verification_level": int(rng.integers(0, 4)), "connections_with_defaults": int(rng.integers(0, 4)),
        }
        snapshot("person", person.pk, features, as_of=observed - datetime.timedelta(days=10))
        bad = bool(i % 4 == 0) if i < 40 else bool(features["debt_to_income"] > 0.8)
        CreditOutcome.objects.create(subject_kind="person", subject_id=person.pk, observed_at=observed, defaulted_12m=bad)
        pairs.append((features, bad))
    compiled = scorer.compile_scorecard(model.scorecard)
    cols = {n: np.array([f.get(n, np.nan) for f, _ in pairs], dtype=float) for n in compiled.names}
    scores = scorer.score_batch(compiled, cols).score
    y = np.array([b for _, b in pairs], dtype=int)
    # when: on the runtime requirements alone (no pandas in the worker)
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "pandas", None)
        model_monitoring_run(as_of=datetime.date(2026, 11, 1))
    # then
    row = ModelMonitoring.objects.get(model=model)
    month = row.backtest[0]
    assert month["month"] == "2026-01" and month["n"] == 60 and month["bads"] == int(y.sum())
    assert month["auc"] == pytest.approx(roc_auc_score(y, -scores), abs=1e-12)
    assert row.auc == month["auc"] and row.gini == pytest.approx(2 * month["auc"] - 1)
    assert sum(t["n"] for t in row.calibration) == 60
    assert all(0 <= t["bad_rate"] <= 1 and 0 < t["pd"] < 1 for t in row.calibration)


# --- admin ------------------------------------------------------------------------------------------


def _staff(django_user_model, name, perms):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user(name, password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=perms))
    return django_user_model.objects.get(pk=user.pk)


def test_admin_exports_snapshots_as_csv_only_with_the_permission(book, client, django_user_model):
    from django.urls import reverse

    snap = portfolio_snapshot_compute(as_of=D1)
    url = reverse("admin:monitoring_portfoliosnapshot_changelist")
    post = {"action": "export_csv", "_selected_action": [snap.pk]}
    # a viewer sees the snapshot but may not export it
    client.force_login(_staff(django_user_model, "viewer", ["view_portfoliosnapshot"]))
    assert client.get(reverse("admin:monitoring_portfoliosnapshot_change", args=[snap.pk])).status_code == 200
    refused = client.post(url, post)
    assert refused.get("Content-Type", "").startswith("text/html")
    # the exporter gets the CSV: headline figures, then segments
    client.force_login(_staff(django_user_model, "exporter", ["view_portfoliosnapshot", "export_portfolio_snapshot"]))
    response = client.post(url, post)
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert "2026-09-30,4,550000.00" in text and "0.181818" in text
    assert "2026-09-30,industry,C,3,450000.00" in text


def test_a_challenger_is_scored_in_shadow_beside_the_champion(db, monkeypatch):
    from scoring import scorer
    from scoring import services as scoring_services
    from scoring.models import ModelStatus
    from tests.factories import PersonFactory
    from tests.scoring.helpers import champion, person_scorecard, snapshot

    # given: a champion and a challenger that weighs debt more, and six people
    champ = champion("person")
    card = person_scorecard()
    card["characteristics"][1]["points"] = [200.0, 60.0, 0.0]  # debt_to_income
    challenger = scoring_services.score_model_set_status(
        model=scoring_services.score_model_create(subject_kind="person", scorecard=card, metrics={},
                                                  reference_distribution={}, trained_on={}),
        status=ModelStatus.CHALLENGER,
    )
    rows = [(0.99, 0.1, 3, 0), (0.99, 0.7, 3, 0), (0.9, 0.2, 2, 1), (0.5, 0.9, 0, 4), (0.85, 0.65, 1, 0), (0.97, 0.25, 2, 0)]
    names = ("ontime_ratio_24m", "debt_to_income", "verification_level", "connections_with_defaults")
    for values in rows:
        snapshot("person", PersonFactory().pk, dict(zip(names, values, strict=True)), as_of=D1)
    # when: on the runtime requirements alone (no pandas in the worker)
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "pandas", None)
        model_monitoring_run(as_of=D1)
    # then: the swap set is what the two scorecards give on the same data at the cut-off (600)
    cols = {n: np.array([r[i] for r in rows], dtype=float) for i, n in enumerate(names)}
    a = scorer.score_batch(scorer.compile_scorecard(champ.scorecard), cols).score >= 600
    b = scorer.score_batch(scorer.compile_scorecard(card), cols).score >= 600
    shadow = ModelMonitoring.objects.get(model=challenger, as_of=D1).shadow
    assert shadow["sample"] == 6 and shadow["cutoff"] == 600
    assert (shadow["swap_in"], shadow["swap_out"]) == (int((~a & b).sum()), int((a & ~b).sum()))
    assert shadow["both_approve"] + shadow["both_decline"] + shadow["swap_in"] + shadow["swap_out"] == 6
    assert shadow["swap_out"] > 0  # the heavier debt weight declines someone the champion approves
    assert ModelMonitoring.objects.get(model=champ, as_of=D1).shadow == {}


def test_promotion_is_maker_checker(db, django_user_model):
    from loans.errors import DomainError, InvalidTransition
    from monitoring.analytics.promotion import model_promotion_decide, model_promotion_propose
    from monitoring.models import ModelPromotion
    from scoring import services as scoring_services
    from scoring.models import ModelStatus, ScoreModel
    from tests.scoring.helpers import champion, person_scorecard

    old = champion("person")
    challenger = scoring_services.score_model_set_status(
        model=scoring_services.score_model_create(subject_kind="person", scorecard=person_scorecard(), metrics={},
                                                  reference_distribution={}, trained_on={}),
        status=ModelStatus.CHALLENGER,
    )
    maker = django_user_model.objects.create_user("maker", password="x")
    checker = django_user_model.objects.create_user("checker", password="x")
    with pytest.raises(InvalidTransition, match="Only a challenger"):
        model_promotion_propose(model_id=old.pk, actor=maker)
    proposal = model_promotion_propose(model_id=challenger.pk, actor=maker, note="better AUC")
    with pytest.raises(InvalidTransition, match="already has a pending"):
        model_promotion_propose(model_id=challenger.pk, actor=checker)
    # the maker may not approve their own proposal
    with pytest.raises(DomainError, match="maker-checker"):
        model_promotion_decide(promotion_id=proposal.pk, actor=maker, approve=True)
    assert ScoreModel.objects.get(pk=challenger.pk).status == ModelStatus.CHALLENGER
    # the checker approves: the challenger is champion, the old champion retired
    model_promotion_decide(promotion_id=proposal.pk, actor=checker, approve=True)
    assert ScoreModel.objects.get(pk=challenger.pk).status == ModelStatus.CHAMPION
    assert ScoreModel.objects.get(pk=old.pk).status == ModelStatus.RETIRED
    proposal = ModelPromotion.objects.get(pk=proposal.pk)
    assert (proposal.status, proposal.decided_by, proposal.proposed_by) == ("approved", checker, maker)
    with pytest.raises(InvalidTransition, match="already approved"):
        model_promotion_decide(promotion_id=proposal.pk, actor=checker, approve=False)
