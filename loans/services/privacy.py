"""Personal data duties (issue 16, README "Personal data"): key rotation of the encrypted
resident IDs and phones, export and erasure of a person's data, consent to credit checks.

Log lines name a person by id only (config/ops/logs.py keeps names and numbers out of logs)."""

from __future__ import annotations

import datetime
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from config.history.records import records_actor
from scoring import api as scoring_api

from ..errors import NotFound
from ..models import (
    Company,
    ConsentSource,
    CreditCheckConsent,
    Guarantee,
    Partner,
    Person,
    PersonDataRequest,
    RelatedParty,
)
from ..parties import identity

log = logging.getLogger(__name__)

# --- key rotation ---------------------------------------------------------------------------


@dataclass
class RotationProgress:
    total: int  # rows under an old key version when the rotation started
    done: int = 0  # rows re-encrypted so far
    last_id: int = 0  # resume with --after-id this


def _stale() -> Q:
    prefix = identity.version_prefix(identity.current_version())
    return ~Q(resident_id_encrypted__startswith=prefix) | (~Q(phone_encrypted="") & ~Q(phone_encrypted__startswith=prefix))


def pii_rotate(*, batch_size: int = 1000, after_id: int = 0, on_batch: Callable[[RotationProgress], None] | None = None) -> RotationProgress:
    """Re-encrypt every person's resident ID and phone under the current key version, one batch
    of rows at a time, each batch in its own short transaction with its rows locked, so that the
    product runs on meanwhile (it reads both versions).  Rows already current are skipped, so a
    rotation stopped anywhere resumes by running again (``after_id`` skips what is known done).
    ``updated_at`` and the change history are untouched: the data did not change."""
    if batch_size < 1:
        raise ValidationError({"batch_size": _("Must be at least 1.")})
    progress = RotationProgress(total=Person.objects.filter(_stale(), pk__gt=after_id).count(), last_id=after_id)
    while True:
        with transaction.atomic():
            ids = list(
                Person.objects.filter(_stale(), pk__gt=progress.last_id).order_by("pk").values_list("pk", flat=True)[:batch_size]
            )
            if not ids:
                return progress
            rows = list(
                Person.objects.select_for_update().filter(pk__in=ids).order_by("pk").only("pk", "resident_id_encrypted", "phone_encrypted")
            )
            for person in rows:
                person.resident_id_encrypted = identity.reencrypt(person.resident_id_encrypted)
                person.phone_encrypted = identity.reencrypt(person.phone_encrypted)
            # Deliberately no history version: the history leaves the ciphertexts out, so a
            # version would copy every person's name and masked IDs once more for a change it
            # cannot show (millions of rows of personal data, each to be erased on request).
            Person.objects.bulk_update(rows, ["resident_id_encrypted", "phone_encrypted"])
        progress.done += len(rows)
        progress.last_id = ids[-1]
        if on_batch:
            on_batch(progress)


def pii_versions() -> dict[str, int]:
    """Persons by the key version of their resident ID ("legacy": written before versions)."""
    counts: dict[str, int] = {}
    for token in Person.objects.values_list("resident_id_encrypted", flat=True).iterator(chunk_size=5000):
        if not token:
            key = "erased"
        else:
            version = identity.token_version(token)
            key = "legacy" if version is None else f"v{version}"
        counts[key] = counts.get(key, 0) + 1
    return counts


# --- consent ------------------------------------------------------------------------------


def _person(person_id: int, *, lock: bool = False) -> Person:
    qs = Person.objects.select_for_update() if lock else Person.objects
    try:
        return qs.get(pk=person_id)
    except Person.DoesNotExist:
        raise NotFound(_("No person #%(id)s.") % {"id": person_id}, field="person") from None


def _source(source: str) -> str:
    if source not in ConsentSource.values:
        raise ValidationError({"source": _("Unknown source %(source)r; expected one of %(choices)s.") % {
            "source": source, "choices": ", ".join(ConsentSource.values)}})
    return source


