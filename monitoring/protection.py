"""Protective actions that run at once, and the drawdown guard.

When a company's latest score falls below the credit policy's minimum, or one of its key
people (legal representative, actual controller, major shareholder) is in default, its active
lines are frozen by the system: a ``freeze_line`` action recorded as proposed and executed by
nobody (the system), with its ledger entry and webhooks.  ``protect_companies`` finds the
lines in one statement, then freezes each (a handful a night, each in its own locked
transaction).  It runs after the nightly rules and whenever company scores are written
(``scoring.signals.company_scores_written``).
"""

from __future__ import annotations

import datetime
import logging

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery, Value
from django.db.models.functions import Coalesce
from django.dispatch import receiver
from django.utils.translation import gettext as _

from loans.choices import CreditLineStatus, Role
from loans.models import DEFAULT_POLICY, CreditLine, CreditPolicy, RelatedParty, role_current_on
from loans.services.groups import MAJORITY_PCT
from loans.services.policy import credit_policy_active
from scoring.models import LatestScore
from scoring.signals import company_scores_written

from .models import ALERT_LIVE_STATUSES, ActionKind, Alert, Severity

log = logging.getLogger(__name__)

KEY_ROLES = (Role.LEGAL_REPRESENTATIVE, Role.ACTUAL_CONTROLLER)
JIT_OFF_FROM = 1000  # companies: a nightly chunk, not an event-driven rescoring of a few


def lines_to_protect(*, company_ids=None, as_of: datetime.date) -> list[tuple[int, str]]:
    """(active line id, reason) for the companies (all when None) that must be frozen.  One
    statement (the policy's minimum read inside it): this runs whenever company scores are
    written, in the request of event-driven rescoring; the policy row is read only when a line
    is to be frozen, for the reason's wording."""
    minimum = Coalesce(
        Subquery(CreditPolicy.objects.filter(is_active=True).order_by("-version").values("min_score")[:1]),
        Value(DEFAULT_POLICY["min_score"]),
    )
    low_score = LatestScore.objects.filter(subject_kind="company", subject_id=OuterRef("company_id"), score__lt=minimum)
    party_default = RelatedParty.objects.filter(
        Q(role__in=KEY_ROLES) | Q(role=Role.SHAREHOLDER, ownership_pct__gte=MAJORITY_PCT),
        role_current_on(as_of), company_id=OuterRef("company_id"),
    ).filter(
        Exists(LatestScore.objects.filter(subject_kind="person", subject_id=OuterRef("person_id"), in_default=True))
    )
    qs = CreditLine.objects.filter(status=CreditLineStatus.ACTIVE)
    if company_ids is not None:
        company_ids = list(company_ids)
        if not company_ids:
            return []
        qs = qs.filter(company_id__in=company_ids)
        # The planner runs each EXISTS once over the whole book (a hashed subplan) rather than
        # once per line: bounded by the chunk's ids (a nightly chunk is a contiguous range), a
        # chunk's call reads its own companies' parties and scores, not the book's (measured at
        # 100k companies: 4-5 s of a 15 s chunk of 25,000 companies went here).
        low, high = min(company_ids), max(company_ids)
        low_score = low_score.filter(subject_id__range=(low, high))
        party_default = party_default.filter(company_id__gte=low, company_id__lte=high)
    qs = qs.annotate(low=Exists(low_score), party=Exists(party_default)).filter(Q(low=True) | Q(party=True))
    out = []
    if company_ids is None or len(company_ids) >= JIT_OFF_FROM:
        # A chunk's statement is estimated dear enough for PostgreSQL's JIT, which then spent
        # 3.5 of its 3.7 s compiling (measured at 100k companies, 25,000 per chunk).
        from .rules import jit_off_for_transaction

        with transaction.atomic():
            jit_off_for_transaction()
            rows = list(qs.order_by("id").values_list("id", "low", "party"))
    else:
        rows = list(qs.order_by("id").values_list("id", "low", "party"))
    minimum = credit_policy_active().min_score if any(low for _id, low, _party in rows) else None
    for line_id, low, _party in rows:
        reason = (_("the company's latest score is below the policy minimum %(min)s") % {"min": minimum}) if low else \
            _("a key person of the company (legal representative, actual controller or major shareholder) is in default")
        out.append((line_id, reason))
    return out


def protect_companies(company_ids=None, as_of: datetime.date | None = None) -> int:
    """Freeze (by the system) every active line of the companies that fell below the minimum
    or whose key person defaulted; returns how many lines were frozen.  Rerun-safe: a frozen
    line is no longer active."""
    from django.utils import timezone

    from loans.errors import DomainError

    from .actions import post_loan_action_system_execute

    as_of = as_of or timezone.localdate()
    if company_ids is None:  # the whole book (the night): no JIT for the one large statement
        from .rules import jit_off_for_transaction

        jit_off_for_transaction()
    frozen = 0
    for line_id, reason in lines_to_protect(company_ids=company_ids, as_of=as_of):
        try:
            post_loan_action_system_execute(kind=ActionKind.FREEZE_LINE, credit_line_id=line_id, reason=reason, on=as_of)
            frozen += 1
        except DomainError as exc:  # moved meanwhile (frozen or closed by someone else)
            log.info("protective freeze of line %s skipped: %s", line_id, exc)
    return frozen


@receiver(company_scores_written, dispatch_uid="monitoring.protect_companies")
def on_company_scores_written(sender, *, company_ids=None, as_of=None, **kwargs):
    protect_companies(company_ids, as_of)


# --- drawdown guard ------------------------------------------------------------------------

BLOCKING_SEVERITIES = (Severity.HIGH,)
OPEN_ALERT_STATUSES = ALERT_LIVE_STATUSES


def blocking_alert_guard(line: CreditLine) -> str | None:
    """A drawdown is refused while the company has an open high-severity warning."""
    found = (
        Alert.objects.filter(
            subject_kind="company", subject_id=line.company_id, status__in=OPEN_ALERT_STATUSES, severity__in=BLOCKING_SEVERITIES,
        ).order_by("-last_seen_on").values_list("rule", "last_seen_on").first()
    )
    if found is None:
        return None
    return _("Credit line #%(line)s: the company has an open blocking warning (%(rule)s of %(as_of)s); no drawdown until it is resolved.") % {
        "line": line.pk, "rule": found[0], "as_of": found[1]}
