"""Daily servicing: days past due, penalty interest, delinquency buckets, five categories.

Set-based.  On PostgreSQL the whole book is serviced by one UPDATE of the loans from an
aggregate over their unpaid overdue installments (which are read, never written), so a
million loans take about a minute, not hours.  Elsewhere (SQLite in development and tests)
the same arithmetic runs in Python over the same rows with one executemany: SQLite has no
data-modifying CTE, so the one statement cannot serve both.  The rules themselves are
written once, here: days past due (:func:`days_past_due`), bucket (:data:`BUCKETS`) and
category (:func:`classification_for`); the statement's CASE expressions are generated from
the same tables, and a test on PostgreSQL holds both paths to the same rows.  Repayments
re-grade a loan with the same :func:`loan_grade`.

The day a run closes by default is :func:`servicing_as_of` (yesterday, the business day that
just ended: the nightly run's day); ``run_daily`` and the ``run_daily_servicing`` task take
it when no date is given.

Penalty interest accrues on the loan (``penalty_accrued`` = unpaid penalty); a repayment
first moves it onto the oldest overdue installment, then allocates penalty → interest →
principal, so installments show what was charged and paid.

Re-running a day is harmless: a loan serviced on or after ``as_of`` is skipped, and penalty
accrues only for the days since the loan was last serviced.
"""

from __future__ import annotations

import datetime
import functools
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.utils import timezone

from .. import events, rawsql
from ..choices import Bucket, Classification, LoanStatus
from ..models import Installment, Loan
from ..money import ZERO
from ..pricing import PolicySnapshot
from .policy import credit_policy_active, policy_snapshot

# (upper DPD bound inclusive, bucket): current 0, M1 1–30, M2 31–60, M3 61–90, M3+ > 90.
BUCKETS = ((0, Bucket.CURRENT), (30, Bucket.M1), (60, Bucket.M2), (90, Bucket.M3))


M3_PLUS_AFTER = BUCKETS[-1][0]  # a loan more than this many days past due is M3+


def m3_plus_since_for(dpd: int, as_of: datetime.date, known: datetime.date | None,
                      disbursed_on: datetime.date) -> datetime.date | None:
    """The day the loan first went M3+: kept once known (a cured loan keeps it), else, when
    the loan is M3+ now, the day its DPD passed 90 (exact even when servicing skipped days),
    never before the day after disbursal (an installment recorded as due before the loan was
    disbursed is bad data, and must not fail the night's servicing)."""
    if known is not None or dpd <= M3_PLUS_AFTER:
        return known
    return max(as_of - datetime.timedelta(days=dpd - M3_PLUS_AFTER - 1), disbursed_on + datetime.timedelta(days=1))


# The same table as SQL, so the set-based path cannot drift from bucket_for (constants only).
_BUCKET_SQL = (
    "CASE " + " ".join(f"WHEN c.dpd <= {int(upper)} THEN '{bucket.value}'" for upper, bucket in BUCKETS)
    + f" ELSE '{Bucket.M3_PLUS.value}' END"
)


def servicing_as_of() -> datetime.date:
    """The day servicing closes when no date is given: yesterday in the business time zone
    (settings.TIME_ZONE), the business day that just ended — the day the nightly run scores
    and services (monitoring.services.nightly_as_of)."""
    return timezone.localdate() - datetime.timedelta(days=1)


def days_past_due(oldest_unpaid_due: datetime.date | None, as_of: datetime.date) -> int:
    """The one definition of DPD: whole days since the oldest installment still unpaid on
    ``as_of`` fell due, counted from the day after its due date (due today is not overdue);
    0 when none is overdue.  SQL: :data:`_DPD_SQL`."""
    if oldest_unpaid_due is None or oldest_unpaid_due >= as_of:
        return 0
    return (as_of - oldest_unpaid_due).days


# days_past_due over the aggregate ``d.oldest`` (the oldest unpaid due date before as_of).
_DPD_SQL = "COALESCE(%(as_of)s::date - d.oldest, 0)"


def bucket_for(dpd: int) -> str:
    for upper, bucket in BUCKETS:
        if dpd <= upper:
            return bucket
    return Bucket.M3_PLUS


# (policy field holding the lowest DPD of the category, category), worst first; below them all
# a loan overdue at all (DPD >= 1) or watched is special mention, else normal.
_CATEGORY_FLOORS = (
    ("loss_dpd", Classification.LOSS),
    ("doubtful_dpd", Classification.DOUBTFUL),
    ("substandard_dpd", Classification.SUBSTANDARD),
)


