"""The portfolio snapshot of a date, set-based.

One INSERT ... SELECT writes each active loan's position (tier and PD of the company's score on
the date, bucket, category, outstanding, accrued interest, penalties, expected loss, borrower
group, product, partner, industry, province); every table of the snapshot is then a GROUP BY
over those positions (or over the credit lines), never a loop over loans.  The positions stay
for the next night's tier migration and next month's roll rates (month-ends are kept, other
days for ``POSITIONS_KEPT_DAYS``).

A rerun of a date replaces its snapshot, segments and positions in one transaction.
"""

from __future__ import annotations

import datetime
import time
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from loans.choices import Bucket, Classification, CreditLineStatus, LoanStatus
from loans.money import money as to_money

from ..models import (
    LoanPosition,
    Phase,
    PortfolioSegment,
    PortfolioSnapshot,
    ScoringRun,
    SegmentDimension,
)
from . import stats
from .alerts import actions_by_rule_and_status, alerts_by_rule_and_status

POSITIONS_KEPT_DAYS = 40
NPL_CATEGORIES = (Classification.SUBSTANDARD, Classification.DOUBTFUL, Classification.LOSS)
VINTAGE_MONTHS = 36  # cohorts booked in the last three years
UNSCORED = "unscored"


class AnalyticsError(Exception):
    """Analytics cannot be computed for the date; the message says what is missing."""


def money(value) -> Decimal:
    """An aggregate as money.  SQLite sums decimal columns in binary floating point, so a raw
    aggregate may come back a float there: it is read through its shortest repr and rounded to
    the cent (PostgreSQL returns exact numerics)."""
    if value is None:
        value = 0
    elif isinstance(value, float):
        value = Decimal(repr(value))
    return to_money(value)


def _ratio(num, den, places: str = "0.000001") -> Decimal:
    return Decimal(str(stats.safe_ratio(num, den))).quantize(Decimal(places))


def company_model_id(as_of: datetime.date) -> int | None:
    """The company model whose scores of the date set tiers and PDs: the champion when it
    scored the date, else whichever model did (a back-dated snapshot after a promotion)."""
    from scoring.models import ModelStatus, Score, ScoreModel

    champion = ScoreModel.objects.filter(subject_kind="company", status=ModelStatus.CHAMPION).values_list("id", flat=True).first()
    if champion and Score.objects.filter(as_of=as_of, subject_kind="company", model_id=champion).exists():
        return champion
    return Score.objects.filter(as_of=as_of, subject_kind="company").values_list("model_id", flat=True).first()


def active_lgd() -> Decimal:
    from loans.models import CreditPolicy

    lgd = CreditPolicy.objects.filter(is_active=True).values_list("lgd", flat=True).first()
    return Decimal("0.45") if lgd is None else Decimal(lgd)


def run_ready(as_of: datetime.date) -> ScoringRun:
    """The nightly run of the date, once it has serviced the book; AnalyticsError otherwise."""
    run = ScoringRun.objects.filter(as_of=as_of).first()
    if run is None:
        raise AnalyticsError(_("no nightly run for %(d)s: run `rescore --as-of %(d)s` first") % {"d": as_of})
    if run.phase not in (Phase.ANALYTICS, Phase.DONE):
        raise AnalyticsError(
            _("the nightly run for %(d)s has not serviced the book yet (status %(s)s, phase %(p)s)")
            % {"d": as_of, "s": run.status, "p": run.phase}
        )
    return run


# --- positions --------------------------------------------------------------------------------


