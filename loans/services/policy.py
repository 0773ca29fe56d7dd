"""Credit policy: read the active version; propose, approve or reject a new one.  Versions are
never edited.

Maker-checker: a person *proposes* a version (:func:`credit_policy_propose`: the active policy
with changes, recorded inactive with its maker ``user:<id>``); another person holding
``loans.publish_policy`` *approves* it (:func:`credit_policy_approve`), which publishes it as the
active version, or rejects it.  The guard reads the recorded maker, never an empty field.  Only
the system (a migration, a seed, a test) publishes in one step (:func:`credit_policy_publish`).

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
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config.history.records import records_actor

from ..models import DEFAULT_POLICY, CreditPolicy
from ..models.underwriting import PolicyStatus
from ..pricing import PolicySnapshot
from ..schedule import MAX_TERM_MONTHS
from . import four_eyes

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
            return CreditPolicy.objects.create(version=1, is_active=True, note="Default policy", maker="system:default", **DEFAULT_POLICY)
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
    bookkeeping = ["is_active", "version", "status", "maker", "created_by", "based_on_version", "approved_by", "approved_at",
                   "rejected_by", "decided_at", "decision_note"]
    policy.full_clean(exclude=bookkeeping, validate_constraints=True, validate_unique=False)


PUBLISH_PERMISSION = "loans.publish_policy"


def _values_with(current: CreditPolicy, changes: dict) -> dict:
    unknown = set(changes) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationError({name: _("Not a credit policy setting.") for name in sorted(unknown)})
    values = {name: getattr(current, name) for name in POLICY_FIELDS}
    values.update(changes)
    return values


def _next_version() -> int:
    return (CreditPolicy.objects.aggregate(v=Max("version"))["v"] or 0) + 1


FOUR_EYES = four_eyes.FourEyes(
    model=CreditPolicy, permission=PUBLISH_PERMISSION, thing=gettext_lazy("credit policy"), right=gettext_lazy("publish policies"),
    missing=gettext_lazy("Credit policy #%(id)s does not exist."), id_field="policy_id",
)


@records_actor
def credit_policy_publish(*, changes: dict, actor=None, note: str = "", maker: str = "system:publish") -> CreditPolicy:
    """The system publishes a new version in one step (the active policy with ``changes``
    applied; it becomes active).  A person never does: they propose, another approves."""
    FOUR_EYES.refuse_person_publishing(actor, maker=maker)
    with transaction.atomic():
        current = CreditPolicy.objects.select_for_update().filter(is_active=True).first() or credit_policy_active()
        values = _values_with(current, changes)
        new = CreditPolicy(version=_next_version(), is_active=True, note=note, maker=maker, based_on_version=current.version,
                           status=PolicyStatus.PUBLISHED, approved_at=timezone.now(), decided_at=timezone.now(), **values)
        credit_policy_validate(new)
        current.is_active = False  # saved (not .update()) so that the change history keeps it
        current.save(update_fields=["is_active"])
        new.save()
        return new


@records_actor
def credit_policy_propose(*, changes: dict, actor, note: str = "") -> CreditPolicy:
    """Record a proposed version (the active policy with ``changes``), inactive until another
    person approves it.  Validated now, and again when approved."""
    FOUR_EYES.require_checker(actor, _("propose"))
    with transaction.atomic():
        current = CreditPolicy.objects.select_for_update().filter(is_active=True).first() or credit_policy_active()
        values = _values_with(current, changes)
        if all(values[name] == getattr(current, name) for name in POLICY_FIELDS):
            raise ValidationError({"__all__": _("The proposal changes no setting of the active version v%(version)s.")
                                   % {"version": current.version}})
        new = CreditPolicy(version=_next_version(), is_active=False, status=PolicyStatus.PROPOSED, note=note,
                           maker=f"user:{actor.pk}", created_by=actor, based_on_version=current.version, **values)
        credit_policy_validate(new)
        new.save()
        return new


@records_actor
def credit_policy_approve(*, policy_id: int, actor, note: str = "") -> CreditPolicy:
    """Another person publishes a proposed version: it becomes the active policy."""
    FOUR_EYES.require_checker(actor, _("approve"))
    with transaction.atomic():
        current = CreditPolicy.objects.select_for_update().filter(is_active=True).first() or credit_policy_active()
        policy = FOUR_EYES.lock(policy_id)
        four_eyes.proposal_check(policy, actor=actor, active=current)
        credit_policy_validate(policy)
        return four_eyes.proposal_publish(policy, actor=actor, active=current, note=note)


@records_actor
def credit_policy_reject(*, policy_id: int, actor, note: str) -> CreditPolicy:
    """A proposed version is turned down (or withdrawn by its maker), with a reason."""
    return FOUR_EYES.reject(policy_id, actor=actor, note=note)


def credit_policy_changes(policy: CreditPolicy) -> list[tuple[str, object, object]]:
    """(field, value in the version it was based on, value proposed) for every field that differs."""
    base = CreditPolicy.objects.filter(version=policy.based_on_version).first() if policy.based_on_version else None
    return four_eyes.proposal_changes(policy, base, POLICY_FIELDS)
