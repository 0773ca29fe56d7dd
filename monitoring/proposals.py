"""From warning to proposed action: the nightly proposals after the rules.

``propose_actions(as_of)`` reads, in ONE statement, every open warning on a company, a line or a
loan with a policy row (rule, severity) and no open action yet, with the line and loan it acts
on: a company's most recent active or frozen line and most overdue active loan; a line
warning's own line; a loan warning's own loan and its line.  Each candidate's terms
are checked against its line or loan, and the proposals are written with one bulk INSERT that
skips any alert already answered (the ``pla_one_system_proposal_per_alert`` constraint):
a rerun proposes nothing new, and there is at most one system proposal per warning.

``actions_settle_for_cleared_alerts(as_of)`` (called by the rules, in their transaction) deals
with what waits for a warning that cleared by itself: the system's proposal is withdrawn, a
person's is flagged for its approver.
"""

from __future__ import annotations

import datetime
import functools
import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Case, Exists, OuterRef, Subquery, When

from config.sqlnames import column_names
from loans.choices import CreditLineStatus, LoanStatus
from loans.errors import DomainError
from loans.models import CreditLine, Loan

from .actions import needs_committee, validate_terms
from .models import (
    LOAN_KINDS,
    OPEN_ACTION_STATUSES,
    SECURITY_KINDS,
    SEVERITY_ORDER,
    WITHDRAWABLE_ACTION_STATUSES,
    ActionPolicy,
    ActionStatus,
    Alert,
    AlertStatus,
    PostLoanAction,
)
from .protection import OPEN_ALERT_STATUSES

log = logging.getLogger(__name__)


def propose_actions(as_of: datetime.date) -> dict:
    """Propose the policy's action for each open warning without one; {proposed, skipped}."""
    policy = ActionPolicy.objects.filter(rule=OuterRef("rule"), severity=OuterRef("severity"), is_active=True)
    open_line = [CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN]
    # A company's warning acts on its most recent open line and its most overdue active loan; a
    # line's warning (collateral coverage) on that line; a loan's (days past due) on that loan.
    line = CreditLine.objects.filter(company_id=OuterRef("company_id"), status__in=open_line).order_by("-id")
    loan = Loan.objects.filter(company_id=OuterRef("company_id"), status=LoanStatus.ACTIVE).order_by("-days_past_due", "-id")
    this_line = CreditLine.objects.filter(pk=OuterRef("subject_id"), status__in=open_line)
    this_loan = Loan.objects.filter(pk=OuterRef("subject_id"), status=LoanStatus.ACTIVE)
    loans_line = CreditLine.objects.filter(loans=OuterRef("subject_id"), status__in=open_line)
    answered = PostLoanAction.objects.filter(alert_id=OuterRef("pk")).filter(
        status__in=OPEN_ACTION_STATUSES
    )
    system_answered = PostLoanAction.objects.filter(alert_id=OuterRef("pk"), proposed_by__isnull=True)
    candidates = list(
        Alert.objects.filter(subject_kind__in=["company", "line", "loan"], status__in=OPEN_ALERT_STATUSES)
        .annotate(
            kind=Subquery(policy.values("action_kind")[:1]), params=Subquery(policy.values("params")[:1]),
            loan_id=Case(When(subject_kind="loan", then=Subquery(this_loan.values("id")[:1])),
                         When(subject_kind="company", then=Subquery(loan.values("id")[:1]))),
        )
        .annotate(
            line_id=Case(When(subject_kind="line", then=Subquery(this_line.values("id")[:1])),
                         When(subject_kind="loan", then=Subquery(loans_line.values("id")[:1])),
                         default=Subquery(line.values("id")[:1])),
        )
        .filter(kind__isnull=False, line_id__isnull=False)
        .exclude(Exists(answered)).exclude(Exists(system_answered))
        .values_list("pk", "company_id", "rule", "severity", "kind", "params", "line_id", "loan_id")
    )
    if not candidates:
        return {"actions_proposed": 0, "actions_skipped": 0, "actions_already_waiting": 0, "committee_cases_opened": 0}
    lines = CreditLine.objects.select_related("product").in_bulk([c[6] for c in candidates])
    loans = Loan.objects.in_bulk([c[7] for c in candidates if c[7]])
    # One undecided action of a kind per line (or loan): a company with two warnings whose
    # policy rows ask for the same measure gets it once, for its most severe warning; the other
    # warning waits (it is proposed for once that action is decided, if the warning is still live).
    waiting = set(
        PostLoanAction.objects.filter(credit_line_id__in=lines.keys(), status__in=OPEN_ACTION_STATUSES)
        .values_list("kind", "credit_line_id", "loan_id")
    )
    waiting = {(kind, line, loan if kind in LOAN_KINDS else None) for kind, line, loan in waiting}
    rank = {severity: i for i, severity in enumerate(SEVERITY_ORDER)}
    candidates.sort(key=lambda c: (rank.get(c[3], len(rank)), c[0]))
    rows, skipped, duplicates = [], 0, 0
    for alert_id, company_id, rule, severity, kind, params, line_id, loan_id in candidates:
        ln, lo = lines[line_id], loans.get(loan_id)
        if kind not in LOAN_KINDS and kind not in SECURITY_KINDS:
            lo = None
        key = (kind, line_id, lo.pk if lo is not None and kind in LOAN_KINDS else None)
        if key in waiting:
            duplicates += 1
            continue
        try:
            terms = validate_terms(kind=kind, line=ln, loan=lo, params=params or {}, on=as_of)
        except (ValidationError, DomainError) as exc:
            skipped += 1
            log.info("no %s proposed for warning %s: %s", kind, alert_id, exc)
            continue
        committee = needs_committee(kind, terms)
        action = PostLoanAction(
            kind=kind, company_id=company_id, credit_line_id=line_id, loan_id=lo.pk if lo else None, params=terms,
            reason=f"{rule} ({severity}) warning of {as_of}", alert_id=alert_id, needs_committee=committee,
            status=ActionStatus.PENDING_COMMITTEE if committee else ActionStatus.PROPOSED,
        )
        if kind in SECURITY_KINDS:
            action.amount_needed = Decimal(terms["amount_needed"])
            action.due_date = datetime.date.fromisoformat(terms["due_date"])
        rows.append(action)
        waiting.add(key)
    created = PostLoanAction.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
    from .committee import committee_cases_open_for_actions

    # Recall, restructure, write-off and large cuts go to the credit committee at once.
    opened = committee_cases_open_for_actions()
    return {"actions_proposed": len(created), "actions_skipped": skipped, "actions_already_waiting": duplicates,
            "committee_cases_opened": opened}


