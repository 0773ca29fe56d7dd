"""Daily servicing: days past due, penalty interest, delinquency buckets, five categories.

Set-based.  On PostgreSQL the whole book is serviced by one UPDATE of the loans from an
aggregate over their unpaid overdue installments (which are read, never written), so a
million loans take about a minute, not hours.  Elsewhere (SQLite in development and tests)
the same arithmetic runs in Python over the same rows with one executemany.

Penalty interest accrues on the loan (``penalty_accrued`` = unpaid penalty); a repayment
first moves it onto the oldest overdue installment, then allocates penalty → interest →
principal, so installments show what was charged and paid.

Re-running a day is harmless: a loan serviced on or after ``as_of`` is skipped, and penalty
accrues only for the days since the loan was last serviced.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction

from .. import events
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


def bucket_for(dpd: int) -> str:
    for upper, bucket in BUCKETS:
        if dpd <= upper:
            return bucket
    return Bucket.M3_PLUS


def classification_for(dpd: int, policy: PolicySnapshot, *, watched: bool = False) -> str:
    """Overdue at all is at least special mention; the policy's substandard threshold is at
    most 91 days, so anything over 90 days is non-performing.  A restructured loan in its
    watch period (``watched``) is at least special mention whatever its DPD."""
    if dpd >= policy.loss_dpd:
        return Classification.LOSS
    if dpd >= policy.doubtful_dpd:
        return Classification.DOUBTFUL
    if dpd >= policy.substandard_dpd:
        return Classification.SUBSTANDARD
    if dpd >= 1 or watched:
        return Classification.SPECIAL_MENTION
    return Classification.NORMAL


def penalty_for(*, overdue_principal: Decimal, daily_rate: Decimal, days: int) -> Decimal:
    if days <= 0 or overdue_principal <= 0:
        return ZERO
    return (overdue_principal * daily_rate * days).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class ServicingResult:
    as_of: datetime.date
    loans_serviced: int
    loans_read: int
    policy_version: int
    loans_worsened: int = 0


def loans_service_daily(*, as_of: datetime.date) -> ServicingResult:
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


def _service_sql(as_of: datetime.date, policy: PolicySnapshot) -> tuple[int, int, list[tuple]]:
    inst, loan = Installment._meta.db_table, Loan._meta.db_table
    params = {
        "as_of": as_of,
        "rate": policy.penalty_daily_rate,
        "active": LoanStatus.ACTIVE,
        "sub": policy.substandard_dpd,
        "dbt": policy.doubtful_dpd,
        "loss": policy.loss_dpd,
        "m3": M3_PLUS_AFTER,
    }
    # One statement.  Installments are only read (through the partial index on unpaid due
    # dates); the loan row carries DPD, bucket, category and the unpaid penalty.  Penalty for
    # the window since the loan was last serviced: Σ unpaid principal × overdue days in the
    # window (a day t is overdue when t > due_date), × the daily rate, rounded once per loan.
    with connection.cursor() as cur:
        cur.execute(
            f"""
            WITH todo AS (
                SELECT l.id, COALESCE(l.serviced_on, l.disbursed_on) AS since,
                       l.days_past_due AS old_dpd, l.bucket AS old_bucket
                  FROM {loan} AS l
                 WHERE l.status = %(active)s
                   AND (l.serviced_on IS NULL OR l.serviced_on < %(as_of)s::date)
            ), due AS (
                SELECT i.loan_id,
                       MIN(i.due_date) AS oldest,
                       SUM((i.principal_due - i.principal_paid)
                           * GREATEST(%(as_of)s::date - GREATEST(t.since, i.due_date), 0)) AS principal_days
                  FROM {inst} AS i
                  JOIN todo AS t ON t.id = i.loan_id
                 WHERE i.paid_on IS NULL
                   AND i.superseded_on IS NULL
                   AND i.due_date < %(as_of)s::date
                 GROUP BY i.loan_id
            ), calc AS (
                SELECT t.id, t.old_dpd, t.old_bucket,
                       COALESCE(%(as_of)s::date - d.oldest, 0) AS dpd,
                       ROUND(COALESCE(d.principal_days, 0) * %(rate)s, 2) AS penalty
                  FROM todo AS t
                  LEFT JOIN due AS d ON d.loan_id = t.id
            )
            , upd AS (
            UPDATE {loan} AS l
               SET days_past_due = c.dpd,
                   penalty_accrued = l.penalty_accrued + c.penalty,
                   bucket = {_BUCKET_SQL},
                   classification = CASE WHEN c.dpd >= %(loss)s THEN 'loss' WHEN c.dpd >= %(dbt)s THEN 'doubtful'
                                         WHEN c.dpd >= %(sub)s THEN 'substandard' WHEN c.dpd >= 1 OR l.watch_until >= %(as_of)s::date THEN 'special_mention'
                                         ELSE 'normal' END,
                   m3_plus_since = CASE WHEN l.m3_plus_since IS NULL AND c.dpd > %(m3)s
                                        THEN GREATEST(%(as_of)s::date - (c.dpd - %(m3)s - 1), l.disbursed_on + 1)
                                        ELSE l.m3_plus_since END,
                   serviced_on = %(as_of)s::date
              FROM calc AS c
             WHERE l.id = c.id
         RETURNING l.id, l.partner_id, l.days_past_due, l.bucket, c.old_dpd, c.old_bucket
            )
            -- One row back: the count, and only the loans whose bucket worsened (buckets rise
            -- with DPD), not the whole book.
            SELECT count(*),
                   COALESCE(json_agg(json_build_array(id, partner_id, days_past_due, bucket))
                            FILTER (WHERE bucket <> old_bucket AND days_past_due > old_dpd), '[]')
              FROM upd
            """,
            params,
        )
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
        dpd = (as_of - oldest[pk]).days if pk in oldest else 0
        penalty = (principal_days.get(pk, ZERO) * policy.penalty_daily_rate).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        bucket = bucket_for(dpd)
        m3_since = m3_plus_since_for(dpd, as_of, m3_since, disbursed_on)
        rows.append((dpd, str(accrued + penalty), bucket, classification_for(dpd, policy, watched=bool(watch_until and watch_until >= as_of)),
                     m3_since.isoformat() if m3_since else None, as_of.isoformat(), pk))
        if bucket != old_bucket and dpd > old_dpd:
            worsened.append((pk, partner_id, dpd, bucket))
    # executemany of a keyed UPDATE is linear; bulk_update's CASE WHEN is not on SQLite.
    with connection.cursor() as cur:
        cur.executemany(
            f"UPDATE {Loan._meta.db_table} SET days_past_due = %s, penalty_accrued = %s, bucket = %s, "
            "classification = %s, m3_plus_since = %s, serviced_on = %s WHERE id = %s",
            rows,
        )
    return len(rows), len(rows), worsened
