"""The lifecycle of an alert: open → acknowledged → resolved | dismissed, with who, when, why.

Alerts are raised only by the rules (``monitoring.rules``) and system checks; people move them
through these services, each of which locks the alert row, checks the move against
``ALERT_TRANSITIONS`` and records the actor, in one transaction.  An illegal move raises
``InvalidTransition`` naming the alert, its status and the move; nothing changes.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loans.errors import InvalidTransition, NotFound

from .models import ALERT_LIVE_STATUSES, ALERT_TRANSITIONS, Alert, AlertStatus


def _lock(alert_id: int) -> Alert:
    alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(_("Alert #%(id)s does not exist.") % {"id": alert_id}, field="alert_id")
    return alert


def _check(alert: Alert, to_status: str) -> None:
    if to_status not in ALERT_TRANSITIONS[alert.status]:
        raise InvalidTransition(
            _("Alert #%(id)s is %(status)s; it cannot be %(to)s.") % {
                "id": alert.pk, "status": alert.get_status_display().lower(), "to": AlertStatus(to_status).label.lower()},
            field="status",
        )


def _require_actor(actor) -> None:
    if actor is None or not getattr(actor, "pk", None):
        raise ValidationError({"actor": _("A person must be named for this change.")})


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the alert is closed.")})
    if len(reason) > 500:
        raise ValidationError({"reason": _("At most 500 characters (got %(n)s).") % {"n": len(reason)}})
    return reason


def alert_acknowledge(*, alert_id: int, actor) -> Alert:
    """Someone has seen the alert and is looking into it."""
    _require_actor(actor)
    with transaction.atomic():
        alert = _lock(alert_id)
        _check(alert, AlertStatus.ACKNOWLEDGED)
        alert.status, alert.acknowledged_by, alert.acknowledged_at = AlertStatus.ACKNOWLEDGED, actor, timezone.now()
        alert.save(update_fields=["status", "acknowledged_by", "acknowledged_at"])
        return alert


def _close(alert_id: int, to_status: str, actor, reason: str) -> Alert:
    _require_actor(actor)
    reason = _reason(reason)
    with transaction.atomic():
        alert = _lock(alert_id)
        _check(alert, to_status)
        alert.status, alert.closed_by, alert.closed_at, alert.close_reason = to_status, actor, timezone.now(), reason
        alert.save(update_fields=["status", "closed_by", "closed_at", "close_reason"])
        return alert


def alert_resolve(*, alert_id: int, actor, reason: str) -> Alert:
    """The problem was dealt with (an action taken, the data corrected...)."""
    return _close(alert_id, AlertStatus.RESOLVED, actor, reason)


def alert_dismiss(*, alert_id: int, actor, reason: str) -> Alert:
    """The finding does not call for anything (a false positive, known and accepted)."""
    return _close(alert_id, AlertStatus.DISMISSED, actor, reason)


def alert_assign(*, alert_id: int, officer_id: int | None, actor) -> Alert:
    """Give an open or acknowledged alert to an officer (a staff user), or take it back (None)."""
    _require_actor(actor)
    officer = None
    if officer_id is not None:
        officer = get_user_model().objects.filter(pk=officer_id, is_active=True, is_staff=True).first()
        if officer is None:
            raise ValidationError({"officer_id": _("No active staff user #%(id)s.") % {"id": officer_id}})
    with transaction.atomic():
        alert = _lock(alert_id)
        if alert.status not in ALERT_LIVE_STATUSES:
            raise InvalidTransition(
                _("Alert #%(id)s is %(status)s; only an open or acknowledged alert is assigned.") % {
                    "id": alert.pk, "status": alert.get_status_display().lower()},
                field="status",
            )
        alert.assigned_to = officer
        alert.save(update_fields=["assigned_to"])
        return alert
