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
import functools
import logging

from django.db import connection, transaction
from django.dispatch import receiver
from django.utils.translation import gettext as _

from config.sqlnames import column_names
from loans.choices import CreditLineStatus, Role
from loans.models import DEFAULT_POLICY, CreditLine, CreditPolicy, RelatedParty, role_current_on_sql
from loans.services.groups import MAJORITY_PCT
from loans.services.policy import credit_policy_active
from scoring.models import LatestScore
from scoring.signals import company_scores_written

from .models import ALERT_LIVE_STATUSES, ActionKind, Alert, Severity

log = logging.getLogger(__name__)

KEY_ROLES = (Role.LEGAL_REPRESENTATIVE, Role.ACTUAL_CONTROLLER)


JIT_OFF_FROM = 1000  # companies: a nightly chunk, not an event-driven rescoring of a few


@functools.lru_cache(maxsize=64)
def _lines_to_protect_sql(n_ids: int | None) -> str:
    """The protective check as one precompiled statement per number of companies (``None``:
    the whole book), names from the models' metadata.  Built once: composing the same query
    through the ORM (two EXISTS over four tables, the policy's minimum inside) cost more Python
    time than the rest of an event-driven rescore together (measured with ``bench_event_rescore``).

    With companies given, both EXISTS are also bounded by the range of their ids: the planner
    runs each EXISTS once over the whole book (a hashed subplan) rather than once per line, so
    a nightly chunk (a contiguous id range) would read the whole book's parties and scores
    (measured at 100,000 companies: 4-5 s of a 15 s chunk of 25,000 companies)."""
    cl, s, p, rp = (column_names(m) for m in (CreditLine, LatestScore, CreditPolicy, RelatedParty))
    lines, latest = CreditLine._meta.db_table, LatestScore._meta.db_table
    parties, policies = RelatedParty._meta.db_table, CreditPolicy._meta.db_table
    key_roles = ", ".join(f"'{r.value}'" for r in KEY_ROLES)
    if n_ids is None:
        companies = score_range = party_range = ""
    else:
        companies = f"AND cl.{cl['company']} IN ({', '.join(['%s'] * n_ids)}) "
        score_range = f"AND s.{s['subject_id']} BETWEEN %s AND %s "
        party_range = f"AND rp.{rp['company']} BETWEEN %s AND %s "
    return (
        f"SELECT id, low, party FROM (SELECT cl.{cl['id']} AS id, "
        # the company's latest score below the active policy's minimum
        f"EXISTS (SELECT 1 FROM {latest} s WHERE s.{s['subject_kind']} = 'company' "
        f"AND s.{s['subject_id']} = cl.{cl['company']} {score_range}"
        f"AND s.{s['score']} < COALESCE((SELECT p.{p['min_score']} FROM {policies} p WHERE p.{p['is_active']} = TRUE "
        f"ORDER BY p.{p['version']} DESC LIMIT 1), {int(DEFAULT_POLICY['min_score'])})) AS low, "
        # a key person (legal representative, actual controller, major shareholder) in default
        f"EXISTS (SELECT 1 FROM {parties} rp JOIN {latest} ps ON ps.{s['subject_kind']} = 'person' "
        f"AND ps.{s['subject_id']} = rp.{rp['person']} AND ps.{s['in_default']} = TRUE "
        f"WHERE rp.{rp['company']} = cl.{cl['company']} {party_range}AND (rp.{rp['role']} IN ({key_roles}) "
        f"OR (rp.{rp['role']} = '{Role.SHAREHOLDER.value}' AND rp.{rp['ownership_pct']} >= {MAJORITY_PCT})) "
        f"AND {role_current_on_sql('rp')}) AS party "
        f"FROM {lines} cl WHERE cl.{cl['status']} = '{CreditLineStatus.ACTIVE.value}' {companies}) x "
        "WHERE low OR party ORDER BY id"
    )


# Why the system froze a line, kept in the freeze's terms (``params["cause"]``) in the words of
# the warning rule that reports the same condition, so that the night can link the freeze to
# that warning (``proposals.system_freezes_link_alerts``) whatever language the reason is in.
BELOW_MINIMUM = "below_minimum"
KEY_PERSON_IN_DEFAULT = "related_party_deterioration"


def lines_to_protect(*, company_ids=None, as_of: datetime.date) -> list[tuple[int, str, str]]:
    """(active line id, reason, cause) for the companies (all when None) that must be frozen.  One
    statement (the policy's minimum read inside it): this runs whenever company scores are
    written, in the request of event-driven rescoring; the policy row is read only when a line
    is to be frozen, for the reason's wording."""
    ids = None if company_ids is None else sorted(set(company_ids))
    if ids is not None and not ids:
        return []
    day = connection.ops.adapt_datefield_value(as_of)
    if ids is None:
        params = [day, day]
    else:
        params = [ids[0], ids[-1], ids[0], ids[-1], day, day, *ids]
    sql = _lines_to_protect_sql(None if ids is None else len(ids))
    if ids is None or len(ids) >= JIT_OFF_FROM:
        # A chunk's statement is estimated dear enough for PostgreSQL's JIT, which then spent
        # 3.5 of its 3.7 s compiling (measured at 100k companies, 25,000 a chunk).  An event's
        # few companies keep their statement count (no savepoint).
        from .rules import jit_off_for_transaction

        with transaction.atomic(), connection.cursor() as cursor:
            jit_off_for_transaction()
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    out = []
    minimum = credit_policy_active().min_score if any(low for _id, low, _party in rows) else None
    for line_id, low, _party in rows:
        reason = (_("the company's latest score is below the policy minimum %(min)s") % {"min": minimum}) if low else \
            _("a key person of the company (legal representative, actual controller or major shareholder) is in default")
        out.append((line_id, reason, BELOW_MINIMUM if low else KEY_PERSON_IN_DEFAULT))
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
    for line_id, reason, cause in lines_to_protect(company_ids=company_ids, as_of=as_of):
        try:
            post_loan_action_system_execute(kind=ActionKind.FREEZE_LINE, credit_line_id=line_id, reason=reason, on=as_of,
                                            cause=cause)
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
    from .wording import rule_label

    return _("Credit line #%(line)s: the company has an open blocking warning (%(rule)s of %(as_of)s); no drawdown until it is resolved.") % {
        "line": line.pk, "rule": rule_label(found[0]), "as_of": found[1]}
