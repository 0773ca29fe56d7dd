"""Registering borrowers: companies, the persons behind them and their roles.

Every function validates its whole input first and raises a ``ValidationError`` whose
keys name the offending fields (``related_parties[1].id_number``), then writes inside
one transaction — a bad related party leaves no company behind.

Borrower files are per partner (README, "Whose data counts"): a company or person is found
or created within the registering partner's own records (the lender's own when there is no
partner), so a partner never learns from an answer what another partner registered.  A new
record starts with what trusted sources already said about the real company or person (the
lender's blocklist, bureau and own-book credit data), so a new file is no way around them.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone

from config.history.records import update_with_history

from .. import value_dates
from ..choices import CompanyStatus, Industry, Province, Role
from ..models import Company, ConsentSource, Partner, Person, RelatedParty
from ..parties import identity
from .privacy import consent_record

MAX_TOTAL_OWNERSHIP = Decimal("100")


@dataclass(frozen=True)
class PartyInput:
    name: str
    id_number: str
    role: str
    ownership_pct: Decimal | None = None
    phone: str = ""
    valid_from: datetime.date | None = None
    # Consent to credit checks, per source (loans.models.ConsentSource), that whoever registers
    # the person collected; recorded by company_register.
    credit_check_consents: tuple[str, ...] = ()
    consent_evidence: str = ""


def _decimal(value, field: str, *, positive: bool = False, places: int = 2) -> Decimal:
    if isinstance(value, float):
        value = repr(value)
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({field: "Must be a number."}) from None
    if not d.is_finite():
        raise ValidationError({field: "Must be a finite number."})
    if d != d.quantize(Decimal(1).scaleb(-places)):
        raise ValidationError({field: f"At most {places} decimal places."})
    if d < 0 or (positive and d == 0):
        raise ValidationError({field: "Must be greater than zero." if positive else "Must not be negative."})
    return d.quantize(Decimal(1).scaleb(-places))


def ownership_checked(role: str, ownership_pct) -> tuple[Decimal | None, list[str]]:
    """The one ownership rule of a role, for the services and the admin alike: a percentage,
    when given, is a number above 0 and at most 100 with two places; a shareholder needs one
    and only a shareholder carries one.  Returns (the percentage or None, the messages for the
    ``ownership_pct`` field)."""
    messages: list[str] = []
    pct = None
    if ownership_pct not in (None, ""):
        try:
            pct = _decimal(ownership_pct, "ownership_pct", positive=True)
        except ValidationError as exc:
            messages.extend(exc.message_dict["ownership_pct"])
        else:
            if pct > MAX_TOTAL_OWNERSHIP:
                messages.append(f"Must be at most {MAX_TOTAL_OWNERSHIP}.")
    if role == Role.SHAREHOLDER and pct is None and not messages:
        messages.append("A shareholder needs an ownership percentage.")
    if role != Role.SHAREHOLDER and pct is not None:
        messages.append("Only shareholders carry an ownership percentage.")
    return (None if messages else pct), messages


def ownership_total_error(total: Decimal, *, would: bool = False) -> str | None:
    """The message when current shareholdings (``would``: with the one being added) pass 100 %."""
    if total <= MAX_TOTAL_OWNERSHIP:
        return None
    return f"Shareholdings {'would ' if would else ''}add up to {total} %, more than {MAX_TOTAL_OWNERSHIP} %."


def _collect(errors: dict, field: str, fn):
    try:
        return fn()
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.setdefault(key if key != "__all__" else field, []).extend(messages)
        return None


def validate_parties(parties: Iterable[PartyInput | Mapping], *, prefix: str = "related_parties") -> list[tuple[PartyInput, str]]:  # noqa: E501
    """Validate related parties; return (party, compact resident ID) pairs."""
    errors: dict[str, list[str]] = {}
    cleaned: list[tuple[PartyInput, str]] = []
    total = Decimal("0")
    seen: dict[tuple[str, str], int] = {}
    for i, raw in enumerate(parties):
        where = f"{prefix}[{i}]"
        if isinstance(raw, PartyInput):
            p = raw
        else:
            unknown = set(raw) - set(PartyInput.__dataclass_fields__)
            if unknown:
                errors.setdefault(where, []).append(f"Unknown fields: {', '.join(sorted(unknown))}.")
                continue
            p = PartyInput(**{"name": "", "id_number": "", "role": "", **raw})
        if not (p.name or "").strip():
            errors.setdefault(f"{where}.name", []).append("This field is required.")
        compact = _collect(errors, f"{where}.id_number", lambda p=p, w=where: identity.normalize_resident_id(p.id_number, field=f"{w}.id_number"))
        if p.role not in Role.values:
            errors.setdefault(f"{where}.role", []).append(f"Unknown role {p.role!r}; expected one of {', '.join(Role.values)}.")
        pct, messages = ownership_checked(p.role, p.ownership_pct)
        if messages:
            errors.setdefault(f"{where}.ownership_pct", []).extend(messages)
        total += pct or 0
        if p.phone:
            _collect(errors, f"{where}.phone", lambda p=p, w=where: identity.normalize_phone(p.phone, field=f"{w}.phone"))
        consents = tuple(p.credit_check_consents or ())
        unknown_sources = [c for c in consents if c not in ConsentSource.values]
        if unknown_sources:
            errors.setdefault(f"{where}.credit_check_consents", []).append(
                f"Unknown source {unknown_sources[0]!r}; expected one of {', '.join(ConsentSource.values)}."
            )
        if compact and (compact, p.role) in seen:
            # One current role per person and company (constraint relparty_one_current_role).
            errors.setdefault(f"{where}.role", []).append(
                f"{prefix}[{seen[compact, p.role]}] already gives this person the role {p.role}."
            )
        elif compact:
            seen[compact, p.role] = i
            cleaned.append((PartyInput(
                p.name.strip(), compact, p.role, pct, p.phone, p.valid_from, consents, (p.consent_evidence or "").strip()
            ), compact))
    if message := ownership_total_error(total):
        errors.setdefault(prefix, []).append(message)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _own(partner: Partner | None) -> dict:
    """The filter for one partner's records (the lender's own when ``partner`` is None)."""
    return {"partner": partner} if partner is not None else {"partner__isnull": True}


def _inherit_trusted_credit_data(kind: str, subject_id: int) -> None:
    from scoring import api as scoring_api  # the one door into scoring

    scoring_api.credit_data_inherit_trusted(subject_kind=kind, subject_id=subject_id)


def person_get_or_create(*, name: str, resident_id: str, phone: str = "", partner: Partner | None = None) -> tuple[Person, bool]:
    """Find the partner's own record of a person by the keyed hash of their resident ID, or
    create it.  Another partner's record of the same person is never returned or read."""
    compact = identity.normalize_resident_id(resident_id)
    digits = identity.normalize_phone(phone) if phone else ""
    digest = identity.lookup_hash(compact)
    found = Person.objects.filter(resident_id_hash=digest, **_own(partner)).first()
    if found:
        return found, False
    person = Person(name=name.strip(), partner=partner)
    person.set_resident_id(compact)
    person.set_phone(digits)
    borrower_blocklist_sync(record=person, is_new=True, flag_changed=False)
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:  # created concurrently in the same file: take that one
        return Person.objects.get(resident_id_hash=digest, **_own(partner)), False
    _inherit_trusted_credit_data("person", person.pk)
    return person, True