def _company_score_sql(*, subject: str, as_of_param: str = "%s") -> tuple[str, str, str]:
    """(join, tier, pd) SQL of the company's score on the date, read through the company's
    latest-score pointer: the night just moved every pointer to the night's score, so one
    probe of the narrow pointer table and one of the score's primary key replace a join to
    the whole day's score table.  A company whose pointer is not on the date (a back-dated
    snapshot, a score written since by day) falls back to its score of the date, by a probe
    of the scores' unique index (COALESCE evaluates it only when the pointer did not answer).
    Parameters, in order: the date (join), then the date and model twice (tier, then pd)."""
    from scoring.models import LatestScore, Score

    qn = connection.ops.quote_name
    scores = qn(Score._meta.db_table)
    join = (
        f"LEFT JOIN {qn(LatestScore._meta.db_table)} lp ON lp.subject_kind = 'company' AND lp.subject_id = {subject} "
        f"AND lp.as_of = {as_of_param} "
        f"LEFT JOIN {scores} s ON s.id = lp.score_id AND s.as_of = lp.as_of AND s.model_id = %s "
    )

    def probe(column: str) -> str:
        return (
            f"(SELECT f.{column} FROM {scores} f WHERE f.subject_kind = 'company' AND f.subject_id = {subject} "
            f"AND f.as_of = %s AND f.model_id = %s ORDER BY f.revision DESC LIMIT 1)"
        )

    return join, f"COALESCE(s.tier, {probe('tier')}, '')", f"COALESCE(s.pd, {probe('pd')})"


def _positions_insert(snapshot: PortfolioSnapshot, *, as_of: datetime.date, model_id: int | None, lgd: Decimal) -> int:
    from loans.models import BorrowerGroupMember, Company, CreditLine, Installment, Loan

    qn = connection.ops.quote_name
    t = {m.__name__: qn(m._meta.db_table) for m in (BorrowerGroupMember, Company, CreditLine, Installment, Loan)}
    day = connection.ops.adapt_datefield_value(as_of)
    model = model_id if model_id is not None else -1
    join, tier, pd = _company_score_sql(subject="l.company_id")
    # The PD is needed twice (the column and the expected loss): a subquery in FROM computes
    # it once per loan.
    sql = (
        f"INSERT INTO {qn(LoanPosition._meta.db_table)} (snapshot_id, loan_id, company_id, group_key, product_id, "
        "partner_id, industry, province, tier, pd, bucket, classification, outstanding_principal, accrued_interest, "
        "penalties, expected_loss) "
        "SELECT %s, x.id, x.company_id, x.group_key, x.product_id, x.partner_id, x.industry, x.province, x.tier, x.pd, "
        "x.bucket, x.classification, x.outstanding_principal, x.accrued, x.penalty_accrued, "
        "CAST(COALESCE(x.pd, 0) * CAST(x.outstanding_principal AS DOUBLE PRECISION) * %s AS NUMERIC(18, 2)) FROM ("
        f"SELECT l.id, l.company_id, COALESCE(g.group_key, l.company_id) AS group_key, cl.product_id, l.partner_id, "
        f"c.industry, c.province, {tier} AS tier, {pd} AS pd, l.bucket, l.classification, l.outstanding_principal, "
        "COALESCE(i.accrued, 0) AS accrued, l.penalty_accrued "
        f"FROM {t['Loan']} l JOIN {t['CreditLine']} cl ON cl.id = l.credit_line_id "
        f"JOIN {t['Company']} c ON c.id = l.company_id "
        f"LEFT JOIN {t['BorrowerGroupMember']} g ON g.company_id = l.company_id "
        f"{join}"
        # interest fallen due and not paid: what the borrower owes in interest on the date
        f"LEFT JOIN (SELECT loan_id, SUM(interest_due - interest_paid) AS accrued FROM {t['Installment']} "
        "WHERE paid_on IS NULL AND due_date <= %s GROUP BY loan_id) i ON i.loan_id = l.id "
        "WHERE l.status = %s) x"
    )
    params = [snapshot.pk, float(lgd), day, model, day, model, day, model, day, LoanStatus.ACTIVE.value]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def positions_prune(*, as_of: datetime.date) -> int:
    """Drop positions older than ``POSITIONS_KEPT_DAYS`` except each month's last snapshot's
    (the roll rates of later months compare with month-ends)."""
    cutoff = as_of - datetime.timedelta(days=POSITIONS_KEPT_DAYS)
    old = list(PortfolioSnapshot.objects.filter(as_of__lt=cutoff).order_by("as_of").values_list("id", "as_of"))
    month_end: dict[tuple[int, int], int] = {}
    for pk, day in old:
        month_end[(day.year, day.month)] = pk
    keep = set(month_end.values())
    drop = [pk for pk, _day in old if pk not in keep]
    if not drop:
        return 0
    deleted, _ = LoanPosition.objects.filter(snapshot_id__in=drop).delete()
    return deleted