def classification_for(dpd: int, policy: PolicySnapshot, *, watched: bool = False) -> str:
    """Overdue at all is at least special mention; the policy's substandard threshold is at
    most 91 days, so anything over 90 days is non-performing.  A restructured loan in its
    watch period (``watched``) is at least special mention whatever its DPD."""
    for field, category in _CATEGORY_FLOORS:
        if dpd >= getattr(policy, field):
            return category
    if dpd >= 1 or watched:
        return Classification.SPECIAL_MENTION
    return Classification.NORMAL


def _classification_sql(watch_until: str) -> str:
    """classification_for as SQL over ``c.dpd`` and the loan's ``watch_until`` column (the
    floors are parameters named after the policy's fields)."""
    return (
        "CASE " + " ".join(f"WHEN c.dpd >= %({field})s THEN '{category.value}'" for field, category in _CATEGORY_FLOORS)
        + f" WHEN c.dpd >= 1 OR {watch_until} >= %(as_of)s::date THEN '{Classification.SPECIAL_MENTION.value}'"
        + f" ELSE '{Classification.NORMAL.value}' END"
    )


def loan_grade(dpd: int, policy: PolicySnapshot, *, watch_until: datetime.date | None, as_of: datetime.date) -> tuple[str, str]:
    """(bucket, category) of a loan ``dpd`` days past due on ``as_of``: servicing and
    repayments grade with this."""
    return bucket_for(dpd), classification_for(dpd, policy, watched=bool(watch_until and watch_until >= as_of))


@dataclass(frozen=True)
class ServicingResult:
    as_of: datetime.date
    loans_serviced: int
    loans_read: int
    policy_version: int
    loans_worsened: int = 0


def loans_service_daily(*, as_of: datetime.date | None = None) -> ServicingResult:
    """Service the whole active book for ``as_of`` (default :func:`servicing_as_of`); every entry
    point (``run_daily``, the ``run_daily_servicing`` task, the nightly run's servicing phase)
    calls this."""
    as_of = as_of or servicing_as_of()
    policy = credit_policy_active()
    snap = policy_snapshot(policy)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            read, serviced, worsened = _service_sql(as_of, snap)
        else:
            read, serviced, worsened = _service_python(as_of, snap)
        if worsened:
            events.loans_became_overdue.send(sender=Loan, as_of=as_of, loans=worsened)
    return ServicingResult(
        as_of=as_of, loans_serviced=serviced, loans_read=read, policy_version=policy.version,
        loans_worsened=len(worsened),
    )


@functools.cache
def _servicing_sql() -> str:
    """The one statement of a servicing run on PostgreSQL, tables and columns from the models'
    metadata.  Installments are only read (through the partial index on unpaid due dates); the
    loan row carries DPD, bucket, category and the unpaid penalty.  Penalty for the window
    since the loan was last serviced: Σ unpaid principal × overdue days in the window (a day t
    is overdue when t > due_date), × the daily rate, rounded once per loan.  One row back: the
    count, and only the loans whose bucket worsened (buckets rise with DPD), not the whole book."""
    L, i = rawsql.column_names(Loan), rawsql.column_names(Installment)
    return f"""
            WITH todo AS (
                SELECT l.{L["id"]} AS id, COALESCE(l.{L["serviced_on"]}, l.{L["disbursed_on"]}) AS since,
                       l.{L["days_past_due"]} AS old_dpd, l.{L["bucket"]} AS old_bucket
                  FROM "{Loan._meta.db_table}" AS l
                 WHERE l.{L["status"]} = %(active)s
                   AND (l.{L["serviced_on"]} IS NULL OR l.{L["serviced_on"]} < %(as_of)s::date)
            ), due AS (
                SELECT i.{i["loan"]} AS loan_id,
                       MIN(i.{i["due_date"]}) AS oldest,
                       SUM((i.{i["principal_due"]} - i.{i["principal_paid"]})
                           * GREATEST(%(as_of)s::date - GREATEST(t.since, i.{i["due_date"]}), 0)) AS principal_days
                  FROM "{Installment._meta.db_table}" AS i
                  JOIN todo AS t ON t.id = i.{i["loan"]}
                 WHERE i.{i["paid_on"]} IS NULL
                   AND i.{i["superseded_on"]} IS NULL
                   AND i.{i["due_date"]} < %(as_of)s::date
                 GROUP BY i.{i["loan"]}
            ), calc AS (
                SELECT t.id, t.old_dpd, t.old_bucket,
                       {_DPD_SQL} AS dpd,
                       ROUND(COALESCE(d.principal_days, 0) * %(rate)s, 2) AS penalty
                  FROM todo AS t
                  LEFT JOIN due AS d ON d.loan_id = t.id
            )
            , upd AS (
            UPDATE "{Loan._meta.db_table}" AS l
               SET {L["days_past_due"]} = c.dpd,
                   {L["penalty_accrued"]} = l.{L["penalty_accrued"]} + c.penalty,
                   {L["bucket"]} = {_BUCKET_SQL},
                   {L["classification"]} = {_classification_sql(f'l.{L["watch_until"]}')},
                   {L["m3_plus_since"]} = CASE WHEN l.{L["m3_plus_since"]} IS NULL AND c.dpd > %(m3)s
                                        THEN GREATEST(%(as_of)s::date - (c.dpd - %(m3)s - 1), l.{L["disbursed_on"]} + 1)
                                        ELSE l.{L["m3_plus_since"]} END,
                   {L["serviced_on"]} = %(as_of)s::date
              FROM calc AS c
             WHERE l.{L["id"]} = c.id
         RETURNING l.{L["id"]} AS id, l.{L["partner"]} AS partner_id, l.{L["days_past_due"]} AS dpd,
                   l.{L["bucket"]} AS bucket, c.old_dpd, c.old_bucket
            )
            SELECT count(*),
                   COALESCE(json_agg(json_build_array(id, partner_id, dpd, bucket))
                            FILTER (WHERE bucket <> old_bucket AND dpd > old_dpd), '[]')
              FROM upd
            """