def company_validate(*, legal_name, uscc, industry, province, founded_on, registered_capital, employees, annual_revenue, status=CompanyStatus.ACTIVE) -> dict:
    errors: dict[str, list[str]] = {}
    data: dict = {}
    if not (legal_name or "").strip():
        errors["legal_name"] = ["This field is required."]
    else:
        data["legal_name"] = legal_name.strip()
    data["uscc"] = _collect(errors, "uscc", lambda: identity.normalize_uscc(uscc))
    if industry not in Industry.values:
        errors["industry"] = [f"Unknown industry {industry!r}; expected a GB/T 4754 section letter A–T."]
    if province not in Province.values:
        errors["province"] = [f"Unknown province code {province!r}; expected a GB/T 2260 two-digit code."]
    _collect(errors, "founded_on", lambda: value_dates.check_founded_on(founded_on))
    data["registered_capital"] = _collect(errors, "registered_capital", lambda: _decimal(registered_capital, "registered_capital"))
    data["annual_revenue"] = _collect(errors, "annual_revenue", lambda: _decimal(annual_revenue, "annual_revenue"))
    if not isinstance(employees, int) or isinstance(employees, bool) or employees < 0:
        errors["employees"] = ["Must be a whole number, zero or more."]
    if status not in CompanyStatus.values:
        errors["status"] = [f"Unknown status {status!r}."]
    if errors:
        raise ValidationError(errors)
    data.update(industry=industry, province=province, founded_on=founded_on, employees=employees, status=status)
    return data