# --- segments -------------------------------------------------------------------------------------


LOAN_DIMENSIONS = {
    SegmentDimension.TIER: "tier",
    SegmentDimension.PRODUCT: "product_id",
    SegmentDimension.INDUSTRY: "industry",
    SegmentDimension.PROVINCE: "province",
    SegmentDimension.PARTNER: "partner_id",
    SegmentDimension.CLASSIFICATION: "classification",
    SegmentDimension.BUCKET: "bucket",
}


def _key(value) -> str:
    return "" if value is None else str(value)


def _segment_row(n, out, acc, pen, el) -> dict:
    return {
        "loans_count": n, "outstanding_principal": money(out), "accrued_interest": money(acc), "penalties": money(pen),
        "expected_loss": money(el),
    }


def _loan_segments(snapshot: PortfolioSnapshot) -> tuple[dict[tuple[str, str], dict], dict]:
    """(segments, totals) of the snapshot's positions.  On PostgreSQL one scan of the positions
    with GROUPING SETS (every dimension and the grand total at once); elsewhere one GROUP BY
    per dimension."""
    npl_values = [c.value for c in NPL_CATEGORIES]
    if connection.vendor == "postgresql":
        return _loan_segments_grouping_sets(snapshot, npl_values)
    out: dict[tuple[str, str], dict] = {}
    positions = LoanPosition.objects.filter(snapshot=snapshot)
    for dimension, field in LOAN_DIMENSIONS.items():
        rows = positions.values(field).annotate(
            n=Count("loan_id"), out=Sum("outstanding_principal"), acc=Sum("accrued_interest"),
            pen=Sum("penalties"), el=Sum("expected_loss"),
        ).order_by(field)
        for row in rows:
            out[(dimension.value, _key(row[field]))] = _segment_row(row["n"], row["out"], row["acc"], row["pen"], row["el"])
    totals = positions.aggregate(
        n=Count("loan_id"), out=Sum("outstanding_principal"), acc=Sum("accrued_interest"),
        pen=Sum("penalties"), el=Sum("expected_loss"), npl=Sum("outstanding_principal", filter=Q(classification__in=npl_values)),
    )
    return out, totals


def _loan_segments_grouping_sets(snapshot: PortfolioSnapshot, npl_values: list[str]) -> tuple[dict, dict]:
    qn = connection.ops.quote_name
    fields = list(LOAN_DIMENSIONS.values())
    cols = ", ".join(fields)
    sets = ", ".join(f"({f})" for f in fields) + ", ()"
    sql = (
        f"SELECT GROUPING({cols}), {cols}, COUNT(*), SUM(outstanding_principal), SUM(accrued_interest), SUM(penalties), "
        "SUM(expected_loss), SUM(outstanding_principal) FILTER (WHERE classification = ANY(%s)) "
        f"FROM {qn(LoanPosition._meta.db_table)} WHERE snapshot_id = %s GROUP BY GROUPING SETS ({sets})"
    )
    width = len(fields)
    full = (1 << width) - 1
    out: dict[tuple[str, str], dict] = {}
    totals = {"n": 0, "out": None, "acc": None, "pen": None, "el": None, "npl": None}
    with connection.cursor() as cursor:
        cursor.execute(sql, [npl_values, snapshot.pk])
        for row in cursor.fetchall():
            mask, keys, (n, amount, acc, pen, el, npl) = row[0], row[1:1 + width], row[1 + width:]
            if mask == full:  # the grand total
                totals = {"n": n, "out": amount, "acc": acc, "pen": pen, "el": el, "npl": npl}
                continue
            # GROUPING's bits: 1 for each column rolled up, the first column the highest bit
            j = next(i for i in range(width) if not mask & (1 << (width - 1 - i)))
            dimension = list(LOAN_DIMENSIONS)[j]
            out[(dimension.value, _key(keys[j]))] = _segment_row(n, amount, acc, pen, el)
    return out, totals