def _service_sql(as_of: datetime.date, policy: PolicySnapshot) -> tuple[int, int, list[tuple]]:
    params = {
        "as_of": as_of,
        "rate": policy.penalty_daily_rate,
        "active": LoanStatus.ACTIVE,
        "m3": M3_PLUS_AFTER,
        **{field: getattr(policy, field) for field, _ in _CATEGORY_FLOORS},
    }
    with connection.cursor() as cur:
        cur.execute(_servicing_sql(), params)
        serviced, worsened = cur.fetchone()
    if isinstance(worsened, str):  # a driver that does not decode json
        worsened = json.loads(worsened)
    worsened = [tuple(w) for w in worsened]
    return serviced, serviced, worsened


def _service_python(as_of: datetime.date, policy: PolicySnapshot) -> tuple[int, int, list[tuple]]:
    loans = list(
        Loan.objects.filter(status=LoanStatus.ACTIVE)
        .exclude(serviced_on__gte=as_of)
        .values_list("id", "serviced_on", "disbursed_on", "penalty_accrued", "partner_id", "days_past_due", "bucket", "watch_until",
                     "m3_plus_since")
    )
    since = {pk: serviced or disbursed for pk, serviced, disbursed, *_ in loans}
    overdue = (
        Installment.objects.filter(loan_id__in=list(since), paid_on__isnull=True, superseded_on__isnull=True, due_date__lt=as_of)
        .values_list("loan_id", "due_date", "principal_due", "principal_paid")
        if since
        else []
    )
    oldest: dict[int, datetime.date] = {}
    principal_days: dict[int, Decimal] = {}
    for loan_id, due_date, principal_due, principal_paid in overdue:
        oldest[loan_id] = min(oldest.get(loan_id, due_date), due_date)
        days = max((as_of - max(since[loan_id], due_date)).days, 0)
        principal_days[loan_id] = principal_days.get(loan_id, ZERO) + (principal_due - principal_paid) * days
    rows = []
    worsened = []
    for pk, _, disbursed_on, accrued, partner_id, old_dpd, old_bucket, watch_until, m3_since in loans:
        dpd = days_past_due(oldest.get(pk), as_of)
        penalty = (principal_days.get(pk, ZERO) * policy.penalty_daily_rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        bucket, category = loan_grade(dpd, policy, watch_until=watch_until, as_of=as_of)
        m3_since = m3_plus_since_for(dpd, as_of, m3_since, disbursed_on)
        rows.append((dpd, str(accrued + penalty), bucket, category, m3_since.isoformat() if m3_since else None,
                     as_of.isoformat(), pk))
        if bucket != old_bucket and dpd > old_dpd:
            worsened.append((pk, partner_id, dpd, bucket))
    # executemany of a keyed UPDATE is linear; bulk_update's CASE WHEN is not on SQLite.
    with connection.cursor() as cur:
        L = rawsql.column_names(Loan)
        cur.executemany(
            f'UPDATE "{Loan._meta.db_table}" SET {L["days_past_due"]} = %s, {L["penalty_accrued"]} = %s, '
            f'{L["bucket"]} = %s, {L["classification"]} = %s, {L["m3_plus_since"]} = %s, {L["serviced_on"]} = %s WHERE {L["id"]} = %s',
            rows,
        )
    return len(rows), len(rows), worsened