def consent_record(
    *, person_id: int, source: str, actor=None, partner: Partner | None = None, evidence: str = "",
    granted_at: datetime.datetime | None = None,
) -> CreditCheckConsent:
    """Record a person's consent to credit checks against ``source``; the current consent is
    returned unchanged if there already is one."""
    _source(source)
    with transaction.atomic():
        person = _person(person_id, lock=True)
        if partner is not None and person.partner_id != partner.pk:
            raise NotFound(_("No person #%(id)s.") % {"id": person_id}, field="person")
        current = CreditCheckConsent.objects.filter(person=person, source=source, withdrawn_at__isnull=True).first()
        if current:
            return current
        return CreditCheckConsent.objects.create(
            person=person, source=source, granted_at=granted_at or timezone.now(), evidence=(evidence or "")[:200],
            partner=partner, recorded_by=actor if getattr(actor, "pk", None) and not isinstance(actor, Partner) else None,
        )


def consent_withdraw(*, person_id: int, source: str, actor=None) -> CreditCheckConsent | None:
    """Withdraw the current consent of a person to ``source``; None if there was none."""
    _source(source)
    with transaction.atomic():
        person = _person(person_id, lock=True)
        current = CreditCheckConsent.objects.select_for_update().filter(person=person, source=source, withdrawn_at__isnull=True).first()
        if current is None:
            return None
        current.withdrawn_at = timezone.now()
        current.withdrawn_by = actor if getattr(actor, "pk", None) else None
        current.save(update_fields=["withdrawn_at", "withdrawn_by"])
        return current


def consent_given(*, person_id: int, source: str) -> bool:
    """Whether the person consents now to credit checks against ``source``."""
    return CreditCheckConsent.objects.filter(person_id=person_id, source=source, withdrawn_at__isnull=True).exists()


# --- export -------------------------------------------------------------------------------


def _iso(value):
    return value.isoformat() if value is not None else None


def person_data(person: Person) -> dict:
    """Everything the lender holds about one person, in clear: what an export hands over."""
    roles = RelatedParty.objects.filter(person=person).select_related("company").order_by("company_id", "role", "id")
    erased = not person.resident_id_encrypted
    return {
        "person": {
            "id": person.pk,
            "name": person.name,
            "resident_id": None if erased else person.reveal_resident_id(),
            "phone": identity.decrypt(person.phone_encrypted) if person.phone_encrypted else None,
            "birth_year": None if erased else person.birth_year,
            "blocklisted": person.is_blocklisted,
            "partner": person.partner.name if person.partner_id else None,
            "created_at": _iso(person.created_at),
            "updated_at": _iso(person.updated_at),
        },
        "roles": [
            {"company": r.company.legal_name, "uscc": r.company.uscc, "role": r.role,
             "ownership_pct": str(r.ownership_pct) if r.ownership_pct is not None else None,
             "valid_from": _iso(r.valid_from), "valid_to": _iso(r.valid_to)}
            for r in roles
        ],
        "guarantees": [
            {"amount": str(g.amount), "status": g.status, "credit_line": g.credit_line_id, "loan": g.loan_id}
            for g in Guarantee.objects.filter(guarantor_person=person).order_by("id")
        ],
        "credit_check_consents": [
            {"source": c.source, "granted_at": _iso(c.granted_at), "withdrawn_at": _iso(c.withdrawn_at), "evidence": c.evidence}
            for c in person.credit_check_consents.order_by("granted_at", "id")
        ],
        **scoring_api.person_data_export(person_id=person.pk),
        "requests": [
            {"kind": r.kind, "outcome": r.outcome, "at": _iso(r.created_at), "reason": r.reason, "refusal": r.refusal}
            for r in person.data_requests.order_by("created_at", "id")
        ],
    }


def _user(actor):
    return actor if getattr(actor, "pk", None) and not isinstance(actor, Partner) else None


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why (the request, its reference).")})
    return reason