def _line_segments(*, as_of: datetime.date, model_id: int | None) -> tuple[dict[tuple[str, str], dict], dict]:
    """Open lines (active or frozen) per dimension; available = limit - drawn on active lines
    (a frozen line lends nothing).  The tier is the pointer's when the pointer is on the date
    (no probe of the score row: lines need no PD), else the company's score of the date."""
    from loans.models import Company, CreditLine
    from scoring.models import LatestScore, Score

    qn = connection.ops.quote_name
    probe = (
        f"(SELECT f.tier FROM {qn(Score._meta.db_table)} f WHERE f.subject_kind = 'company' AND f.subject_id = cl.company_id "
        "AND f.as_of = %s AND f.model_id = %s ORDER BY f.revision DESC LIMIT 1)"
    )
    exprs = {
        SegmentDimension.TIER: f"COALESCE(lp.tier, {probe}, '')",
        SegmentDimension.PRODUCT: "cl.product_id",
        SegmentDimension.INDUSTRY: "c.industry",
        SegmentDimension.PROVINCE: "c.province",
        SegmentDimension.PARTNER: "cl.partner_id",
    }
    day = connection.ops.adapt_datefield_value(as_of)
    model = model_id if model_id is not None else -1
    base = (
        f"FROM {qn(CreditLine._meta.db_table)} cl JOIN {qn(Company._meta.db_table)} c ON c.id = cl.company_id "
        f"LEFT JOIN {qn(LatestScore._meta.db_table)} lp ON lp.subject_kind = 'company' AND lp.subject_id = cl.company_id "
        "AND lp.as_of = %s WHERE cl.status IN (%s, %s)"
    )
    inner = ", ".join(f"{expr} AS k{i}" for i, expr in enumerate(exprs.values()))
    keys = ", ".join(f"x.k{i}" for i in range(len(exprs)))
    out: dict[tuple[str, str], dict] = {}
    totals = {"lines_count": 0, "lines_limit": money(0), "lines_drawn": money(0), "lines_available": money(0)}
    # One pass over the lines, grouped by all five dimensions at once; each dimension is then
    # a roll-up of those groups (a few thousand at most: tiers x products x industries x
    # provinces x partners that occur), not of lines.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {keys}, COUNT(*), SUM(x.limit_amount), SUM(x.drawn_principal), "
            "SUM(CASE WHEN x.status = %s THEN x.limit_amount - x.drawn_principal ELSE 0 END) "
            f"FROM (SELECT {inner}, cl.status, cl.limit_amount, cl.drawn_principal {base}) x GROUP BY {keys}",
            [CreditLineStatus.ACTIVE.value, day, model, day, CreditLineStatus.ACTIVE.value, CreditLineStatus.FROZEN.value],
        )
        groups = cursor.fetchall()
    width = len(exprs)
    for group in groups:
        n, limit, drawn, avail = group[width:]
        row = {"lines_count": n, "lines_limit": money(limit), "lines_drawn": money(drawn), "lines_available": money(avail)}
        for k in totals:
            totals[k] += row[k]
        for dimension, key in zip(exprs, group[:width], strict=True):
            seg = out.setdefault((dimension.value, _key(key)), {k: (0 if k == "lines_count" else money(0)) for k in totals})
            for k in totals:
                seg[k] += row[k]
    return out, totals


# --- tables ---------------------------------------------------------------------------------------


def _five_category(segments: dict, total: Decimal) -> dict:
    table = {}
    for category in Classification:
        row = segments.get((SegmentDimension.CLASSIFICATION.value, category.value), {})
        principal = row.get("outstanding_principal", money(0))
        table[category.value] = {
            "loans": row.get("loans_count", 0), "principal": principal, "share": _ratio(principal, total),
        }
    return table