# --- when the warning clears by itself ---------------------------------------------------------
#
# The nightly rules resolve a live alert whose problem has gone ("condition cleared on <date>",
# ``rules._resolve_cleared``).  What was proposed for it and still waits for a decision is
# settled in the same transaction, by one UPDATE over the waiting actions of such alerts:
#
# * the system's own proposal (``proposed_by`` empty) is withdrawn by the system, with the date
#   and the reason; an open committee case for it closes as withdrawn, and the owning partner
#   (who lists the actions on its companies) is told by the ``post_loan_action.withdrawn`` webhook;
# * a person's proposal is not the system's to take back: it stays for its approver, flagged
#   (``alert_cleared_on``), so the queue says the warning cleared.
#
# Approved, executed, rejected or cancelled actions are left alone (``ACTION_TRANSITIONS``: only
# an undecided action may be withdrawn).  A rerun finds nothing left to do: the withdrawn are no
# longer waiting and the flagged already carry their date.

WITHDRAWN_NOTE_PREFIX = "withdrawn by the system: "


@functools.cache
def _settle_sql(vendor: str) -> str:
    """Built once per vendor; table and column names from the models' metadata."""
    from .rules import CLEARED_REASON

    table, alerts = PostLoanAction._meta.db_table, Alert._meta.db_table
    ac, al = column_names(PostLoanAction), column_names(Alert)
    # the date in the alert's "condition cleared on YYYY-MM-DD"
    start = CLEARED_REASON.index("{date}") + 1
    cleared_on = f"substr(a.{al['close_reason']}, {start}, 10)"
    if vendor == "postgresql":
        cleared_on = f"CAST({cleared_on} AS DATE)"
    waiting = ", ".join(f"'{s}'" for s in WITHDRAWABLE_ACTION_STATUSES)
    by_system = f"{table}.{ac['proposed_by']} IS NULL"
    return (
        f"UPDATE {table} SET "
        f"{ac['status']} = CASE WHEN {by_system} THEN '{ActionStatus.WITHDRAWN.value}' ELSE {table}.{ac['status']} END, "
        f"{ac['decided_at']} = CASE WHEN {by_system} THEN %(now)s ELSE {table}.{ac['decided_at']} END, "
        f"{ac['decision_note']} = CASE WHEN {by_system} THEN substr(%(prefix)s || a.{al['close_reason']}, 1, 500) "
        f"ELSE {table}.{ac['decision_note']} END, "
        f"{ac['alert_cleared_on']} = {cleared_on}, {ac['updated_at']} = %(now)s "
        f"FROM {alerts} a WHERE a.{al['id']} = {table}.{ac['alert']} AND {table}.{ac['status']} IN ({waiting}) "
        f"AND {table}.{ac['alert_cleared_on']} IS NULL AND a.{al['status']} = '{AlertStatus.RESOLVED.value}' "
        f"AND a.{al['closed_by']} IS NULL AND a.{al['close_reason']} LIKE %(cleared)s "
        f"RETURNING {table}.{ac['id']}, {table}.{ac['status']}"
    )


