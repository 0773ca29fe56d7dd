"""Reads of the lending book for the API and the admin: querysets with their joins done,
so a list costs a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count, Prefetch, QuerySet, Sum

from .errors import NotFound
from .models import CreditLine, CreditPolicy, Decision, Installment, LedgerEntry, Loan, LoanApplication, Repayment


def application_list(*, partner_id: int | None = None, company_id: int | None = None, status: str | None = None) -> QuerySet[LoanApplication]:
    qs = LoanApplication.objects.select_related("company", "product", "partner")
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def application_get(*, application_id: int, partner_id: int | None = None) -> LoanApplication:
    qs = application_list(partner_id=partner_id).prefetch_related(
        Prefetch("decisions", queryset=Decision.objects.order_by("id")), "events"
    )
    try:
        return qs.get(pk=application_id)
    except LoanApplication.DoesNotExist:
        raise NotFound(f"Application #{application_id} does not exist.", field="application_id") from None


def decision_latest(*, application_id: int) -> Decision | None:
    return Decision.objects.filter(application_id=application_id).order_by("-id").first()


def credit_line_list(*, partner_id: int | None = None, company_id: int | None = None, status: str | None = None) -> QuerySet[CreditLine]:
    qs = CreditLine.objects.select_related("company", "product")
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def credit_line_get(*, credit_line_id: int, partner_id: int | None = None) -> CreditLine:
    try:
        return credit_line_list(partner_id=partner_id).get(pk=credit_line_id)
    except CreditLine.DoesNotExist:
        raise NotFound(f"Credit line #{credit_line_id} does not exist.", field="credit_line_id") from None


def loan_list(*, partner_id: int | None = None, company_id: int | None = None, credit_line_id: int | None = None, status: str | None = None) -> QuerySet[Loan]:
    qs = Loan.objects.select_related("company", "credit_line")
    if partner_id is not None:
        qs = qs.filter(partner_id=partner_id)
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    if credit_line_id is not None:
        qs = qs.filter(credit_line_id=credit_line_id)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-id")


def loan_get(*, loan_id: int, partner_id: int | None = None) -> Loan:
    """A loan with its schedule and repayments prefetched (three queries)."""
    qs = loan_list(partner_id=partner_id).prefetch_related(
        Prefetch("installments", queryset=Installment.objects.filter(superseded_on__isnull=True).order_by("number")),
        Prefetch("repayments", queryset=Repayment.objects.order_by("id")),
    )
    try:
        return qs.get(pk=loan_id)
    except Loan.DoesNotExist:
        raise NotFound(f"Loan #{loan_id} does not exist.", field="loan_id") from None


def credit_policy_versions() -> QuerySet[CreditPolicy]:
    return CreditPolicy.objects.order_by("-version")


def ledger_entries_for(*, subject_type: str, subject_id) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(subject_type=subject_type, subject_id=str(subject_id)).order_by("seq")


def portfolio_by_bucket() -> list[dict]:
    """Active loans and outstanding principal per bucket and category (one aggregate)."""
    return list(
        Loan.objects.filter(status="active")
        .values("bucket", "classification")
        .annotate(loans=Count("id"), outstanding=Sum("outstanding_principal"))
        .order_by("bucket", "classification")
    )
