"""The API's compositions of domain services.  No business rules here: each function calls
the owning app's services in one transaction and emits the partner's webhook."""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from loans.models import Company, CreditLine, Decision, LoanApplication, Person
from loans.parties import identity
from loans.services.applications import application_accept, application_apply, application_book
from scoring.features import FeatureRangeError
from scoring.services import PARTNER, SnapshotExists, credit_snapshot_record


def application_decided_payload(app: LoanApplication, outcome: str, reasons: list | None = None) -> dict:
    """``reasons``: why (a committee's decline reason and its votes' comments); a list."""
    return {
        "application_id": app.pk,
        "company_id": app.company_id,
        "status": app.status,
        "outcome": outcome,
        "approved_limit": app.approved_limit,
        "annual_rate": app.annual_rate,
        "tier": app.tier,
        "score": app.score,
        "decided_at": app.decided_at,
        "reasons": list(reasons or []),
    }


def partner_application_submit(
    *, partner_id: int, company_id: int, product_code: str, amount, term_months: int, purpose: str = ""
) -> tuple[LoanApplication, Decision]:
    """Create and submit in one transaction: a scoring outage leaves no draft behind.  The
    partner's ``application.decided`` webhook goes out when it commits (loans/api/receivers.py,
    the same event an officer's submission sends)."""
    with transaction.atomic():
        # Validated, scored and decided before it writes; the ledger entry is its last write.
        decision = application_apply(
            company_id=company_id, product_code=product_code, requested_amount=amount,
            term_months=term_months, purpose=purpose, partner_id=partner_id,
        )
        app = decision.application  # the new row, as the decision left it
    return app, decision


def partner_offer_accept(*, application_id: int) -> CreditLine:
    """The borrower takes the offer: accept and book, which opens the credit line."""
    with transaction.atomic():
        application_accept(application_id=application_id)
        return application_book(application_id=application_id)


def partner_credit_data_record(
    *, company: Company, as_of: datetime.date, company_features: dict | None, persons: list[dict]
) -> dict:
    """Append the company's snapshot and/or its people's, all or nothing.  People are named
    by resident ID and must be related parties of the company.

    The partner's data attaches to its own records only (the company is the partner's, and so
    are its related parties: README, "Whose data counts"), so it counts for its own companies
    only.  It is always recorded as source ``partner``: trust comes from the path the data
    took, never from a field of the request."""
    errors: dict[str, list[str]] = {}
    resolved = []
    for i, p in enumerate(persons):
        where = f"persons[{i}].id_number"
        try:
            compact = identity.normalize_resident_id(p["id_number"], field=where)
        except ValidationError as exc:
            errors.setdefault(where, []).extend(exc.messages)
            continue
        person = Person.objects.filter(
            resident_id_hash=identity.lookup_hash(compact), partner_id=company.partner_id, roles__company=company
        ).distinct().first()
        if person is None:
            errors.setdefault(where, []).append("No related party of this company has this ID number.")
            continue
        resolved.append((i, person, p))
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if company_features:
            _record(("company",), "company", company.pk, as_of, company_features, False)
        for i, person, p in resolved:
            _record(("persons", i), "person", person.pk, as_of, p.get("features") or {}, p.get("in_default", False))
    return {"as_of": as_of, "company_snapshot": bool(company_features), "person_snapshots": len(resolved)}


def _record(where: tuple, kind: str, subject_id: int, as_of, features: dict, in_default: bool) -> None:
    prefix = where[0] if len(where) == 1 else f"{where[0]}[{where[1]}]"
    try:
        credit_snapshot_record(
            subject_kind=kind, subject_id=subject_id, as_of=as_of, features=features, in_default=in_default, source=PARTNER
        )
    except FeatureRangeError as exc:
        raise ValidationError({f"{prefix}.features.{exc.feature}" if kind == "person" else f"{prefix}.{exc.feature}": [str(exc)]}) from None
    except SnapshotExists as exc:
        raise ValidationError({"as_of": [str(exc)]}) from None
