"""Credit lines and drawdowns.

A drawdown locks its line (``SELECT … FOR UPDATE``), checks the available limit, raises the
drawn principal and creates the loan with its schedule, in one transaction; the database's
``line_drawn_within_limit`` constraint is the backstop if anything ever skipped the check.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from config.history.records import records_actor

from .. import events, value_dates
from ..choices import CreditLineStatus, LoanStatus
from ..errors import DomainError, InvalidTransition, NotFound
from ..ledger_chain import LedgerKind
from ..models import CreditLine, Installment, Loan
from ..money import MoneyError, money
from ..schedule import add_months, build_schedule
from .ledger import ledger_append

# Checks a drawdown must pass besides the line's own state, each ``(line) -> str | None`` (the
# reason to refuse).  Apps above the loan book register theirs (monitoring: open blocking
# alerts); the loan book itself checks the company's latest score (``_score_guard``).
DRAWDOWN_GUARDS: list = []

LINE_TRANSITIONS = {
    CreditLineStatus.ACTIVE: frozenset({CreditLineStatus.FROZEN, CreditLineStatus.CLOSED}),
    CreditLineStatus.FROZEN: frozenset({CreditLineStatus.ACTIVE, CreditLineStatus.CLOSED}),
    CreditLineStatus.CLOSED: frozenset(),
}


def _lock_line(credit_line_id: int) -> CreditLine:
    try:
        return CreditLine.objects.select_for_update(of=("self",)).select_related("product").get(pk=credit_line_id)
    except CreditLine.DoesNotExist:
        raise NotFound(f"Credit line #{credit_line_id} does not exist.", field="credit_line_id") from None


def installments_from_schedule(loan: Loan, rows) -> list[Installment]:
    return [
        Installment(loan=loan, number=r.number, due_date=r.due_date, principal_due=r.principal, interest_due=r.interest)
        for r in rows
    ]


@records_actor
def credit_line_draw_down(
    *,
    credit_line_id: int,
    amount,
    term_months: int,
    disbursed_on: datetime.date | None = None,
    idempotency_key: str | None = None,
    actor=None,
) -> Loan:
    """Draw ``amount`` on an active, unexpired line; returns the new loan (or, for a repeated
    ``idempotency_key`` with the same terms, the loan the first call created)."""
    disbursed_on = disbursed_on or timezone.localdate()
    try:
        amount = money(amount)
    except (MoneyError, TypeError):
        raise ValidationError({"amount": "The amount must be a decimal number."}) from None
    if amount <= 0:
        raise ValidationError({"amount": "The amount must be greater than zero."})
    if isinstance(term_months, bool) or not isinstance(term_months, int):
        raise ValidationError({"term_months": "The term must be a whole number of months."})

    with transaction.atomic():
        line = _lock_line(credit_line_id)
        if idempotency_key:
            existing = Loan.objects.filter(credit_line=line, idempotency_key=idempotency_key).first()
            if existing is not None:
                if existing.principal != amount or existing.term_months != term_months:
                    raise DomainError(
                        f"Idempotency key {idempotency_key!r} was already used for a different drawdown (loan #{existing.pk}).",
                        field="idempotency_key",
                        code="idempotency_conflict",
                    )
                return existing
        if line.status != CreditLineStatus.ACTIVE:
            raise DomainError(f"Credit line #{line.pk} is {line.status}; only an active line can be drawn.", code="line_not_active")
        value_dates.check_disbursed_on(disbursed_on, opened_on=line.opened_on)
        if disbursed_on > line.expires_on:
            raise DomainError(f"Credit line #{line.pk} expired on {line.expires_on}.", code="line_expired")
        for guard in (_score_guard, *DRAWDOWN_GUARDS):
            refusal = guard(line)
            if refusal:
                raise DomainError(refusal, code="drawdown_blocked")
        product = line.product
        if not (product.min_term_months <= term_months <= product.max_term_months):
            raise ValidationError(
                {"term_months": f"Term {term_months} months is outside the product's range {product.min_term_months}–{product.max_term_months} months."}
            )
        available = line.limit_amount - line.drawn_principal
        if amount > available:
            raise DomainError(
                f"Drawdown of {amount} exceeds the available limit of {available} on credit line #{line.pk}.",
                field="amount",
                code="limit_exceeded",
            )
        first_due = add_months(disbursed_on, 1)
        rows = build_schedule(
            principal=amount, annual_rate=line.annual_rate, term_months=term_months,
            method=product.repayment_method, first_due_date=first_due,
        )
        # The row is locked: write the exact Decimal (SQLite would add in floating point).
        line.drawn_principal = money(line.drawn_principal + amount)
        line.save(update_fields=["drawn_principal", "updated_at"])
        loan = Loan.objects.create(
            credit_line=line,
            company_id=line.company_id,
            partner_id=line.partner_id,
            principal=amount,
            annual_rate=line.annual_rate,
            term_months=term_months,
            repayment_method=product.repayment_method,
            disbursed_on=disbursed_on,
            first_due_date=first_due,
            maturity_date=rows[-1].due_date,
            outstanding_principal=amount,
            idempotency_key=idempotency_key or None,
        )
        Installment.objects.bulk_create(installments_from_schedule(loan, rows))
        # Last write of the transaction (the ledger serialises its appenders until commit).
        ledger_append(
            kind=LedgerKind.DRAWDOWN, subject=loan,
            payload={"credit_line_id": line.pk, "company_id": line.company_id, "amount": amount, "term_months": term_months,
                     "annual_rate": line.annual_rate, "disbursed_on": disbursed_on, "drawn_after": line.drawn_principal,
                     "actor_id": getattr(actor, "pk", None)},
        )
        return loan


def _score_guard(line: CreditLine) -> str | None:
    """The company's latest score must still meet the policy's minimum (a score that fell
    overnight stops the next drawdown even before the nightly freeze)."""
    from scoring.api import latest_score

    from .policy import credit_policy_active

    latest = latest_score(subject_kind="company", subject_id=line.company_id)
    if latest is None:
        return None  # never scored here: the line was granted on the application's scores
    minimum = credit_policy_active().min_score
    if latest.score < minimum:
        return (
            f"Credit line #{line.pk}: the company's latest score {latest.score} (of {latest.as_of}) "
            f"is below the policy minimum {minimum}; no drawdown until it recovers."
        )
    return None


def _ledger_line(line: CreditLine, kind: str, change: str, before, after, actor) -> None:
    ledger_append(
        kind=kind, subject=line,
        payload={"change": change, "before": before, "after": after, "company_id": line.company_id,
                 "actor_id": getattr(actor, "pk", None)},
    )


_CHANGE_NAME = {CreditLineStatus.FROZEN: "frozen", CreditLineStatus.ACTIVE: "unfrozen", CreditLineStatus.CLOSED: "closed"}


def _line_set_status(*, credit_line_id: int, to_status: str, actor=None, locked: CreditLine | None = None) -> CreditLine:
    """``locked``: the line as the caller's transaction already locked it (a post-loan action's
    execution), saving the second lock and savepoint on the protective freeze's path."""
    if locked is not None and locked.pk != credit_line_id:
        raise ValueError(f"locked line #{locked.pk} is not credit line #{credit_line_id}")
    with transaction.atomic(savepoint=locked is None):
        line = locked if locked is not None else _lock_line(credit_line_id)
        before = line.status
        if to_status not in LINE_TRANSITIONS[line.status]:
            raise InvalidTransition(f"Credit line #{line.pk} cannot go from {line.status} to {to_status}.", field="status")
        if to_status == CreditLineStatus.CLOSED and line.loans.filter(status=LoanStatus.ACTIVE).exists():
            raise DomainError(f"Credit line #{line.pk} still has active loans; it can be frozen, not closed.", code="line_has_loans")
        line.status = to_status
        line.save(update_fields=["status", "updated_at"])
        events.credit_line_changed.send(sender=CreditLine, credit_line=line, change=_CHANGE_NAME[to_status])
        _ledger_line(line, LedgerKind.CREDIT_LINE_STATUS_CHANGED, _CHANGE_NAME[to_status], before, to_status, actor)
        return line


