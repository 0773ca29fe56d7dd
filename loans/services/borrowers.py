"""Registering borrowers: companies, the persons behind them and their roles.

Every function validates its whole input first and raises a ``ValidationError`` whose
keys name the offending fields (``related_parties[1].id_number``), then writes inside
one transaction — a bad related party leaves no company behind.
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

from .. import identity
from ..choices import CompanyStatus, Industry, Province, Role
from ..models import Company, Partner, Person, RelatedParty

MAX_TOTAL_OWNERSHIP = Decimal("100")


@dataclass(frozen=True)
class PartyInput:
    name: str
    id_number: str
    role: str
    ownership_pct: Decimal | None = None
    phone: str = ""
    valid_from: datetime.date | None = None


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
        pct = None
        if p.ownership_pct not in (None, ""):
            pct = _collect(errors, f"{where}.ownership_pct", lambda p=p, w=where: _decimal(p.ownership_pct, f"{w}.ownership_pct", positive=True))
            if pct is not None and pct > 100:
                errors.setdefault(f"{where}.ownership_pct", []).append("Must be at most 100.")
            elif pct is not None:
                total += pct
        if p.role == Role.SHAREHOLDER and pct is None and f"{where}.ownership_pct" not in errors:
            errors.setdefault(f"{where}.ownership_pct", []).append("A shareholder needs an ownership percentage.")
        if p.role != Role.SHAREHOLDER and pct is not None:
            errors.setdefault(f"{where}.ownership_pct", []).append("Only shareholders carry an ownership percentage.")
        if p.phone:
            _collect(errors, f"{where}.phone", lambda p=p, w=where: identity.normalize_phone(p.phone, field=f"{w}.phone"))
        if compact and (compact, p.role) in seen:
            # One current role per person and company (constraint relparty_one_current_role).
            errors.setdefault(f"{where}.role", []).append(
                f"{prefix}[{seen[compact, p.role]}] already gives this person the role {p.role}."
            )
        elif compact:
            seen[compact, p.role] = i
            cleaned.append((PartyInput(p.name.strip(), compact, p.role, pct, p.phone, p.valid_from), compact))
    if total > MAX_TOTAL_OWNERSHIP:
        errors.setdefault(prefix, []).append(f"Shareholdings add up to {total} %, more than 100 %.")
    if errors:
        raise ValidationError(errors)
    return cleaned


def person_get_or_create(*, name: str, resident_id: str, phone: str = "", partner: Partner | None = None) -> tuple[Person, bool]:
    """Find a person by the keyed hash of their resident ID, or create them."""
    compact = identity.normalize_resident_id(resident_id)
    digits = identity.normalize_phone(phone) if phone else ""
    found = Person.objects.filter(resident_id_hash=identity.lookup_hash(compact)).first()
    if found:
        return found, False
    person = Person(name=name.strip(), partner=partner)
    person.set_resident_id(compact)
    person.set_phone(digits)
    try:
        with transaction.atomic():
            person.save()
    except IntegrityError:  # created concurrently by someone else: take theirs
        return Person.objects.get(resident_id_hash=person.resident_id_hash), False
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
    if not isinstance(founded_on, datetime.date):
        errors["founded_on"] = ["Must be a date."]
    elif founded_on > timezone.localdate():
        errors["founded_on"] = ["Must not be in the future."]
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
    """Register a company with the people behind it, all or nothing."""
    errors: dict[str, list[str]] = {}
    data = _collect(errors, "company", lambda: company_validate(
        legal_name=legal_name, uscc=uscc, industry=industry, province=province, founded_on=founded_on,
        registered_capital=registered_capital, employees=employees, annual_revenue=annual_revenue, status=status,
    )) or {}
    parties = _collect(errors, "related_parties", lambda: validate_parties(list(related_parties))) or []
    if data.get("uscc") and Company.objects.filter(uscc=data["uscc"]).exists():
        errors.setdefault("uscc", []).append("A company with this USCC is already registered.")
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            company = Company.objects.create(partner=partner, **data)
    except IntegrityError:
        raise ValidationError({"uscc": ["A company with this USCC is already registered."]}) from None
    today = timezone.localdate()
    for party, compact in parties:
        person, _ = person_get_or_create(name=party.name, resident_id=compact, phone=party.phone, partner=partner)
        RelatedParty.objects.create(
            company=company, person=person, role=party.role, ownership_pct=party.ownership_pct,
            valid_from=party.valid_from or company.founded_on or today,
        )
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
    pct = None
    if ownership_pct not in (None, ""):
        pct = _collect(errors, "ownership_pct", lambda: _decimal(ownership_pct, "ownership_pct", positive=True))
        if pct is not None and pct > 100:
            errors["ownership_pct"] = ["Must be at most 100."]
    if role == Role.SHAREHOLDER and pct is None and "ownership_pct" not in errors:
        errors["ownership_pct"] = ["A shareholder needs an ownership percentage."]
    if role != Role.SHAREHOLDER and pct is not None:
        errors["ownership_pct"] = ["Only shareholders carry an ownership percentage."]
    if pct is not None and "ownership_pct" not in errors:
        held = company_current_ownership(company=locked)
        if held + pct > MAX_TOTAL_OWNERSHIP:
            errors["ownership_pct"] = [f"Shareholdings would add up to {held + pct} %, more than 100 %."]
    if RelatedParty.objects.filter(company=locked, person=person, role=role, valid_to__isnull=True).exists():
        errors.setdefault("role", []).append("This person already holds this role in the company.")
    if errors:
        raise ValidationError(errors)
    return RelatedParty.objects.create(
        company=locked, person=person, role=role, ownership_pct=pct,
        valid_from=valid_from or timezone.localdate(),
    )


def company_current_ownership(*, company: Company) -> Decimal:
    total = RelatedParty.objects.filter(company=company, valid_to__isnull=True, ownership_pct__isnull=False).aggregate(
        s=Sum("ownership_pct")
    )["s"]
    return total or Decimal("0")
