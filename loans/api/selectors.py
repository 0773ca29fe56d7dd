"""Reads, always scoped to the partner: another partner's object simply is not there (404)."""

from __future__ import annotations

from django.db import connection
from django.db.models import Prefetch

from loans import rawsql
from loans.models import Company, CreditLine, Decision, Loan, LoanApplication, RelatedParty

from .models import WebhookDelivery, WebhookEndpoint


def companies_for(partner_id: int):
    return Company.objects.filter(partner_id=partner_id)


# Precompiled (see loans/rawsql.py): every application POST checks its company this way.
_COMPANY = rawsql.column_names(Company)
_HAS_COMPANY_SQL = f'SELECT 1 FROM "{Company._meta.db_table}" WHERE {_COMPANY["id"]} = %s AND {_COMPANY["partner"]} = %s'


def partner_has_company(partner_id: int, company_id: int) -> bool:
    with connection.cursor() as cur:
        cur.execute(_HAS_COMPANY_SQL, [company_id, partner_id])
        return cur.fetchone() is not None


def company_detail_qs(partner_id: int):
    return companies_for(partner_id).prefetch_related(
        Prefetch("related_parties", queryset=RelatedParty.objects.select_related("person").order_by("role", "id"))
    )


def applications_for(partner_id: int):
    return (
        LoanApplication.objects.filter(partner_id=partner_id)
        .select_related("product", "credit_line")
        .prefetch_related(Prefetch("decisions", queryset=Decision.objects.order_by("-id")))
    )


def credit_lines_for(partner_id: int):
    return CreditLine.objects.filter(partner_id=partner_id).select_related("product")


def loans_for(partner_id: int):
    return Loan.objects.filter(partner_id=partner_id)


def webhook_endpoints_for(partner_id: int):
    return WebhookEndpoint.objects.filter(partner_id=partner_id)


def webhook_deliveries_for(partner_id: int):
    return WebhookDelivery.objects.filter(endpoint__partner_id=partner_id)
