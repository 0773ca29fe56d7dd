"""Credit policy: read the active version, publish a new one.  Versions are never edited.

Because a version is immutable, a process keeps every version it has read (and its parsed
:class:`PolicySnapshot`) in a module-level cache keyed by ``(pk, created_at)``.  Which version
is *active* is still asked of the database on every decision — publishing in one gunicorn
worker must be seen by all of them — but only as two indexed sub-selects folded into a query
the decision makes anyway (:func:`active_policy_key`), or as one narrow query
(:func:`credit_policy_active`).  ``created_at`` is part of the key because SQLite may hand a
rolled-back version's id to the next one.
"""

from __future__ import annotations

import copy

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max, Subquery

from config.history.records import records_actor

from ..models import DEFAULT_POLICY, CreditPolicy
from ..pricing import PolicySnapshot
from ..schedule import MAX_TERM_MONTHS

POLICY_FIELDS = tuple(DEFAULT_POLICY)


def policy_snapshot(policy: CreditPolicy) -> PolicySnapshot:
    values = {name: getattr(policy, name) for name in POLICY_FIELDS if name not in ("tier_bands", "term_spreads")}
    return PolicySnapshot.from_values(
        version=policy.version, tier_bands=policy.tier_bands, term_spreads=policy.term_spreads, **values
    )


# (pk, created_at) -> (policy, snapshot).  Versions are never edited, so entries never go stale.
_VERSIONS: dict[tuple, tuple[CreditPolicy, PolicySnapshot]] = {}
_MAX_CACHED = 64


def active_policy_key() -> dict:
    """Annotations naming the active version, to fold into another query:
    ``qs.annotate(**active_policy_key())`` gives ``active_policy_pk`` and
    ``active_policy_created_at`` (both None when no version is active)."""
    active = CreditPolicy.objects.filter(is_active=True)
    return {
        "active_policy_pk": Subquery(active.values("pk")[:1]),
        "active_policy_created_at": Subquery(active.values("created_at")[:1]),
    }


def _remember(policy: CreditPolicy) -> tuple[CreditPolicy, PolicySnapshot]:
    entry = (policy, policy_snapshot(policy))
    if len(_VERSIONS) >= _MAX_CACHED:
        _VERSIONS.clear()
    _VERSIONS[(policy.pk, policy.created_at)] = entry
    return entry


def credit_policy_version(*, pk, created_at) -> tuple[CreditPolicy, PolicySnapshot]:
    """The version named by an :func:`active_policy_key` (from the cache; one query on a miss).
    The shared instance is read-only; with no active version, the default v1 is published."""
    if pk is None:
        return _remember(_create_default())
    entry = _VERSIONS.get((pk, created_at))
    if entry is None:
        entry = _remember(CreditPolicy.objects.get(pk=pk))
    return entry


def credit_policy_active() -> CreditPolicy:
    """The active policy (one narrow indexed query; the row itself comes from the cache).
    Migration 0003 publishes v1; if a test flush removed it, v1 again."""
    key = CreditPolicy.objects.filter(is_active=True).values_list("pk", "created_at").first()
    if key is None:
        return copy.copy(_remember(_create_default())[0])
    # A copy: callers may refresh or change their instance; the cached one stays as read.
    return copy.copy(credit_policy_version(pk=key[0], created_at=key[1])[0])


def _create_default() -> CreditPolicy:
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
    elif snap.term_spreads[-1].max_months < MAX_TERM_MONTHS:
        errors["term_spreads"] = f"The last term spread row must cover {MAX_TERM_MONTHS} months."
    if errors:
        raise ValidationError(errors)


def credit_policy_validate(policy: CreditPolicy) -> None:
    """Raise ``ValidationError`` naming the fields if ``policy`` could not be published."""
    _validate_bands({name: getattr(policy, name) for name in POLICY_FIELDS})
    policy.full_clean(exclude=["is_active", "version"], validate_constraints=True, validate_unique=False)


@records_actor
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
        current.is_active = False  # saved (not .update()) so that the change history keeps it
        current.save(update_fields=["is_active"])
        new.save()
        return new
