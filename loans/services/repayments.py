"""Repayments: allocation, prepayment with re-amortization, idempotency, overpayment.

Allocation: first the penalty, then the interest, then the principal of every installment
due on or before the day the money arrived, oldest installment first within each component.
What is left prepays principal: the future installments are superseded by a new schedule
version re-amortized over the same remaining terms (and keeping their due dates); no row is
ever deleted.  More than the pay-off amount is refused.
The same ``external_ref`` on the same loan is the same repayment: it is recorded once.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import value_dates
from ..choices import Bucket, Classification, LoanStatus
from ..errors import DomainError, NotFound
from ..ledger_chain import LedgerKind
from ..models import CreditLine, Installment, Loan, Repayment
from ..money import ZERO, MoneyError, money
from ..schedule import reamortize
from .ledger import ledger_append
from .lines import installments_from_schedule
from .policy import credit_policy_active, policy_snapshot
from .servicing import days_past_due, loan_grade


def _existing(loan_id: int, external_ref: str, amount: Decimal) -> Repayment | None:
    found = Repayment.objects.filter(loan_id=loan_id, external_ref=external_ref).first()
    if found is not None and found.amount != amount:
        raise DomainError(
            f"Repayment {external_ref!r} was already recorded on loan #{loan_id} for {found.amount}, not {amount}.",
            field="external_ref",
            code="idempotency_conflict",
        )
    return found


def loan_payoff_amount(*, loan: Loan, installments: list[Installment], on: datetime.date) -> Decimal:
    """What settles the loan on ``on``: everything due so far plus the principal not yet due."""
    due = sum((i.amount_outstanding for i in installments if i.due_date <= on), ZERO)
    future_principal = sum((i.principal_due - i.principal_paid for i in installments if i.due_date > on), ZERO)
    return money(due + future_principal)


def loan_repayment_record(
    *,
    loan_id: int,
    amount,
    external_ref: str,
    received_on: datetime.date | None = None,
    actor=None,
) -> Repayment:
    received_on = received_on or timezone.localdate()
    try:
        amount = money(amount)
    except (MoneyError, TypeError):
        raise ValidationError({"amount": "The amount must be a decimal number."}) from None
    if amount <= 0:
        raise ValidationError({"amount": "The amount must be greater than zero."})
    external_ref = (external_ref or "").strip()
    if not external_ref:
        raise ValidationError({"external_ref": "The payment's external reference is required."})

    found = _existing(loan_id, external_ref, amount)
    if found is not None:
        return found

    with transaction.atomic():
        # Lock order everywhere: line, then loan.
        line_id = Loan.objects.filter(pk=loan_id).values_list("credit_line_id", flat=True).first()
        if line_id is None:
            raise NotFound(f"Loan #{loan_id} does not exist.", field="loan_id")
        line = CreditLine.objects.select_for_update().only("id", "drawn_principal").get(pk=line_id)
        loan = Loan.objects.select_for_update().get(pk=loan_id)
        found = _existing(loan_id, external_ref, amount)  # a racing twin may have committed
        if found is not None:
            return found
        if loan.status != LoanStatus.ACTIVE:
            raise DomainError(f"Loan #{loan.pk} is {loan.status}; it takes no more repayments.", code="loan_closed")
        value_dates.check_received_on(received_on, disbursed_on=loan.disbursed_on)

        unpaid = list(loan.installments.filter(paid_on__isnull=True, superseded_on__isnull=True).order_by("number"))
        # Daily servicing accrues penalty on the loan; charge what is not yet on an
        # installment to the oldest unpaid one, so it is allocated first.
        on_installments = sum((i.penalty_due - i.penalty_paid for i in unpaid), ZERO)
        untransferred = loan.penalty_accrued - on_installments
        if untransferred > 0 and unpaid:
            unpaid[0].penalty_due += untransferred
            if unpaid[0].due_date > received_on:  # not in the due list below: save it here
                unpaid[0].save(update_fields=["penalty_due"])
        payoff = loan_payoff_amount(loan=loan, installments=unpaid, on=received_on)
        if amount > payoff:
            raise DomainError(
                f"Repayment of {amount} is more than the {payoff} that repays loan #{loan.pk} in full on {received_on}.",
                field="amount",
                code="overpayment",
            )

        due = [i for i in unpaid if i.due_date <= received_on]
        future = [i for i in unpaid if i.due_date > received_on]
        left = amount
        parts = {"penalty": ZERO, "interest": ZERO, "principal": ZERO}
        for component in ("penalty", "interest", "principal"):
            for inst in due:
                if left <= 0:
                    break
                owed = getattr(inst, f"{component}_due") - getattr(inst, f"{component}_paid")
                pay = min(owed, left)
                if pay > 0:
                    setattr(inst, f"{component}_paid", getattr(inst, f"{component}_paid") + pay)
                    parts[component] += pay
                    left -= pay
        for inst in due:
            if inst.amount_outstanding == 0:
                inst.paid_on = received_on
        Installment.objects.bulk_update(due, ["penalty_due", "penalty_paid", "interest_paid", "principal_paid", "paid_on"])

        prepaid = left  # what remains prepays principal not yet due
        if prepaid > 0:
            future_principal = sum((i.principal_due - i.principal_paid for i in future), ZERO)
            remaining = future_principal - prepaid
            parts["principal"] += prepaid
            # The future rows are superseded by a new schedule version (kept, never deleted).
            Installment.objects.filter(pk__in=[i.pk for i in future]).update(superseded_on=received_on)
            carried_penalty = sum((i.penalty_due - i.penalty_paid for i in future), ZERO)
            loan.schedule_version += 1
            if remaining > 0:
                rows = reamortize(
                    outstanding_principal=remaining,
                    annual_rate=loan.annual_rate,
                    remaining_terms=len(future),
                    method=loan.repayment_method,
                    first_due_date=future[0].due_date,
                    start_number=future[0].number,
                )
                new = installments_from_schedule(loan, rows)
                for inst, old in zip(new, future, strict=True):
                    inst.due_date = old.due_date  # keep the contract's due dates
                    inst.schedule_version = loan.schedule_version
                new[0].penalty_due += carried_penalty
                Installment.objects.bulk_create(new)

        principal_paid = parts["principal"]
        loan.outstanding_principal -= principal_paid
        still_unpaid = Installment.objects.filter(loan=loan, paid_on__isnull=True, superseded_on__isnull=True)
        oldest_overdue = still_unpaid.filter(due_date__lt=received_on).order_by("due_date").values_list("due_date", flat=True).first()
        loan.penalty_accrued = max(ZERO, loan.penalty_accrued - parts["penalty"])
        if loan.outstanding_principal == 0 and not still_unpaid.exists():
            loan.status = LoanStatus.REPAID
            loan.days_past_due, loan.bucket, loan.classification = 0, Bucket.CURRENT, Classification.NORMAL
        else:
            loan.days_past_due = days_past_due(oldest_overdue, received_on)
            loan.bucket, loan.classification = loan_grade(
                loan.days_past_due, policy_snapshot(credit_policy_active()), watch_until=loan.watch_until, as_of=received_on
            )
        loan.save(update_fields=["outstanding_principal", "penalty_accrued", "status", "days_past_due", "bucket", "classification", "schedule_version", "updated_at"])
        if principal_paid > 0:  # revolving: repaid principal can be drawn again
            line.drawn_principal = money(line.drawn_principal - principal_paid)
            line.save(update_fields=["drawn_principal", "updated_at"])
        try:
            with transaction.atomic():
                repayment = Repayment.objects.create(
                    loan=loan,
                    external_ref=external_ref,
                    amount=amount,
                    received_on=received_on,
                    penalty_part=parts["penalty"],
                    interest_part=parts["interest"],
                    principal_part=principal_paid,
                    created_by=actor if getattr(actor, "pk", None) else None,
                )
        except IntegrityError as exc:  # pragma: no cover - the loan lock serialises twins
            raise DomainError(f"Repayment {external_ref!r} is already recorded.", code="idempotency_conflict") from exc
        ledger_append(
            kind=LedgerKind.REPAYMENT, subject=repayment,
            payload={"loan_id": loan.pk, "credit_line_id": line.pk, "amount": amount, "received_on": received_on,
                     "penalty": parts["penalty"], "interest": parts["interest"], "principal": principal_paid,
                     "outstanding_after": loan.outstanding_principal, "schedule_version": loan.schedule_version,
                     "actor_id": getattr(actor, "pk", None)},
        )
        return repayment
