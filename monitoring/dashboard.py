"""The reads behind the portfolio dashboard (the admin's home page).

Each function is one bounded aggregate query (or two), whatever the size of the book: no
per-row work in Python beyond the handful of groups a query returns.  Today they read live
aggregates; when the nightly ``PortfolioSnapshot`` rows exist, ``portfolio_source()`` is the
one place that switches the figures to them.  The trends (exposure, loans outstanding,
M1+/M3+, the five categories over time) are read from the nightly ``PortfolioSnapshot`` series
in one query of the last ``TREND_NIGHTS`` nights.  Alerts are read through ``alert_model()``
alone, so renaming the model changes one line.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loans.choices import Bucket, Classification, CreditLineStatus, LoanStatus
from loans.models import CreditLine, Loan
from loans.money import money
from scoring.models import LatestScore, ScoreModel, Tier

from .models import (
    ActionStatus,
    AlertStatus,
    CaseStatus,
    CommitteeCase,
    PortfolioSnapshot,
    PostLoanAction,
    ScoringRun,
    Severity,
)

ZERO = Decimal("0.00")
TREND_NIGHTS = 90  # how many nightly snapshots the trend charts read (one bounded query)
DEFAULT_BIN_WIDTH = 50
MAX_SCORE = 950


def alert_model():
    """The model of alerts (one line to change when it is renamed)."""
    from .models import Alert

    return Alert


@dataclass(frozen=True)
class LoanBook:
    loans: int
    outstanding: Decimal
    m1_plus: Decimal  # outstanding principal of loans 1+ days past due
    m3_plus: Decimal  # ... over 90 days past due
    by_classification: dict[str, Decimal]
    by_bucket: dict[str, Decimal]

    @property
    def m1_plus_ratio(self) -> Decimal | None:
        return None if not self.outstanding else self.m1_plus / self.outstanding

    @property
    def m3_plus_ratio(self) -> Decimal | None:
        return None if not self.outstanding else self.m3_plus / self.outstanding

    @property
    def npl_ratio(self) -> Decimal | None:
        if not self.outstanding:
            return None
        npl = sum(self.by_classification.get(c, ZERO) for c in (Classification.SUBSTANDARD, Classification.DOUBTFUL, Classification.LOSS))
        return npl / self.outstanding


def loan_book() -> LoanBook:
    """Active loans: count, outstanding, delinquency and the five categories (one grouped query)."""
    rows = (
        Loan.objects.filter(status=LoanStatus.ACTIVE)
        .values("bucket", "classification")
        .annotate(n=Count("id"), outstanding=Sum("outstanding_principal"))
        .order_by()
    )
    loans, outstanding = 0, ZERO
    by_class = {c: ZERO for c in Classification.values}
    by_bucket = {b: ZERO for b in Bucket.values}
    for row in rows:
        amount = money(row["outstanding"] or ZERO)
        loans += row["n"]
        outstanding += amount
        by_class[row["classification"]] = by_class.get(row["classification"], ZERO) + amount
        by_bucket[row["bucket"]] = by_bucket.get(row["bucket"], ZERO) + amount
    m1_plus = sum((v for b, v in by_bucket.items() if b != Bucket.CURRENT), ZERO)
    return LoanBook(
        loans=loans, outstanding=outstanding, m1_plus=m1_plus, m3_plus=by_bucket[Bucket.M3_PLUS],
        by_classification=by_class, by_bucket=by_bucket,
    )


@dataclass(frozen=True)
class Exposure:
    lines: int
    limits: Decimal
    drawn: Decimal
    frozen_lines: int


def exposure() -> Exposure:
    """Open credit lines (active and frozen): their number, limits and drawn principal."""
    agg = CreditLine.objects.filter(status__in=[CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN]).aggregate(
        lines=Count("id"), limits=Sum("limit_amount"), drawn=Sum("drawn_principal"),
        frozen=Count("id", filter=Q(status=CreditLineStatus.FROZEN)),
    )
    return Exposure(
        lines=agg["lines"], limits=money(agg["limits"] or ZERO), drawn=money(agg["drawn"] or ZERO), frozen_lines=agg["frozen"],
    )


def latest_company_scores(*, width: int = DEFAULT_BIN_WIDTH) -> list[tuple[str, int, int]]:
    """[(tier, score bin, companies)] of the companies' latest scores: one scan of the latest
    pointers serves both the tier mix and the score distribution."""
    return list(
        LatestScore.objects.filter(subject_kind="company")
        .annotate(bin=F("score") / width).values_list("tier", "bin").annotate(n=Count("id")).order_by()
    )


def tier_mix(groups=None) -> dict[str, int]:
    """Companies per tier of their latest score."""
    counts = dict.fromkeys(Tier.values, 0)
    for tier, _bin, n in latest_company_scores() if groups is None else groups:
        counts[tier] = counts.get(tier, 0) + n
    return counts


@dataclass(frozen=True)
class Distribution:
    bin_width: int
    edges: list[int]
    shares: list[float]  # percent of companies in each bin, live
    reference: list[float] | None  # percent in each bin, the champion's reference
    n: int
    model_version: int | None


def _rebin(reference: dict, width: int, edges: list[int]) -> list[float] | None:
    """The reference histogram (any width that divides ``width``) as percentages per ``edges``."""
    ref_edges, ref_counts = reference.get("edges"), reference.get("counts")
    if not ref_edges or not ref_counts or not sum(ref_counts):
        return None
    sums = [0] * len(edges)
    for edge, count in zip(ref_edges, ref_counts, strict=False):
        sums[min(int(edge) // width, len(edges) - 1)] += count
    total = sum(sums)
    return [round(100 * s / total, 2) for s in sums]


def score_distribution(groups=None, *, width: int = DEFAULT_BIN_WIDTH) -> Distribution:
    """Companies' latest scores in bins, beside the champion company model's reference."""
    edges = list(range(0, MAX_SCORE + 1, width))
    counts = [0] * len(edges)
    for _tier, b, n in latest_company_scores(width=width) if groups is None else groups:
        counts[min(int(b), len(edges) - 1)] += n
    total = sum(counts)
    shares = [round(100 * c / total, 2) if total else 0.0 for c in counts]
    champion = (
        ScoreModel.objects.filter(subject_kind="company", status="champion")
        .values_list("version", "reference_distribution").first()
    )
    version, reference = champion if champion else (None, {})
    return Distribution(
        bin_width=width, edges=edges, shares=shares, reference=_rebin(reference or {}, width, edges),
        n=total, model_version=version,
    )


def alerts_by_rule(*, statuses=(AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)) -> dict[str, dict[str, int]]:
    """{rule: {severity: count}} of the alerts still to be dealt with."""
    found: dict[str, dict[str, int]] = {}
    rows = (
        alert_model().objects.filter(status__in=list(statuses))
        .values_list("rule", "severity").annotate(n=Count("id")).order_by("rule", "severity")
    )
    for rule, severity, n in rows:
        found.setdefault(rule, {s: 0 for s in Severity.values})[severity] = n
    return found


@dataclass(frozen=True)
class NightlyRun:
    as_of: datetime.date
    status: str
    status_label: str
    phase: str
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    seconds: float | None
    subjects: int
    per_second: float | None
    counts: dict = field(default_factory=dict)


def last_nightly_run() -> NightlyRun | None:
    run = ScoringRun.objects.order_by("-as_of").only(
        "as_of", "status", "phase", "started_at", "finished_at", "counts"
    ).first()
    if run is None:
        return None
    counts = run.counts or {}
    subjects = int(counts.get("persons", 0) or 0) + int(counts.get("companies", 0) or 0)
    seconds = run.seconds
    return NightlyRun(
        as_of=run.as_of, status=run.status, status_label=run.get_status_display(), phase=run.phase,
        started_at=run.started_at, finished_at=run.finished_at, seconds=seconds, subjects=subjects,
        per_second=(subjects / seconds) if seconds and subjects else None, counts=counts,
    )


@dataclass(frozen=True)
class Trend:
    """The book night by night, oldest first, from the nightly snapshots."""

    dates: list[datetime.date]
    limits: list[Decimal]
    drawn: list[Decimal]
    outstanding: list[Decimal]
    loans: list[int]
    m1_plus: list[Decimal]  # share of outstanding principal 1+ days past due (0..1)
    m3_plus: list[Decimal]  # ... over 90 days past due
    npl: list[Decimal]
    five_category: dict[str, list[Decimal]]  # {category: [share of outstanding]}

    def __len__(self) -> int:
        return len(self.dates)

    @property
    def first(self) -> datetime.date | None:
        return self.dates[0] if self.dates else None

    @property
    def last(self) -> datetime.date | None:
        return self.dates[-1] if self.dates else None


def _share(table: dict | None, key: str) -> Decimal:
    row = (table or {}).get(key) or {}
    try:
        return Decimal(str(row.get("share") or 0))
    except ArithmeticError:
        return Decimal(0)


def portfolio_trend(nights: int = TREND_NIGHTS) -> Trend:
    """The last ``nights`` nightly snapshots (one query; only the headline columns and the two
    small tables the charts draw are read, not the vintages or the migration matrix)."""
    rows = list(
        PortfolioSnapshot.objects.order_by("-as_of").values(
            "as_of", "lines_limit", "lines_drawn", "loans_outstanding_principal", "loans_count", "npl_ratio",
            five=F("tables__five_category"), buckets=F("tables__dpd_buckets"),
        )[:nights]
    )
    rows.reverse()
    late = [b for b in Bucket.values if b != Bucket.CURRENT]
    return Trend(
        dates=[r["as_of"] for r in rows],
        limits=[money(r["lines_limit"]) for r in rows],
        drawn=[money(r["lines_drawn"]) for r in rows],
        outstanding=[money(r["loans_outstanding_principal"]) for r in rows],
        loans=[r["loans_count"] for r in rows],
        m1_plus=[sum((_share(r["buckets"], b) for b in late), Decimal(0)) for r in rows],
        m3_plus=[_share(r["buckets"], Bucket.M3_PLUS) for r in rows],
        npl=[Decimal(r["npl_ratio"]) for r in rows],
        five_category={c: [_share(r["five"], c) for r in rows] for c in Classification.values},
    )


@dataclass(frozen=True)
class Waiting:
    """Work waiting for someone: post-loan actions to approve, committee cases to decide."""

    actions_proposed: int
    actions_pending_committee: int
    cases_open: int
    cases_overdue: int


def waiting(now: datetime.datetime | None = None) -> Waiting:
    """Two counts queries on small indexed tables (actions by status, open cases by due date)."""
    now = now or timezone.now()
    actions = PostLoanAction.objects.filter(
        status__in=[ActionStatus.PROPOSED, ActionStatus.PENDING_COMMITTEE]
    ).aggregate(
        proposed=Count("id", filter=Q(status=ActionStatus.PROPOSED)),
        committee=Count("id", filter=Q(status=ActionStatus.PENDING_COMMITTEE)),
    )
    cases = CommitteeCase.objects.filter(status=CaseStatus.OPEN).aggregate(
        open=Count("id"), overdue=Count("id", filter=Q(due_at__lt=now)),
    )
    return Waiting(
        actions_proposed=actions["proposed"], actions_pending_committee=actions["committee"],
        cases_open=cases["open"], cases_overdue=cases["overdue"],
    )


def portfolio_source() -> str:
    """Where the figures come from: "live" aggregates until nightly snapshots are kept."""
    return "live"


def dashboard() -> dict:
    """Everything the home page shows (nine queries, whatever the size of the book)."""
    book = loan_book()
    groups = latest_company_scores()
    return {
        "trend": portfolio_trend(),
        "waiting": waiting(),
        "source": portfolio_source(),
        "book": book,
        "exposure": exposure(),
        "tiers": tier_mix(groups),
        "distribution": score_distribution(groups),
        "alerts": alerts_by_rule(),
        "run": last_nightly_run(),
    }


def chart_data(data: dict) -> dict:
    """The charts' data, plain JSON (passed to the page with ``json_script``)."""
    from .wording import rule_label

    dist: Distribution = data["distribution"]
    book: LoanBook = data["book"]
    alerts = data["alerts"]
    trend: Trend = data["trend"]
    dates = [d.isoformat() for d in trend.dates]

    def pct(values):
        return [round(float(v) * 100, 2) for v in values]

    return {
        "exposure_trend": {
            "labels": dates,
            "series": [
                {"label": str(_("Credit limits (open lines)")), "values": [float(v) for v in trend.limits]},
                {"label": str(_("Loans outstanding")), "values": [float(v) for v in trend.outstanding]},
            ],
        },
        "delinquency_trend": {
            "labels": dates,
            "series": [
                {"label": str(_("M1+ share of outstanding (%)")), "values": pct(trend.m1_plus)},
                {"label": str(_("M3+ share of outstanding (%)")), "values": pct(trend.m3_plus)},
                {"label": str(_("NPL ratio (%)")), "values": pct(trend.npl)},
            ],
        },
        "five_category_trend": {
            "labels": dates,
            "series": [
                {"label": str(label), "values": pct(trend.five_category[c])}
                for c, label in Classification.choices
            ],
        },
        "tiers": {"labels": list(data["tiers"]), "values": list(data["tiers"].values())},
        "distribution": {
            "labels": [f"{e}–{min(e + dist.bin_width - 1, MAX_SCORE)}" for e in dist.edges],
            "live": dist.shares,
            "reference": dist.reference,
            "live_label": str(_("Companies now (%)")),
            "reference_label": str(_("Model reference (%)")),
        },
        "classification": {
            "labels": [str(label) for label in Classification.labels],
            "values": [float(book.by_classification[c]) for c in Classification.values],
        },
        "buckets": {
            "labels": [str(label) for label in Bucket.labels],
            "values": [float(book.by_bucket[b]) for b in Bucket.values],
        },
        "alerts": {
            "labels": [rule_label(r) for r in alerts],
            "series": [
                {"label": str(label), "severity": sev, "values": [alerts[r][sev] for r in alerts]}
                for sev, label in Severity.choices
            ],
        },
    }