def actions_settle_for_cleared_alerts(*, as_of: datetime.date) -> dict:
    """Withdraw the system's waiting proposals for warnings the rules resolved as cleared (and
    close their committee cases as withdrawn); flag a person's waiting proposals for them.
    Returns {actions_withdrawn, actions_flagged, committee_cases_withdrawn}.  Runs inside the
    rules' transaction (``rules.rules_evaluate_detailed``), after the resolving UPDATEs."""
    from django.db import connection, transaction
    from django.utils import timezone

    from .rules import CLEARED_REASON

    now = timezone.now()
    params = {
        "now": connection.ops.adapt_datetimefield_value(now),
        "prefix": WITHDRAWN_NOTE_PREFIX,
        "cleared": CLEARED_REASON.split("{date}")[0] + "%",
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_settle_sql(connection.vendor), params)
        rows = cursor.fetchall()
        withdrawn = sorted(pk for pk, status in rows if status == ActionStatus.WITHDRAWN)
        cases = _committee_cases_withdraw(now) if withdrawn else 0
        if withdrawn:
            _tell_partners(withdrawn)
    counts = {"actions_withdrawn": len(withdrawn), "actions_flagged": len(rows) - len(withdrawn),
              "committee_cases_withdrawn": cases}
    if rows:
        log.info("warnings cleared on %s: %s", as_of, counts)
    return counts


@functools.cache
def _committee_cases_withdraw_sql() -> str:
    """Built once; table and column names from the models' metadata."""
    from .models import CaseStatus, CommitteeCase

    table, actions = CommitteeCase._meta.db_table, PostLoanAction._meta.db_table
    cc, ac = column_names(CommitteeCase), column_names(PostLoanAction)
    return (
        f"UPDATE {table} SET {cc['status']} = '{CaseStatus.WITHDRAWN.value}', {cc['closed_at']} = %s, "
        f"{cc['outcome_reason']} = (SELECT p.{ac['decision_note']} FROM {actions} p "
        f"WHERE p.{ac['id']} = {table}.{cc['subject_id']}) "
        f"WHERE {cc['kind']} = 'post_loan_action' AND {cc['status']} = '{CaseStatus.OPEN.value}' "
        f"AND {cc['subject_id']} IN (SELECT p.{ac['id']} FROM {actions} p WHERE p.{ac['status']} = "
        f"'{ActionStatus.WITHDRAWN.value}') "
        f"RETURNING {cc['id']}, {cc['subject_id']}, {cc['outcome_reason']}"
    )


def _committee_cases_withdraw(now) -> int:
    """Close, as withdrawn, every open committee case of a withdrawn action (one UPDATE; each
    close goes into the ledger like any other close of a case)."""
    from django.db import connection

    from loans.services.ledger import ledger_append

    from .models import CaseStatus, CommitteeCase

    with connection.cursor() as cursor:
        cursor.execute(_committee_cases_withdraw_sql(), [connection.ops.adapt_datetimefield_value(now)])
        closed = sorted(cursor.fetchall())
    for case_id, action_id, reason in closed:
        ledger_append(
            kind="committee.case_closed", subject=(CommitteeCase._meta.label_lower, case_id),
            payload={"case_id": case_id, "kind": "post_loan_action", "subject_id": action_id,
                     "status": CaseStatus.WITHDRAWN.value, "closed_by": None, "reason": reason, "terms": {}},
        )
    return len(closed)


