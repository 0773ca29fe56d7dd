"""The action policy under maker-checker (issue 13 item 6).

A person never edits an ``ActionPolicy`` row directly: :func:`action_policy_change_propose`
records the change (a new row, or new terms for a row) as an ``ActionPolicyChange`` with its
maker ``user:<id>``; another person holding ``monitoring.change_actionpolicy`` applies it with
:func:`action_policy_change_approve`, or turns it down with a reason
(:func:`action_policy_change_reject`; the maker may withdraw their own that way).  The guard
reads the recorded maker.  A change proposed against a row that has changed since is refused:
it would silently undo the other change.  The nightly proposals read only ``ActionPolicy``, so
a pending change has no effect until it is approved.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from config.history.records import records_actor
from loans.errors import DomainError, InvalidTransition, NotFound

from .actions import policy_params_check
from .models import ActionKind, ActionPolicy, ActionPolicyChange, PolicyChangeStatus, Severity

CHANGE_PERMISSION = "monitoring.change_actionpolicy"
FIELDS = ("rule", "severity", "action_kind", "params", "is_active")


def _require_changer(actor, what: str) -> None:
    if getattr(actor, "pk", None) is None or not actor.is_active:
        raise DomainError(_("Only a person can %(what)s a change to the action policy.") % {"what": what},
                          field="actor", code="actor_required")
    if not actor.has_perm(CHANGE_PERMISSION):
        raise DomainError(_("%(user)s may not %(what)s a change to the action policy (needs the right to change it).")
                          % {"user": actor.get_username(), "what": what}, field="actor", code="permission_denied")


def _checked(values: dict) -> dict:
    from .rules import RULES

    errors = {}
    if values.get("rule") not in RULES:
        errors["rule"] = _("Unknown rule %(code)s.") % {"code": values.get("rule")}
    if values.get("severity") not in Severity.values:
        errors["severity"] = _("Severity must be one of %(known)s.") % {"known": ", ".join(Severity.values)}
    if values.get("action_kind") not in ActionKind.values:
        errors["action_kind"] = _("Not a post-loan action.")
    if errors:
        raise ValidationError(errors)
    policy_params_check(values["action_kind"], values.get("params") or {})
    return {**values, "params": values.get("params") or {}, "is_active": bool(values.get("is_active", True))}


@records_actor
def action_policy_change_propose(*, actor, policy_id: int | None = None, note: str = "", **values) -> ActionPolicyChange:
    """Record a change (``values``: rule, severity, action_kind, params, is_active) to the row
    ``policy_id``, or a new row when None; nothing applies until another person approves it."""
    _require_changer(actor, _("propose"))
    unknown = set(values) - set(FIELDS)
    if unknown:
        raise ValidationError({name: _("Not an action policy setting.") for name in sorted(unknown)})
    with transaction.atomic():
        policy = None
        if policy_id is not None:
            policy = ActionPolicy.objects.select_for_update().filter(pk=policy_id).first()
            if policy is None:
                raise NotFound(_("Action policy row #%(id)s does not exist.") % {"id": policy_id}, field="policy_id")
            values = {**{name: getattr(policy, name) for name in FIELDS}, **values}
        values = _checked(values)
        if policy is not None and all(values[name] == getattr(policy, name) for name in FIELDS):
            raise ValidationError({"__all__": _("The change changes nothing in %(policy)s.") % {"policy": policy}})
        clash = ActionPolicy.objects.filter(rule=values["rule"], severity=values["severity"])
        if policy is not None:
            clash = clash.exclude(pk=policy.pk)
        if clash.exists():
            raise ValidationError({"severity": _("The action policy already has a row for %(rule)s / %(severity)s; change that row.")
                                   % {"rule": values["rule"], "severity": values["severity"]}})
        return ActionPolicyChange.objects.create(
            policy=policy, note=(note or "")[:500], maker=f"user:{actor.pk}", proposed_by=actor,
            based_on_updated_at=policy.updated_at if policy is not None else None, **values,
        )


def _lock_change(change_id) -> ActionPolicyChange:
    try:
        change = ActionPolicyChange.objects.select_for_update().get(pk=change_id)
    except (ActionPolicyChange.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Action policy change #%(id)s does not exist.") % {"id": change_id}, field="change_id") from None
    if change.status != PolicyChangeStatus.PROPOSED:
        raise InvalidTransition(_("%(change)s is decided already.") % {"change": change}, field="status")
    return change


@records_actor
def action_policy_change_approve(*, change_id: int, actor, note: str = "") -> ActionPolicyChange:
    """Another person applies a proposed change to the action policy."""
    _require_changer(actor, _("approve"))
    with transaction.atomic():
        change = _lock_change(change_id)
        if not change.maker:  # the constraint forbids it; never read an empty field as "nobody"
            raise DomainError(_("%(change)s has no recorded maker.") % {"change": change}, field="maker", code="maker_missing")
        if change.maker == f"user:{actor.pk}":
            raise DomainError(_("You proposed %(change)s; someone else must approve it.") % {"change": change},
                              field="decided_by", code="maker_checker")
        values = _checked({name: getattr(change, name) for name in FIELDS})
        if change.policy_id is not None:
            policy = ActionPolicy.objects.select_for_update().get(pk=change.policy_id)
            if policy.updated_at != change.based_on_updated_at:
                raise DomainError(_("%(policy)s has changed since %(change)s was proposed; propose it again.")
                                  % {"policy": policy, "change": change}, field="policy", code="stale_proposal")
        else:
            policy = ActionPolicy()
        if ActionPolicy.objects.filter(rule=values["rule"], severity=values["severity"]).exclude(pk=policy.pk).exists():
            raise DomainError(_("The action policy already has a row for %(rule)s / %(severity)s.")
                              % {"rule": values["rule"], "severity": values["severity"]}, field="severity", code="stale_proposal")
        for name, value in values.items():
            setattr(policy, name, value)
        policy.updated_by = change.proposed_by  # who made the change; the change row names who approved it
        policy.save()
        change.policy, change.status, change.decided_by, change.decided_at = policy, PolicyChangeStatus.APPLIED, actor, timezone.now()
        change.decision_note = (note or "")[:500]
        change.save(update_fields=["policy", "status", "decided_by", "decided_at", "decision_note"])
        return change


@records_actor
def action_policy_change_reject(*, change_id: int, actor, note: str) -> ActionPolicyChange:
    """A proposed change is turned down (or withdrawn by its maker), with a reason."""
    _require_changer(actor, _("reject"))
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say why the change is rejected.")})
    with transaction.atomic():
        change = _lock_change(change_id)
        change.status, change.decided_by, change.decided_at = PolicyChangeStatus.REJECTED, actor, timezone.now()
        change.decision_note = note[:500]
        change.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        return change