def _buckets(segments: dict, total: Decimal) -> dict:
    table = {}
    for bucket in Bucket:
        row = segments.get((SegmentDimension.BUCKET.value, bucket.value), {})
        principal = row.get("outstanding_principal", money(0))
        table[bucket.value] = {"loans": row.get("loans_count", 0), "principal": principal, "share": _ratio(principal, total)}
    return table


def _tier_mix(segments: dict, total: Decimal, lgd: Decimal) -> dict:
    mix = {}
    for (dimension, key), row in sorted(segments.items()):
        if dimension != SegmentDimension.TIER.value:
            continue
        exposure = row.get("outstanding_principal", money(0))
        el = row.get("expected_loss", money(0))
        mix[key or UNSCORED] = {
            "loans": row.get("loans_count", 0), "principal": exposure, "share": _ratio(exposure, total),
            "lines": row.get("lines_count", 0), "lines_limit": row.get("lines_limit", money(0)),
            "expected_loss": el,
            # exposure-weighted PD of the tier, read back from EL = PD x exposure x LGD
            "pd": _ratio(el, exposure * lgd) if key else None,
            "lgd": lgd,
        }
    return mix


def _pairs_sql(from_col: str, to_expr: str, join: str) -> str:
    qn = connection.ops.quote_name
    table = qn(LoanPosition._meta.db_table)
    return (
        f"SELECT p.{from_col}, {to_expr}, COUNT(*), SUM(p.outstanding_principal) FROM {table} p "
        f"{join} WHERE p.snapshot_id = %s GROUP BY p.{from_col}, {to_expr}"
    )


def tier_migration(*, current: PortfolioSnapshot, previous: PortfolioSnapshot | None) -> dict:
    """Loans by (tier then, tier now) against the previous snapshot; "new" for loans booked
    since, "closed" for loans no longer active.  Counts of loans."""
    if previous is None:
        return {}
    qn = connection.ops.quote_name
    table = qn(LoanPosition._meta.db_table)
    matrix: dict[str, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            _pairs_sql("tier", "COALESCE(c.tier, '#closed')",
                       f"LEFT JOIN {table} c ON c.loan_id = p.loan_id AND c.snapshot_id = %s"),
            [current.pk, previous.pk],
        )
        for frm, to, n, _principal in cursor.fetchall():
            matrix.setdefault(frm or UNSCORED, {})["closed" if to == "#closed" else (to or UNSCORED)] = n
        cursor.execute(
            f"SELECT c.tier, COUNT(*) FROM {table} c WHERE c.snapshot_id = %s AND NOT EXISTS "
            f"(SELECT 1 FROM {table} p WHERE p.snapshot_id = %s AND p.loan_id = c.loan_id) GROUP BY c.tier",
            [current.pk, previous.pk],
        )
        for to, n in cursor.fetchall():
            matrix.setdefault("new", {})[to or UNSCORED] = n
    return matrix


ROLL_FORWARD = {"current": "m1", "m1": "m2", "m2": "m3", "m3": "m3_plus"}


