"""Turn the loan book's domain events (loans/events.py) into partner webhooks.

Receivers run inside the sender's transaction; ``webhook_emit`` queues the deliveries with
``transaction.on_commit``, so a rolled-back change notifies nobody.
"""

from collections import defaultdict

from django.dispatch import receiver

from loans import events

from .services import application_decided_payload
from .webhooks import webhook_emit, webhook_endpoints_for_event


@receiver(events.application_decided, dispatch_uid="partner_api.application_decided")
def on_application_decided(sender, *, application, outcome, reasons=None, **kwargs):
    webhook_emit(
        partner_id=application.partner_id,
        event_type="application.decided",
        payload=application_decided_payload(application, outcome, reasons),
    )


@receiver(events.credit_line_changed, dispatch_uid="partner_api.credit_line_changed")
def on_credit_line_changed(sender, *, credit_line, change, **kwargs):
    webhook_emit(
        partner_id=credit_line.partner_id,
        event_type="credit_line.changed",
        payload={
            "credit_line_id": credit_line.pk,
            "company_id": credit_line.company_id,
            "change": change,
            "status": credit_line.status,
            "limit_amount": credit_line.limit_amount,
            "drawn_principal": credit_line.drawn_principal,
            "expires_on": credit_line.expires_on,
        },
    )


@receiver(events.loans_became_overdue, dispatch_uid="partner_api.loans_became_overdue")
def on_loans_became_overdue(sender, *, as_of, loans, **kwargs):
    by_partner = defaultdict(list)
    for loan_id, partner_id, dpd, bucket in loans:
        if partner_id is not None:
            by_partner[partner_id].append((loan_id, dpd, bucket))
    for partner_id, rows in by_partner.items():
        # One endpoint lookup per partner, not per loan.
        endpoints = webhook_endpoints_for_event(partner_id=partner_id, event_type="loan.overdue")
        if not endpoints:
            continue
        for loan_id, dpd, bucket in rows:
            webhook_emit(
                partner_id=partner_id,
                event_type="loan.overdue",
                endpoints=endpoints,
                payload={"loan_id": loan_id, "as_of": as_of, "days_past_due": dpd, "bucket": bucket},
            )