def person_export(*, person_id: int, actor=None, reason: str, channel: str = "admin") -> dict:
    """A person's data as JSON-ready dict; the export itself is recorded (who, when, why)."""
    reason = _reason(reason)
    with transaction.atomic():
        person = _person(person_id)
        PersonDataRequest.objects.create(
            person=person, kind=PersonDataRequest.Kind.EXPORT, outcome=PersonDataRequest.Outcome.DONE,
            reason=reason, channel=channel, requested_by=_user(actor),
        )
        data = person_data(person)
    log.info("person data exported", extra={"person_id": person.pk, "channel": channel})
    return data


# --- erasure ------------------------------------------------------------------------------

ERASED_NAME = "[erased]"
ERASED_MASK = "00************0000"
ERASED_BIRTH_YEAR = 1900


def erasure_obstacles(person: Person) -> list[str]:
    """Why the lender must keep this person's data (empty: it may be erased).  Loan records
    (applications, credit lines, loans) are kept for their legal retention period, and with them
    the persons whose role in the borrower or guarantee they record."""
    reasons = []
    companies = Company.objects.filter(related_parties__person=person).distinct()
    kept = companies.filter(Q(applications__isnull=False) | Q(credit_lines__isnull=False) | Q(loans__isnull=False)).distinct()
    for company in kept.order_by("pk")[:5]:
        reasons.append(_("holds a role in company #%(id)s, which has loan records (applications, lines or loans) "
                         "the lender must keep") % {"id": company.pk})
    if Guarantee.objects.filter(guarantor_person=person).exists():
        reasons.append(_("guarantees a credit line or loan"))
    if not person.resident_id_encrypted:
        reasons.append(_("the person's data is already erased"))
    return reasons


@records_actor
def person_erase(*, person_id: int, actor=None, reason: str, channel: str = "admin") -> PersonDataRequest:
    """Erase a person's data on request, unless a loan record obliges the lender to keep it.

    Refused: nothing changes but the request, recorded with the refusal's reasons.  Done:
    the person record stays (so that what points at it still does) but is pseudonymised —
    name replaced, ciphertexts removed, the lookup hash replaced by a random value (the
    uniqueness constraints hold, and the ID can no longer be matched to the record), masked
    forms and birth year replaced by placeholders; their roles in companies, credit data and
    scores are deleted, and their change history pseudonymised the same way.  Consents and
    data requests stay: they prove what was done, and name nobody but the record's id."""
    reason = _reason(reason)
    with transaction.atomic():
        person = _person(person_id, lock=True)
        obstacles = erasure_obstacles(person)
        if obstacles:
            request = PersonDataRequest.objects.create(
                person=person, kind=PersonDataRequest.Kind.ERASURE, outcome=PersonDataRequest.Outcome.REFUSED,
                reason=reason, refusal="; ".join(obstacles), channel=channel, requested_by=_user(actor),
            )
            log.info("person erasure refused", extra={"person_id": person.pk, "channel": channel})
            return request
        RelatedParty.objects.filter(person=person).delete()
        erased = scoring_api.person_data_erase(person_id=person.pk)
        placeholder = {
            "name": ERASED_NAME, "resident_id_hash": "erased:" + secrets.token_hex(28),
            "resident_id_masked": ERASED_MASK, "phone_masked": "", "birth_year": ERASED_BIRTH_YEAR,
        }
        for field, value in placeholder.items():
            setattr(person, field, value)
        person.resident_id_encrypted = ""
        person.phone_encrypted = ""
        person.is_blocklisted = False
        person.save()
        person.history.filter(id=person.pk).update(**placeholder)
        request = PersonDataRequest.objects.create(
            person=person, kind=PersonDataRequest.Kind.ERASURE, outcome=PersonDataRequest.Outcome.DONE,
            reason=reason, channel=channel, requested_by=_user(actor),
        )
    log.info("person data erased", extra={"person_id": person.pk, "channel": channel, **{f"deleted_{k}": v for k, v in erased.items()}})
    return request