def _tell_partners(action_ids: list[int]) -> None:
    """``post_loan_action.withdrawn`` to the partner owning each withdrawn action's line or loan."""
    from loans.api.webhooks import webhook_emit, webhook_endpoints_for_event

    from .actions import action_payload

    event = "post_loan_action.withdrawn"
    endpoints: dict[int, list] = {}
    for action in PostLoanAction.objects.select_related("credit_line", "loan").filter(pk__in=action_ids).order_by("pk"):
        partner_id = action.loan.partner_id if action.loan_id else action.credit_line.partner_id
        if partner_id is None:
            continue
        if partner_id not in endpoints:
            endpoints[partner_id] = webhook_endpoints_for_event(partner_id=partner_id, event_type=event)
        payload = {**action_payload(action), "withdrawn_at": action.decided_at, "withdrawn_reason": action.decision_note,
                   "alert_cleared_on": action.alert_cleared_on}
        webhook_emit(partner_id=partner_id, event_type=event, payload=payload, endpoints=endpoints[partner_id])


# --- the system's freeze and the warning that explains it -------------------------------------
#
# The protective freeze runs when the scores are written (``monitoring.protection``), before the
# night's rules raise ``below_minimum`` or ``related_party_deterioration``: it is recorded with
# no alert, and with its cause in its terms (``params["cause"]``: the rule that reports the same
# condition).  After the rules (and after the night's own protective pass), one UPDATE links each
# such freeze of the last two days to its company's live alert of that rule.  The alert keeps at
# most one system action (``pla_one_system_proposal_per_alert``): an alert that already has one
# is not linked, and of a company's several frozen lines the first freeze is linked.


def _json_text(column: str, key: str) -> str:
    """SQL reading ``key`` of a JSON column as text, on this database."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return f"({column} ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


@functools.cache
def _link_freezes_sql(vendor: str) -> str:
    """Built once per database; table and column names from the models' metadata."""
    from .models import ActionKind
    from .protection import OPEN_ALERT_STATUSES

    table, alerts = PostLoanAction._meta.db_table, Alert._meta.db_table
    ac, al = column_names(PostLoanAction), column_names(Alert)
    live = ", ".join(f"'{s}'" for s in OPEN_ALERT_STATUSES)

    def cause(p: str) -> str:
        return _json_text(f"{p}.{ac['params']}", "cause")

    def unlinked(p: str) -> str:
        return (f"{p}.{ac['kind']} = '{ActionKind.FREEZE_LINE.value}' AND {p}.{ac['proposed_by']} IS NULL "
                f"AND {p}.{ac['executed_by']} IS NULL AND {p}.{ac['alert']} IS NULL AND {p}.{ac['executed_at']} >= %(since)s")

    alert = (
        f"SELECT a.{al['id']} FROM {alerts} a WHERE a.{al['subject_kind']} = 'company' "
        f"AND a.{al['subject_id']} = {table}.{ac['company']} AND a.{al['status']} IN ({live}) "
        f"AND a.{al['rule']} = {cause(table)} "
        f"AND NOT EXISTS (SELECT 1 FROM {table} o WHERE o.{ac['alert']} = a.{al['id']} AND o.{ac['proposed_by']} IS NULL)"
    )
    return (
        f"UPDATE {table} SET {ac['alert']} = ({alert} ORDER BY a.{al['id']} DESC LIMIT 1), {ac['updated_at']} = %(now)s "
        f"WHERE {unlinked(table)} AND EXISTS ({alert}) "
        f"AND {table}.{ac['id']} = (SELECT MIN(f.{ac['id']}) FROM {table} f WHERE f.{ac['company']} = {table}.{ac['company']} "
        f"AND {unlinked('f')} AND {cause('f')} = {cause(table)})"
    )


def system_freezes_link_alerts(*, as_of: datetime.date) -> int:
    """Link the system's freezes of ``as_of`` and the day before, recorded with no alert, to
    their company's live alert of the rule that explains them; returns how many were linked.
    Rerun-safe: a linked freeze is no longer looked at."""
    from django.db import connection
    from django.utils import timezone

    since = timezone.make_aware(datetime.datetime.combine(as_of - datetime.timedelta(days=1), datetime.time.min))
    params = {"now": connection.ops.adapt_datetimefield_value(timezone.now()),
              "since": connection.ops.adapt_datetimefield_value(since)}
    with connection.cursor() as cursor:
        cursor.execute(_link_freezes_sql(connection.vendor), params)
        linked = cursor.rowcount
    if linked:
        log.info("system freezes linked to their warnings on %s: %s", as_of, linked)
    return linked
