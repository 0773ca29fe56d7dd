"""From warning to proposed action: the nightly proposals after the rules.

``propose_actions(as_of)`` reads, in ONE statement, every open company warning with a policy
row (rule, severity) and no open action yet, with the company's line (the most recent active
or frozen one) and, for loan actions, its most overdue active loan.  Each candidate's terms
are checked against its line or loan, and the proposals are written with one bulk INSERT that
skips any alert already answered (the ``pla_one_system_proposal_per_alert`` constraint):
a rerun proposes nothing new, and there is at most one system proposal per warning.
"""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Subquery

from loans.choices import CreditLineStatus, LoanStatus
from loans.errors import DomainError
from loans.models import CreditLine, Loan

from .actions import needs_committee, validate_terms
from .models import (
    LOAN_KINDS,
    OPEN_ACTION_STATUSES,
    SECURITY_KINDS,
    ActionPolicy,
    ActionStatus,
    Alert,
    PostLoanAction,
)
from .protection import OPEN_ALERT_STATUSES

log = logging.getLogger(__name__)


def propose_actions(as_of: datetime.date) -> dict:
    """Propose the policy's action for each open warning without one; {proposed, skipped}."""
    policy = ActionPolicy.objects.filter(rule=OuterRef("rule"), severity=OuterRef("severity"), is_active=True)
    line = CreditLine.objects.filter(
        company_id=OuterRef("subject_id"), status__in=[CreditLineStatus.ACTIVE, CreditLineStatus.FROZEN]
    ).order_by("-id")
    loan = Loan.objects.filter(company_id=OuterRef("subject_id"), status=LoanStatus.ACTIVE).order_by("-days_past_due", "-id")
    answered = PostLoanAction.objects.filter(alert_id=OuterRef("pk")).filter(
        status__in=OPEN_ACTION_STATUSES
    )
    system_answered = PostLoanAction.objects.filter(alert_id=OuterRef("pk"), proposed_by__isnull=True)
    candidates = list(
        Alert.objects.filter(subject_kind="company", status__in=OPEN_ALERT_STATUSES)
        .annotate(
            kind=Subquery(policy.values("action_kind")[:1]), params=Subquery(policy.values("params")[:1]),
            line_id=Subquery(line.values("id")[:1]), loan_id=Subquery(loan.values("id")[:1]),
        )
        .filter(kind__isnull=False, line_id__isnull=False)
        .exclude(Exists(answered)).exclude(Exists(system_answered))
        .values_list("pk", "subject_id", "rule", "severity", "kind", "params", "line_id", "loan_id")
    )
    if not candidates:
        return {"actions_proposed": 0, "actions_skipped": 0, "committee_cases_opened": 0}
    lines = CreditLine.objects.select_related("product").in_bulk([c[6] for c in candidates])
    loans = Loan.objects.in_bulk([c[7] for c in candidates if c[7]])
    rows, skipped = [], 0
    for alert_id, company_id, rule, severity, kind, params, line_id, loan_id in candidates:
        ln, lo = lines[line_id], loans.get(loan_id)
        if kind not in LOAN_KINDS and kind not in SECURITY_KINDS:
            lo = None
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
    created = PostLoanAction.objects.bulk_create(rows, ignore_conflicts=True, batch_size=5000)
    from .committee import committee_cases_open_for_actions

    # Recall, restructure, write-off and large cuts go to the credit committee at once.
    opened = committee_cases_open_for_actions()
    return {"actions_proposed": len(created), "actions_skipped": skipped, "committee_cases_opened": opened}