@records_actor
def credit_line_freeze(*, credit_line_id: int, actor=None, locked: CreditLine | None = None) -> CreditLine:
    return _line_set_status(credit_line_id=credit_line_id, to_status=CreditLineStatus.FROZEN, actor=actor, locked=locked)


@records_actor
def credit_line_unfreeze(*, credit_line_id: int, actor=None, locked: CreditLine | None = None) -> CreditLine:
    return _line_set_status(credit_line_id=credit_line_id, to_status=CreditLineStatus.ACTIVE, actor=actor, locked=locked)


@records_actor
def credit_line_close(*, credit_line_id: int, actor=None) -> CreditLine:
    return _line_set_status(credit_line_id=credit_line_id, to_status=CreditLineStatus.CLOSED, actor=actor)


@records_actor
def credit_line_reduce_limit(*, credit_line_id: int, new_limit, actor=None) -> CreditLine:
    """Lower a line's limit, never below what is drawn (the effect of a ``reduce_limit`` action)."""
    return _line_set_limit(credit_line_id=credit_line_id, new_limit=new_limit, actor=actor, increase=False)


def credit_line_increase_limit(*, credit_line_id: int, new_limit, actor=None) -> CreditLine:
    """Raise a line's limit within the product's maximum (the effect of an ``increase_limit`` action)."""
    return _line_set_limit(credit_line_id=credit_line_id, new_limit=new_limit, actor=actor, increase=True)


def _line_set_limit(*, credit_line_id: int, new_limit, actor, increase: bool) -> CreditLine:
    try:
        new_limit = money(new_limit)
    except (MoneyError, TypeError):
        raise ValidationError({"new_limit": "The new limit must be a decimal number."}) from None
    if new_limit < 0:
        raise ValidationError({"new_limit": f"The new limit cannot be negative ({new_limit})."})
    with transaction.atomic():
        line = _lock_line(credit_line_id)
        if line.status == CreditLineStatus.CLOSED:
            raise DomainError(f"Credit line #{line.pk} is closed; its limit cannot change.", code="line_closed")
        before = line.limit_amount
        if increase:
            if new_limit <= line.limit_amount or new_limit > line.product.max_amount:
                raise ValidationError(
                    {"new_limit": f"The new limit must be above the current limit {line.limit_amount} and at most the product's maximum {line.product.max_amount}."}
                )
        elif new_limit < line.drawn_principal or new_limit >= line.limit_amount:
            raise ValidationError(
                {"new_limit": f"The new limit must be at least the drawn principal {line.drawn_principal} and below the current limit {line.limit_amount}."}
            )
        line.limit_amount = new_limit
        try:
            line.save(update_fields=["limit_amount", "updated_at"])
        except IntegrityError as exc:  # pragma: no cover - the check above makes this a backstop
            raise DomainError(str(exc), code="constraint") from exc
        change = "limit_raised" if increase else "limit_cut"
        events.credit_line_changed.send(sender=CreditLine, credit_line=line, change=change)
        _ledger_line(line, LedgerKind.CREDIT_LINE_LIMIT_CHANGED, change, before, new_limit, actor)
        return line
