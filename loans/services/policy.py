"""Credit policy: read the active version, publish a new one.  Versions are never edited."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from ..models import DEFAULT_POLICY, CreditPolicy
from ..pricing import PolicySnapshot

POLICY_FIELDS = tuple(DEFAULT_POLICY)


def policy_snapshot(policy: CreditPolicy) -> PolicySnapshot:
    values = {name: getattr(policy, name) for name in POLICY_FIELDS if name not in ("tier_bands", "term_spreads")}
    return PolicySnapshot.from_values(
        version=policy.version, tier_bands=policy.tier_bands, term_spreads=policy.term_spreads, **values
    )


def credit_policy_active() -> CreditPolicy:
    """The active policy.  Migration 0003 publishes v1; if a test flush removed it, v1 again."""
    policy = CreditPolicy.objects.filter(is_active=True).first()
    if policy is not None:
        return policy
    try:
        with transaction.atomic():
            return CreditPolicy.objects.create(version=1, is_active=True, note="Default policy", **DEFAULT_POLICY)
    except IntegrityError:  # someone else published meanwhile
        return CreditPolicy.objects.get(is_active=True)


def _validate_bands(values: dict) -> None:
    bands = values["tier_bands"]
    errors = {}
    try:
        snap = PolicySnapshot.from_values(version=0, tier_bands=bands, term_spreads=values["term_spreads"])
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        raise ValidationError({"tier_bands": f"Malformed bands or spreads: {exc}"}) from None
    if not snap.tier_bands:
        errors["tier_bands"] = "At least one tier band is needed."
    elif len({b.tier for b in snap.tier_bands}) != len(snap.tier_bands):
        errors["tier_bands"] = "Tier names must be unique."
    elif any(b.base_rate < 0 or b.base_rate >= 1 or b.multiplier <= 0 for b in snap.tier_bands):
        errors["tier_bands"] = "Base rates must be in [0, 1) and multipliers positive."
    elif snap.tier_bands[-1].min_score > values["min_score"]:
        # every eligible score must land in a band
        errors["tier_bands"] = "The lowest band must start at or below the minimum score."
    if not snap.term_spreads:
        errors["term_spreads"] = "At least one term spread row is needed."
    elif snap.term_spreads[-1].max_months < 360:
        errors["term_spreads"] = "The last term spread row must cover 360 months."
    if errors:
        raise ValidationError(errors)


def credit_policy_validate(policy: CreditPolicy) -> None:
    """Raise ``ValidationError`` naming the fields if ``policy`` could not be published."""
    _validate_bands({name: getattr(policy, name) for name in POLICY_FIELDS})
    policy.full_clean(exclude=["is_active", "version"], validate_constraints=True, validate_unique=False)


def credit_policy_publish(*, changes: dict, actor=None, note: str = "") -> CreditPolicy:
    """Publish a new version = the active policy with ``changes`` applied; it becomes active."""
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationError({name: "Not a credit policy setting." for name in sorted(unknown)})
    with transaction.atomic():
        current = CreditPolicy.objects.select_for_update().filter(is_active=True).first() or credit_policy_active()
        values = {name: getattr(current, name) for name in POLICY_FIELDS}
        values.update(changes)
        new = CreditPolicy(
            version=(CreditPolicy.objects.aggregate(v=Max("version"))["v"] or 0) + 1,
            is_active=True,
            note=note,
            created_by=actor,
            **values,
        )
        credit_policy_validate(new)
        CreditPolicy.objects.filter(pk=current.pk).update(is_active=False)
        new.save()
        return new