def roll_rates(*, current: PortfolioSnapshot, earlier: PortfolioSnapshot | None) -> dict:
    """Where the principal of each bucket a month ago is now: {from: {to: share}} with "repaid"
    and "written_off" for loans that left the book, and the forward roll rate of each bucket
    (current -> M1, M1 -> M2, ...).  Shares of the principal outstanding a month ago."""
    if earlier is None:
        return {}
    from loans.models import Loan

    qn = connection.ops.quote_name
    table = qn(LoanPosition._meta.db_table)
    join = (
        f"LEFT JOIN {table} c ON c.loan_id = p.loan_id AND c.snapshot_id = %s "
        f"JOIN {qn(Loan._meta.db_table)} l ON l.id = p.loan_id"
    )
    principal: dict[str, dict[str, Decimal]] = {}
    counts: dict[str, dict[str, int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(_pairs_sql("bucket", "COALESCE(c.bucket, l.status)", join), [current.pk, earlier.pk])
        for frm, to, n, amount in cursor.fetchall():
            to = "repaid" if to == LoanStatus.ACTIVE else to  # active yet absent: left and came back; count as repaid
            principal.setdefault(frm, {})[to] = principal.get(frm, {}).get(to, money(0)) + money(amount)
            counts.setdefault(frm, {})[to] = counts.get(frm, {}).get(to, 0) + n
    matrix = {}
    for frm, tos in principal.items():
        total = sum(tos.values(), money(0))
        matrix[frm] = {to: _ratio(amount, total) for to, amount in sorted(tos.items())}
    forward = {
        f"{frm}->{to}": matrix.get(frm, {}).get(to, Decimal("0.000000")) for frm, to in ROLL_FORWARD.items() if frm in matrix
    }
    return {"matrix": matrix, "loans": counts, "forward": forward}


def vintage_curves(*, as_of: datetime.date) -> list[dict]:
    """Cumulative share of booked principal that reached M3+ (or was written off), by booking
    month and months on book.  A loan reached M3+ on ``Loan.m3_plus_since`` (set by servicing
    the first time it passed 90 days and kept when it cures, so cured loans count); a loan
    written off without ever passing 90 days counts from its last servicing."""
    from loans.models import Loan

    first = stats.add_months(as_of.replace(day=1), -(VINTAGE_MONTHS - 1))
    booked = Loan.objects.filter(disbursed_on__gte=first, disbursed_on__lte=as_of)
    cohorts = {
        row["cohort"]: row for row in booked.annotate(cohort=TruncMonth("disbursed_on")).values("cohort")
        .annotate(n=Count("id"), principal=Sum("principal")).order_by("cohort")
    }
    bad = (
        booked.filter(Q(m3_plus_since__lte=as_of) | Q(m3_plus_since__isnull=True, status=LoanStatus.WRITTEN_OFF))
        .values("disbursed_on", "m3_plus_since", "serviced_on")
        .annotate(n=Count("id"), principal=Sum("principal"))
        .order_by()
    )
    reached: dict[datetime.date, dict[int, Decimal]] = {}
    for row in bad:  # a loop over (booking day, crossing day) groups, not loans
        crossed = row["m3_plus_since"] or row["serviced_on"] or as_of
        mob = stats.months_between(row["disbursed_on"], min(crossed, as_of))
        cohort = row["disbursed_on"].replace(day=1)
        reached.setdefault(cohort, {})
        reached[cohort][mob] = reached[cohort].get(mob, money(0)) + money(row["principal"])
    curves = []
    for cohort, row in cohorts.items():
        cohort_day = cohort.date() if isinstance(cohort, datetime.datetime) else cohort
        age = stats.months_between(cohort_day, as_of)
        total = money(row["principal"])
        cumulative, curve = money(0), []
        by_mob = reached.get(cohort_day, {})
        for mob in range(age + 1):
            cumulative += by_mob.get(mob, money(0))
            curve.append(_ratio(cumulative, total))
        curves.append({"cohort": cohort_day.strftime("%Y-%m"), "loans": row["n"], "principal": total, "m3_plus_share": curve})
    return curves


def concentration(snapshot: PortfolioSnapshot, segments: dict, total: Decimal) -> dict:
    top = list(
        LoanPosition.objects.filter(snapshot=snapshot).values("group_key")
        .annotate(principal=Sum("outstanding_principal"), loans=Count("loan_id")).order_by("-principal", "group_key")[:10]
    )
    top_sum = sum((money(r["principal"]) for r in top), money(0))
    industries = [row["outstanding_principal"] for (dim, _k), row in segments.items()
                  if dim == SegmentDimension.INDUSTRY.value and "outstanding_principal" in row]
    return {
        "top10_groups": [
            {"group_key": r["group_key"], "principal": money(r["principal"]), "loans": r["loans"],
             "share": _ratio(r["principal"], total)} for r in top
        ],
        "top10_share": _ratio(top_sum, total),
        "industry_hhi": Decimal(str(stats.hhi(industries))).quantize(Decimal("0.000001")),
    }


# --- the snapshot ---------------------------------------------------------------------------------


def portfolio_snapshot_compute(*, as_of: datetime.date, require_run: bool = True) -> PortfolioSnapshot:
    """Compute (or recompute) the snapshot of ``as_of`` in one transaction.  Raises
    ``AnalyticsError`` when the date has no nightly run that serviced the book."""
    started = time.perf_counter()
    run = run_ready(as_of) if require_run else ScoringRun.objects.filter(as_of=as_of).first()
    model_id = company_model_id(as_of)
    lgd = active_lgd()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # The fallback probes (a scalar subquery per loan or line, evaluated only where the
            # pointer did not answer) inflate the planner's cost estimate past jit_above_cost,
            # and compiling the plan (inlined, optimised) cost more than running it: seconds.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        # Replace, never duplicate: the date's row is locked (or the unique constraint stops a
        # concurrent writer) and its positions and segments go with it.
        old = PortfolioSnapshot.objects.select_for_update().filter(as_of=as_of).first()
        if old is not None:
            LoanPosition.objects.filter(snapshot=old).delete()
            old.delete()
        snapshot = PortfolioSnapshot.objects.create(as_of=as_of, run=run, lgd=lgd)
        steps: dict[str, float] = {}
        mark = time.perf_counter()

        def lap(name: str) -> None:  # each step's seconds, kept with the snapshot
            nonlocal mark
            now = time.perf_counter()
            steps[name] = round(now - mark, 3)
            mark = now

        _positions_insert(snapshot, as_of=as_of, model_id=model_id, lgd=lgd)
        lap("positions")
        segments, totals = _loan_segments(snapshot)
        total = money(totals["out"])
        lap("segments")
        line_segments, line_totals = _line_segments(as_of=as_of, model_id=model_id)
        for key, row in line_segments.items():
            segments.setdefault(key, {}).update(row)
        PortfolioSegment.objects.bulk_create(
            [PortfolioSegment(snapshot=snapshot, dimension=dim, key=key, **row) for (dim, key), row in segments.items()]
        )
        lap("lines")

        previous = PortfolioSnapshot.objects.filter(as_of__lt=as_of).order_by("-as_of").first()
        month_ago = stats.add_months(as_of, -1)
        earlier = (
            PortfolioSnapshot.objects.filter(as_of__lte=month_ago)
            .filter(Exists(LoanPosition.objects.filter(snapshot=OuterRef("pk"))))
            .order_by("-as_of").first()
        )
        conc = concentration(snapshot, segments, total)
        lap("concentration")
        npl = money(totals["npl"])
        tables = {
            "five_category": _five_category(segments, total),
            "dpd_buckets": _buckets(segments, total),
            "tier_mix": _tier_mix(segments, total, lgd),
            "migration_matrix": tier_migration(current=snapshot, previous=previous),
        }
        lap("migration")
        tables["roll_rates"] = roll_rates(current=snapshot, earlier=earlier)
        lap("roll_rates")
        tables["vintage_curves"] = vintage_curves(as_of=as_of)
        lap("vintages")
        tables.update(
            concentration=conc, alerts=alerts_by_rule_and_status(as_of=as_of), actions=actions_by_rule_and_status(as_of=as_of),
            company_model_id=model_id,
        )
        lap("alerts_actions")
        positions_prune(as_of=as_of)
        lap("prune")
        tables["seconds"] = steps
        PortfolioSnapshot.objects.filter(pk=snapshot.pk).update(
            loans_count=totals["n"] or 0, loans_outstanding_principal=total,
            loans_accrued_interest=money(totals["acc"]), loans_penalties=money(totals["pen"]),
            expected_loss=money(totals["el"]), npl_principal=npl, npl_ratio=_ratio(npl, total),
            previous_as_of=previous.as_of if previous else None, roll_from_as_of=earlier.as_of if earlier else None,
            top10_group_share=conc["top10_share"], industry_hhi=conc["industry_hhi"],
            tables=_jsonable(tables), seconds=round(time.perf_counter() - started, 3), **line_totals,
        )
    snapshot.refresh_from_db()
    return snapshot


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value