@transaction.atomic
def company_register(
    *,
    legal_name: str,
    uscc: str,
    industry: str,
    province: str,
    founded_on: datetime.date,
    registered_capital,
    employees: int,
    annual_revenue,
    related_parties: Iterable[PartyInput | Mapping] = (),
    partner: Partner | None = None,
    status: str = CompanyStatus.ACTIVE,
) -> Company:
    """Register a company with the people behind it, all or nothing, in ``partner``'s file
    (the lender's own when None).  Another partner's record of the same USCC or of the same
    persons is neither reused nor revealed."""
    errors: dict[str, list[str]] = {}
    data = _collect(errors, "company", lambda: company_validate(
        legal_name=legal_name, uscc=uscc, industry=industry, province=province, founded_on=founded_on,
        registered_capital=registered_capital, employees=employees, annual_revenue=annual_revenue, status=status,
    )) or {}
    parties = _collect(errors, "related_parties", lambda: validate_parties(list(related_parties))) or []
    already = "You have already registered a company with this USCC." if partner is not None else (
        "The lender has already registered a company with this USCC.")
    if data.get("uscc") and Company.objects.filter(uscc=data["uscc"], **_own(partner)).exists():
        errors.setdefault("uscc", []).append(already)
    if errors:
        raise ValidationError(errors)
    company = Company(partner=partner, **data)
    borrower_blocklist_sync(record=company, is_new=True, flag_changed=False)
    try:
        with transaction.atomic():
            company.save(force_insert=True)
    except IntegrityError:
        raise ValidationError({"uscc": [already]}) from None
    _inherit_trusted_credit_data("company", company.pk)
    today = timezone.localdate()
    for party, compact in parties:
        person, _ = person_get_or_create(name=party.name, resident_id=compact, phone=party.phone, partner=partner)
        RelatedParty.objects.create(
            company=company, person=person, role=party.role, ownership_pct=party.ownership_pct,
            valid_from=party.valid_from or company.founded_on or today,
        )
        for source in party.credit_check_consents:
            consent_record(person_id=person.pk, source=source, partner=partner, evidence=party.consent_evidence)
    return company


@transaction.atomic
def related_party_add(
    *, company: Company, person: Person, role: str, ownership_pct=None, valid_from: datetime.date | None = None
) -> RelatedParty:
    """Add a role; the company row is locked so two shareholdings cannot together pass 100 %."""
    locked = Company.objects.select_for_update().get(pk=company.pk)
    errors: dict[str, list[str]] = {}
    if role not in Role.values:
        errors["role"] = [f"Unknown role {role!r}; expected one of {', '.join(Role.values)}."]
    pct, messages = ownership_checked(role, ownership_pct)
    if messages:
        errors["ownership_pct"] = messages
    elif pct is not None and (message := ownership_total_error(company_current_ownership(company=locked) + pct, would=True)):
        errors["ownership_pct"] = [message]
    if person.partner_id != locked.partner_id:
        errors.setdefault("person", []).append(
            "This person is in another partner's file; a company's related parties are persons of the same partner."
        )
    if RelatedParty.objects.filter(company=locked, person=person, role=role, valid_to__isnull=True).exists():
        errors.setdefault("role", []).append("This person already holds this role in the company.")
    if errors:
        raise ValidationError(errors)
    return RelatedParty.objects.create(
        company=locked, person=person, role=role, ownership_pct=pct,
        valid_from=valid_from or timezone.localdate(),
    )


