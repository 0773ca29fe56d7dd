"""The maker-checker steps every version under four eyes goes through (``FourEyesVersion``:
the credit policy, the warning rules): the checker's right, the proposal locked and still
proposed, maker != checker, a proposal overtaken by another published version refused, then
publish or reject.  Each model describes itself once (a :class:`FourEyes` beside its services)
and keeps what is its own (which version is active, how a version is validated), calling
these inside its transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import DomainError, InvalidTransition, NotFound
from ..models.four_eyes import FourEyesVersion, VersionStatus


@dataclass(frozen=True)
class FourEyes:
    """One model's versions under four eyes: who may check them and how refusals name them.
    The texts are lazy (``gettext_lazy``): a spec is built at import time."""

    model: type[FourEyesVersion]
    permission: str  # "app_label.codename" of the right to propose, approve and reject
    thing: str  # "credit policy"
    right: str  # "publish policies"
    missing: str  # "Credit policy #%(id)s does not exist."
    id_field: str  # the services' keyword for a version's id

    def require_checker(self, actor, what: str) -> None:
        """Only an active person holding the right may ``what`` (propose, approve, reject)."""
        if getattr(actor, "pk", None) is None or not actor.is_active:
            raise DomainError(
                _("Only a person can %(what)s a %(thing)s.") % {"what": what, "thing": self.thing},
                field="actor",
                code="actor_required",
            )
        if not actor.has_perm(self.permission):
            raise DomainError(
                _("%(user)s may not %(what)s a %(thing)s (needs the right to %(right)s).")
                % {"user": actor.get_username(), "what": what, "thing": self.thing, "right": self.right},
                field="actor",
                code="permission_denied",
            )

    def refuse_person_publishing(self, actor, *, maker: str) -> None:
        """Only the system publishes in one step (as ``system:<what>``); a person proposes."""
        if getattr(actor, "pk", None) is not None:
            raise DomainError(
                _("Maker-checker: a person proposes a %(thing)s and another approves it.") % {"thing": self.thing},
                field="actor",
                code="maker_checker",
            )
        if not maker or not maker.startswith("system:"):
            raise ValidationError({"maker": _("The system publishes as system:<what>.")})

    def lock(self, pk) -> FourEyesVersion:
        """The version ``pk`` locked for update; refused unless it is still proposed."""
        try:
            version = self.model.objects.select_for_update().get(pk=pk)
        except (self.model.DoesNotExist, ValueError, TypeError):
            raise NotFound(self.missing % {"id": pk}, field=self.id_field) from None
        if version.status != VersionStatus.PROPOSED:
            raise InvalidTransition(
                _("%(name)s is %(status)s; only a proposed version is decided.")
                % {"name": version.version_name, "status": version.get_status_display()},
                field="status",
            )
        return version

    def reject(self, pk, *, actor, note: str) -> FourEyesVersion:
        """A proposed version is turned down (or withdrawn by its maker), with a reason."""
        self.require_checker(actor, _("reject"))
        note = (note or "").strip()
        if not note:
            raise ValidationError({"note": _("Say why the proposal is rejected.")})
        with transaction.atomic():
            version = self.lock(pk)
            version.status, version.rejected_by, version.decided_at = VersionStatus.REJECTED, actor, timezone.now()
            version.decision_note = note[:500]
            version.save(update_fields=["status", "rejected_by", "decided_at", "decision_note"])
            return version


def proposal_check(version: FourEyesVersion, *, actor, active: FourEyesVersion | None) -> None:
    """The checker is not the maker, and nothing was published since the proposal was made
    (``active``: the version active now, locked by the caller; None when there is none)."""
    name = version.version_name
    if not version.maker:  # the constraint forbids it; never read an empty field as "nobody"
        raise DomainError(_("%(name)s has no recorded maker.") % {"name": name}, field="maker", code="maker_missing")
    if version.maker == f"user:{actor.pk}":
        raise DomainError(
            _("You proposed %(name)s; someone else must approve it.") % {"name": name},
            field="approved_by",
            code="maker_checker",
        )
    active_version = active.version if active is not None else None
    if version.based_on_version != active_version:
        raise DomainError(
            _("%(name)s was proposed against v%(base)s, but v%(active)s has been published since; propose it again.")
            % {"name": name, "base": version.based_on_version or "—", "active": active_version or "—"},
            field="based_on_version",
            code="stale_proposal",
        )


def proposal_publish(
    version: FourEyesVersion, *, actor, active: FourEyesVersion | None, note: str, also: tuple[str, ...] = ()
) -> FourEyesVersion:
    """The checked proposal becomes the active version in place of ``active``; ``also``:
    further fields the caller changed on it (saved with it)."""
    now = timezone.now()
    if active is not None:
        active.is_active = False  # saved (not .update()) so that the change history keeps it
        active.save(update_fields=["is_active"])
    version.is_active, version.status = True, VersionStatus.PUBLISHED
    version.approved_by, version.approved_at, version.decided_at = actor, now, now
    version.decision_note = (note or "")[:500]
    version.save(
        update_fields=["is_active", "status", *also, "approved_by", "approved_at", "decided_at", "decision_note"]
    )
    return version


def proposal_changes(version: FourEyesVersion, base: models.Model | None, fields) -> list[tuple[str, object, object]]:
    """(field, value in ``base`` — the version it was based on —, value proposed) for every
    field of ``fields`` that differs; every field when there is no base."""
    if base is None:
        return [(name, None, getattr(version, name)) for name in fields]
    return [
        (name, getattr(base, name), getattr(version, name))
        for name in fields
        if getattr(base, name) != getattr(version, name)
    ]
