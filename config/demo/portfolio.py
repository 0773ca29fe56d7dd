"""The living demo: a booked portfolio for part of the demo population and one more day of
its life (``seed_demo`` and ``simulate_day``).  Demo code only: nothing of the web process
imports it.

* ``demo_partner_file``: a share of the demo companies, with the people behind them, moves
  into the file of the demo partner "Demo Channel", so that the living demo reaches a partner
  too (its lines' and loans' post-loan actions by API, ``credit_line.changed`` and
  ``post_loan_action.executed`` by webhook once it registers an endpoint).
* ``book_demo_portfolio``: applications, credit lines and drawdowns for a share of the demo
  companies, through the services (apply → accept → book → draw down), dated a few weeks back
  so that installments fall due during the simulated days.
* ``simulate_repayments``: the repayments of a day.  Each loan has a stable behaviour for a
  seed: most pay what is due on the due date, some pay a week late, a few do not pay at all.
  Recorded through ``loan_repayment_record`` with an external reference per (loan, day), so
  running a day twice records nothing twice.
"""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

import numpy as np
from django.core.exceptions import ValidationError
from django.db.models import Q

from loans.errors import DomainError
from loans.money import money

ON_TIME, LATE, NEVER = "on_time", "late", "never"
PAYER_SHARES = ((LATE, 0.10), (NEVER, 0.05))  # the rest pay on time
LATE_DAYS = 7
BOOK_SHARE = 0.15
BOOK_MAX = 400
DEMO_PARTNER = "Demo Channel"
PARTNER_SHARE = 0.25


def payer_behaviours(loan_ids, seed: int) -> list[str]:
    from .credit import stable_unit

    u = stable_unit(np.asarray(list(loan_ids), dtype=np.int64), seed, salt=11)
    out = []
    for x in u.tolist():
        if x < PAYER_SHARES[0][1]:
            out.append(LATE)
        elif x < PAYER_SHARES[0][1] + PAYER_SHARES[1][1]:
            out.append(NEVER)
        else:
            out.append(ON_TIME)
    return out


def demo_partner_file(*, seed: int, share: float = PARTNER_SHARE):
    """Move a share of the lender's demo companies into the file of the partner
    ``DEMO_PARTNER`` (created if missing), with their people.  Only companies whose people
    hold roles in no other company move, so that a company and its persons stay in one file
    (a borrower group stays whole, in the lender's file).  Two UPDATEs whatever the size;
    once the partner has companies it does nothing.  Returns the partner."""
    from django.db import transaction
    from django.db.models import Count

    from loans.models import Company, Partner, Person, RelatedParty

    with transaction.atomic():
        partner, _ = Partner.objects.get_or_create(name=DEMO_PARTNER)
        if partner.companies.exists():
            return partner  # moved already: a second call moves no one else
        shared = (RelatedParty.objects.values("person_id").annotate(n=Count("company_id", distinct=True))
                  .filter(n__gt=1).values("person_id"))
        ids = sorted(Company.objects.filter(partner__isnull=True).exclude(related_parties__person_id__in=shared)
                     .values_list("id", flat=True))
        total = Company.objects.filter(partner__isnull=True).count()
        picked = sorted(random.Random(seed * 13 + 5).sample(ids, min(len(ids), int(total * share))))
        Person.objects.filter(roles__company_id__in=picked).update(partner=partner)
        Company.objects.filter(pk__in=picked).update(partner=partner)
    return partner


def book_demo_portfolio(*, seed: int, as_of: datetime.date, share: float = BOOK_SHARE, limit: int = BOOK_MAX,
                        stdout=None) -> dict:
    """Apply, accept, book and draw down for a share of the demo companies (through the
    services, the system as actor), each opened 20 to 45 days before ``as_of``.  The demo
    partner's companies apply through it, so their lines and loans are the partner's."""
    from loans.models import Company
    from loans.services.applications import application_accept, application_apply, application_book
    from loans.services.lines import credit_line_draw_down
    from scoring import api as scoring_api

    rng = random.Random(seed * 7 + 3)
    files = dict(Company.objects.filter(Q(partner__isnull=True) | Q(partner__name=DEMO_PARTNER))
                 .values_list("id", "partner_id"))
    ids = sorted(files)
    picked = sorted(rng.sample(ids, min(len(ids), max(1, int(len(ids) * share)), limit)))
    counts = {"applied": 0, "approved": 0, "booked": 0, "loans": 0, "refused": 0}
    for cid in picked:
        opened = as_of - datetime.timedelta(days=rng.randint(20, 45))
        amount = Decimal(rng.choice((100_000, 200_000, 300_000, 500_000)))
        counts["applied"] += 1
        try:
            decision = application_apply(company_id=cid, requested_amount=amount, term_months=12,
                                         product_code="sme-revolving", partner_id=files[cid], as_of=opened)
            if decision.outcome != "approve":
                continue
            counts["approved"] += 1
            application_accept(application_id=decision.application_id, as_of=opened)
            line = application_book(application_id=decision.application_id, opened_on=opened)
            counts["booked"] += 1
            credit_line_draw_down(credit_line_id=line.pk, amount=money(line.limit_amount * Decimal("0.6")),
                                  term_months=12, disbursed_on=opened, idempotency_key=f"demo-{line.pk}")
            counts["loans"] += 1
        except (DomainError, ValidationError, scoring_api.ScoringUnavailable):
            counts["refused"] += 1
    if stdout is not None:
        stdout.write("portfolio: " + "  ".join(f"{k}: {v}" for k, v in counts.items()) + "\n")
    return counts


def simulate_repayments(*, seed: int, as_of: datetime.date) -> dict:
    """Record the day's repayments of the open loans: on-time payers pay everything due on a
    due date; late payers pay it all ``LATE_DAYS`` after their oldest unpaid due date; the
    others never pay.  Returns counts per behaviour of the payments recorded."""
    from loans.choices import LoanStatus
    from loans.models import Installment
    from loans.services.repayments import loan_repayment_record

    due = {}
    for loan_id, due_date in (
        Installment.objects.filter(paid_on__isnull=True, due_date__lte=as_of, loan__status=LoanStatus.ACTIVE,
                                   loan__disbursed_on__lte=as_of)
        .order_by("loan_id", "due_date").values_list("loan_id", "due_date")
    ):
        due.setdefault(loan_id, due_date)  # the oldest unpaid due date
    counts = {ON_TIME: 0, LATE: 0, NEVER: 0, "amount": Decimal("0.00")}
    loan_ids = sorted(due)
    for loan_id, behaviour in zip(loan_ids, payer_behaviours(loan_ids, seed)):
        oldest = due[loan_id]
        if behaviour == NEVER or (behaviour == ON_TIME and oldest != as_of) or (
            behaviour == LATE and (as_of - oldest).days < LATE_DAYS
        ):
            if behaviour == NEVER:
                counts[NEVER] += 1
            continue
        owed = sum((i.amount_outstanding for i in Installment.objects.filter(
            loan_id=loan_id, paid_on__isnull=True, due_date__lte=as_of)), Decimal("0.00"))
        if owed <= 0:
            continue
        try:
            loan_repayment_record(loan_id=loan_id, amount=owed, external_ref=f"demo-{as_of.isoformat()}-{loan_id}",
                                  received_on=as_of)
        except (DomainError, ValidationError):
            continue
        counts[behaviour] += 1
        counts["amount"] += owed
    return counts