def _same_subject(record: Company | Person):
    if isinstance(record, Person):
        return Person.objects.filter(resident_id_hash=record.resident_id_hash)
    return Company.objects.filter(uscc=record.uscc)


def borrower_blocklist_sync(*, record: Company | Person, is_new: bool, flag_changed: bool) -> int:
    """The lender's blocklist is about the real company or person, whichever file a record is
    in.  Called before a record is saved: a new record that is not flagged takes the flag of
    its natural-key siblings; a flag that was set or cleared is given to every sibling.
    Returns the number of sibling records changed."""
    siblings = _same_subject(record).exclude(pk=record.pk) if record.pk else _same_subject(record)
    if is_new and not record.is_blocklisted:
        record.is_blocklisted = siblings.filter(is_blocklisted=True).exists()
        return 0
    if flag_changed or is_new:
        # A queryset update sends no signal: the siblings' versions are written with it, naming
        # the user who set the flag and the file it was set on.
        source = f"{record._meta.model_name} #{record.pk}" if record.pk else f"a new {record._meta.model_name} file"
        reason = f"blocklist {'set' if record.is_blocklisted else 'cleared'} on {source} (same subject)"
        return update_with_history(
            siblings.exclude(is_blocklisted=record.is_blocklisted), reason=reason, is_blocklisted=record.is_blocklisted
        )
    return 0


def company_current_ownership(*, company: Company) -> Decimal:
    total = RelatedParty.objects.filter(company=company, valid_to__isnull=True, ownership_pct__isnull=False).aggregate(
        s=Sum("ownership_pct")
    )["s"]
    return total or Decimal("0")


# --- personal data, revealed with a reason -------------------------------------------------------

REVEAL_PERMISSION = "parties.reveal_personal_data"
REVEAL_REASON_MIN = 10


def person_personal_data_reveal(*, person_id: int, field: str, reason: str, actor) -> str:
    """The person's full resident ID or phone, for an actor who holds the reveal permission
    and gives a reason; the showing is logged (who, whom, when, why) in the same transaction."""
    from django.utils.translation import gettext as _

    from ..errors import DomainError, NotFound
    from ..models import PersonalDataReveal

    if getattr(actor, "pk", None) is None or not actor.has_perm(REVEAL_PERMISSION):
        raise DomainError(_("Revealing personal data needs the reveal permission."), field="actor", code="permission_denied")
    errors = {}
    if field not in PersonalDataReveal.Field.values:
        errors["field"] = _("Choose the resident ID or the phone number.")
    reason = (reason or "").strip()
    if len(reason) < REVEAL_REASON_MIN:
        errors["reason"] = _("Say why, in at least %(n)s characters.") % {"n": REVEAL_REASON_MIN}
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        person = Person.objects.filter(pk=person_id).first()
        if person is None:
            raise NotFound(_("Person #%(id)s does not exist.") % {"id": person_id}, field="person_id")
        if field == PersonalDataReveal.Field.PHONE and not person.phone_encrypted:
            raise ValidationError({"field": _("This person has no phone number on file.")})
        PersonalDataReveal.objects.create(person=person, field=field, reason=reason[:500], revealed_by=actor)
        return person.reveal_resident_id() if field == PersonalDataReveal.Field.RESIDENT_ID else identity.decrypt(person.phone_encrypted)
